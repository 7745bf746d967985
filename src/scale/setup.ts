/**
 * Scale-out as an engine definition the runner uses instead of the registry's (RunOptions.engineDef):
 * its preflight is the set-up (segments joined, clocks measured, the run served to each, each
 * ready), so a stop or a failure there exits before anything is applied, like any preflight; its
 * engine is the ScaleEngine over the ready segments.
 */
import { InputError } from '../core/errors.ts';
import { arrivalCount } from '../load/arrivals.ts';
import type { EngineContext, EngineDef } from '../load/engine.ts';
import { engines, type EngineName } from '../run/engines.ts';
import { planScenario, type Scenario } from '../input/load.ts';
import { planSegment, type RunPlan } from '../scenario/plan.ts';
import { VERSION } from '../version.ts';
import { ScaleEngine, type RunnerLossPolicy, type SegmentLink } from './engine.ts';
import type { FromSegment, RunSpec } from './protocol.ts';
import { shipScenario } from './shipping.ts';

/** How long segments may take to build their engines and check the target. */
const PREPARE_MS = 60_000;

export interface ScaleSetup {
  kind: 'workers' | 'runners';
  count: number;
  onLoss: RunnerLossPolicy;
  seed: number;
  timeScale: number;
  force: boolean;
  /** Every segment's channel, once joined and its clock measured (workers: spawned first). */
  links(): Promise<SegmentLink[]>;
  /** Stops the run (the RunHandle's abort). */
  abortRun(reason: string): void;
  runId(): string;
  log(line: string): void;
}

/** Only open-model engines split into segments. */
export function scalableEngine(name: EngineName, flag: string): 'http' | 'grpc' {
  if (name === 'http' || name === 'grpc') return name;
  throw new InputError(
    `${flag} splits an open-model load into segments; engine ${name} ${name === 'autocannon' ? 'is a closed-model capacity probe' : 'runs an external k6 binary'} and cannot be split: run it without ${flag}`,
  );
}

/** The plan a single process would run, and a check that every segment gets at least one arrival. */
export function planFor(
  s: Scenario,
  o: Pick<ScaleSetup, 'seed' | 'timeScale' | 'force' | 'count'>,
  flag: string,
): RunPlan {
  const plan = planScenario(s, { seed: o.seed, timeScale: o.timeScale, force: o.force });
  const arrivals = arrivalCount(planSegment(plan), plan.arrivals);
  if (o.count > arrivals)
    throw new InputError(
      `${flag} ${o.count} is more than the ${arrivals} arrival(s) of ${s.spec.name}: every segment needs at least one; use at most ${Math.max(1, arrivals)}`,
    );
  return plan;
}

/** Segment i's share of a total split N ways as evenly as integers allow. */
export function share(total: number, i: number, n: number): number {
  return Math.floor(total / n) + (i < total % n ? 1 : 0);
}

export function scaleEngineDef(
  inner: 'http' | 'grpc',
  o: ScaleSetup,
): EngineDef & { ready(): SegmentLink[] } {
  const def = engines[inner];
  let ready: SegmentLink[] = [];
  const label = (l: SegmentLink) => `${o.kind === 'workers' ? 'worker' : 'runner'} ${l.index} (${l.host})`;
  return {
    address: (s) => def.address(s),
    ready: () => ready,
    async preflight({ scenario, env }) {
      // Local workers reach the target as this process does: check it here, with the usual message.
      if (o.kind === 'workers') await def.preflight({ scenario, env });
      const plan = planFor(scenario, o, o.kind === 'workers' ? '--workers' : '--runners');
      const shipped = shipScenario(scenario);
      const links = await o.links();
      const load = scenario.spec.load;
      const specFor = (i: number): RunSpec => ({
        version: VERSION,
        runId: o.runId(),
        ...shipped,
        plan,
        seed: o.seed,
        engine: inner,
        segment: { index: i, count: o.count },
        connections: Math.max(1, share(load.connections, i, o.count)),
        maxBacklog: share(load.maxBacklog, i, o.count),
        preflight: o.kind === 'runners',
      });
      await Promise.all(links.map((l) => prepare(l, specFor(l.index), label(l))));
      if (load.connections < o.count)
        o.log(
          `load.connections ${load.connections} is fewer than the ${o.count} segments: each segment opens one connection (${o.count} in all)`,
        );
      ready = links;
    },
    create(ctx: EngineContext) {
      const rtt = Math.max(0, ...ready.map((l) => l.rttMs));
      return new ScaleEngine(ctx, ready, {
        kind: o.kind,
        onLoss: o.onLoss,
        abortRun: o.abortRun,
        // Far enough ahead that the start reaches every segment before t0 (one way is half a round trip).
        leadMs: Math.min(1000, Math.round(50 + 3 * rtt)),
      });
    },
  };
}

/** Serves the run to one segment and waits until it is ready (engine built, target checked). */
function prepare(link: SegmentLink, spec: RunSpec, label: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      done();
      reject(new InputError(`${label} was not ready within ${PREPARE_MS / 1000} s of receiving the run`));
    }, PREPARE_MS);
    const done = () => {
      clearTimeout(timer);
      link.onMessage = null;
      link.onClose = null;
    };
    link.onClose = (why) => {
      done();
      reject(new InputError(`${label} left before the run started (${why})`));
    };
    link.onMessage = (m: FromSegment) => {
      if (m.type === 'ready') {
        link.host = m.host || link.host;
        done();
        resolve();
      } else if (m.type === 'failed') {
        done();
        reject(new InputError(`${label} cannot run its segment: ${m.message}`));
      }
    };
    link.send({ type: 'prepare', spec });
  });
}
