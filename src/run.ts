/**
 * The runner: the only module that owns a clock and side effects.
 *
 *   Scenario ──planScenario──> RunPlan
 *      │ demo env? start the demo system (child process)
 *      │ preflight: the load target answers
 *      │ register the run (state dir), spawn its guard, heartbeat every second
 *      │ warm-up: a burst of unrecorded requests through the engine's own connections (load.warmUp)
 *      ├─ HttpLoad / GrpcLoad (open model, src/load/open-model.ts) ──samples──> MetricsStore
 *      ├─ FaultRunner: ledger intent → apply → revert at the window's end
 *      ├─ ticker, once a second: self-monitor, finalise old seconds, progress event
 *      └─ abort(): Ctrl-C, SIGTERM, stop condition, emergency stop
 *   MetricsStore + fault records ──> RunResult (versioned JSON)
 *
 * Every exit path runs the `finally` blocks in this order: faults reverted (newest first),
 * load stopped, run unregistered (its guard then exits), demo stopped.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { InputError } from './errors.ts';
import { startDemoChild, type DemoChild } from './demo/child.ts';
import { AutocannonLoad } from './load/autocannon-engine.ts';
import { K6Load, k6Preflight } from './k6/engine.ts';
import { HttpLoad } from './load/http-engine.ts';
import { grpcLoadFor, grpcPreflight } from './load/grpc-run.ts';
import { compileRequestBodies } from './load/http-bodies.ts';
import { OpenModelLoad } from './load/open-model.ts';
import { describeWarmUp } from './load/warm-up.ts';
import { addStreamingResults, unavailableFaultRecords } from './load/result-extras.ts';
import { ProbeRunner, type ProbeResult } from './probes/runner.ts';
import { applySteadyState, gateFaults } from './probes/steady-state.ts';
import { createPrng, randomSeed } from './load/prng.ts';
import { startHostSampler, type HostSampler } from './metrics/host-sampler.ts';
import { startSelfMonitor } from './metrics/self-monitor.ts';
import { MetricsStore } from './metrics/store.ts';
import { encode, summarize, type LatencySummary } from './metrics/hist.ts';
import type { ErrorKind } from './load/errors.ts';
import { SCHEMA_VERSION, type FaultRecord, type RunResult, type TimelineSecond } from './result.ts';
import { planScenario, type Scenario } from './scenario/load.ts';
import { planSegment, type RunPlan } from './scenario/plan.ts';
import { FaultRunner } from './safety/fault-runner.ts';
import { preflightFaults } from './safety/preflight.ts';
import { spawnGuard } from './safety/guard.ts';
import { Ledger } from './safety/ledger.ts';
import {
  heartbeat,
  HEARTBEAT_MS,
  registerRun,
  stopRequested,
  unregisterRun,
  updateRun,
  type RunInfo,
} from './safety/runs.ts';
import { ensureStateDir, stateDir } from './safety/state.ts';
import { processStartTime } from './targets/process.ts';
import { objectivesFor } from './slo/objectives.ts';
import { meetsObjectives, score } from './slo/score.ts';
import { parseStopCondition, StopWatch, type StopCondition } from './slo/stop.ts';
import { formatDuration } from './units.ts';
import { VERSION } from './version.ts';

export interface RunOptions {
  seed?: number;
  timeScale?: number;
  /** Allow rates above the safety cap. */
  force?: boolean;
  /** Environment for the demo child and `${VAR}` interpolation. */
  env?: NodeJS.ProcessEnv;
  /** State directory (ledger, running runs); defaults to $CHAOSKIT_STATE_DIR or the XDG state dir. */
  stateDir?: string;
  /** Leave out faults whose preflight fails (no GPU, no driver) instead of refusing to run. */
  skipUnavailable?: boolean;
  /** Run the load with another engine than the scenario names (`--engine k6`). */
  engine?: 'http' | 'k6';
  /** Spawn a guard process (default true). */
  guard?: boolean;
  /** false: no warm-up before t = 0, whatever the scenario's `load.warmUp` says. */
  warmUp?: boolean;
}

export interface Progress {
  elapsedMs: number;
  durationMs: number;
  second: number;
  requestedRate: number;
  achievedRate: number;
  ok: number;
  failed: number;
  p99Ms: number | null;
  /** Latency summary of the last second (responses so far), from the intended send time. */
  latencyMs: LatencySummary | null;
  /** Failed requests of the last second by kind. */
  errors: Partial<Record<ErrorKind, number>>;
  totalSent: number;
  totalFailed: number;
  activeFaults: string[];
  saturated: boolean;
}

export interface RunEvents {
  progress: [Progress];
  log: [string];
  started: [RunPlan];
}

/** The run handle: listen for progress, call abort(), await `result`. */
export class RunHandle extends EventEmitter<RunEvents> {
  readonly runId = `${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
  readonly result: Promise<RunResult>;
  private abortReason: string | null = null;
  private abortAtMs = 0;
  private onAbort: (() => void) | null = null;

  constructor(
    readonly scenario: Scenario,
    private readonly opts: RunOptions,
  ) {
    super();
    this.result = this.execute();
    // The caller may only await; keep an unobserved rejection from crashing the process.
    this.result.catch(() => {});
  }

  /** Stops the run at once; every fault is reverted; the result is partial with status `aborted`. */
  abort(reason: string): void {
    if (this.abortReason) return;
    this.abortReason = reason;
    this.onAbort?.();
  }

  /** Why the run was asked to stop from outside (an emergency stop leaves a note), if it was. */
  externalStopReason(): string | null {
    return this.dir ? stopRequested(this.dir, this.runId) : null;
  }

  private dir: string | null = null;
  private faultRecords: FaultRecord[] = [];
  private hostSamples: RunResult['host'] = [];
  private checkStop: ((peek: ReturnType<MetricsStore['peek']>) => void) | null = null;

  private async execute(): Promise<RunResult> {
    const s = this.scenario;
    const seed = this.opts.seed ?? s.spec.seed ?? randomSeed();
    const plan = planScenario(s, {
      seed,
      timeScale: this.opts.timeScale ?? 1,
      force: this.opts.force ?? false,
    });
    const startedAt = new Date();
    const env = s.environment.spec;
    const targetName = s.spec.load.target;
    const envTarget = env.targets[targetName];
    // A grpc target rides through the http-typed code paths as a grpc:// url (results, redaction).
    const grpcTarget = envTarget?.kind === 'grpc' ? envTarget : null;
    const target = grpcTarget
      ? { kind: 'http' as const, url: `grpc://${grpcTarget.address}`, health: undefined }
      : envTarget;
    if (!target || target.kind !== 'http')
      throw new InputError(`load target ${targetName} is not an http target`);
    let demo: DemoChild | null = null;
    const store = new MetricsStore();
    let ticker: NodeJS.Timeout | null = null;
    let beat: NodeJS.Timeout | null = null;
    const monitor = startSelfMonitor();
    const dir = ensureStateDir(this.opts.stateDir ?? stateDir(this.opts.env ?? process.env));
    this.dir = dir;
    const ledger = new Ledger(dir);
    let faults: FaultRunner | null = null;
    let outcome;
    let registered = false;
    let host: HostSampler | null = null;
    let probes: ProbeRunner | null = null;
    let gate: ReturnType<typeof gateFaults> | null = null;
    let probeResults: ProbeResult[] = [];
    let unavailable = new Map<number, string>();
    const engine = this.opts.engine === 'k6' || s.spec.engine === 'k6' ? 'k6' : s.spec.engine;
    let k6Bin: string | null = null;
    try {
      if (engine === 'k6') k6Bin = k6Preflight(this.opts.env ?? process.env);
      unavailable = await preflightFaults(plan, env, s.file, {
        skipUnavailable: this.opts.skipUnavailable ?? false,
      });
      for (const [i, why] of unavailable)
        this.emit('log', `faults[${i}] skipped (--skip-unavailable): ${why}`);
      if (env.demo) {
        this.emit('log', 'starting the demo system');
        demo = await startDemoChild(this.opts.env ?? process.env);
      }
      if (this.abortReason) throw new InputError(`aborted before the load started (${this.abortReason})`);
      if (grpcTarget) await grpcPreflight(grpcTarget, s.environment.file, targetName);
      else await preflight(target.url, target.health, s.environment.file, targetName);
      const info: RunInfo = {
        runId: this.runId,
        pid: process.pid,
        startTime: processStartTime(process.pid) ?? 0,
        guardPid: null,
        scenario: s.spec.name,
        startedAt: startedAt.toISOString(),
      };
      registerRun(dir, info);
      registered = true;
      beat = setInterval(() => heartbeat(dir, this.runId), HEARTBEAT_MS);
      if (this.opts.guard !== false && plan.faults.length > 0) {
        info.guardPid = spawnGuard(dir, this.runId);
        updateRun(dir, info);
      }
      const prng = createPrng(seed);
      const cap = s.spec.load.capacity;
      const l = grpcTarget
        ? grpcLoadFor(s, grpcTarget.address, planSegment(plan), plan.arrivals, prng.fork('requests'), store)
        : engine === 'k6'
          ? new K6Load({
              bin: k6Bin!,
              scenario: s,
              plan,
              baseUrl: target.url,
              store,
              log: (line) => this.emit('log', line),
            })
          : s.spec.engine === 'autocannon' && cap
            ? new AutocannonLoad({
                url: target.url,
                requests: s.spec.load.requests,
                steps: cap.connections.map((c) => ({
                  connections: c,
                  durationMs: cap.each * plan.timeScale,
                })),
                timeoutMs: s.spec.load.timeout,
                store,
                afterStep: (i, startMs, endMs) =>
                  this.capacityStep(store, cap.connections[i]!, startMs, endMs, cap.stopAtKnee),
              })
            : new HttpLoad({
                url: target.url,
                requests: s.spec.load.requests,
                segment: planSegment(plan),
                arrivals: plan.arrivals,
                connections: s.spec.load.connections,
                maxBacklog: s.spec.load.maxBacklog,
                timeoutMs: s.spec.load.timeout,
                prng: prng.fork('requests'),
                store,
                payloads: compileRequestBodies(s.spec.load.requests, dirname(s.file)).payloads,
              });
      let seenThisSecond = new Set<string>();
      faults = new FaultRunner({
        faults: plan.faults.filter((f) => !unavailable.has(f.index)),
        env,
        runId: this.runId,
        ledger,
        prng,
        now: () => l.now(),
        log: (line) => this.emit('log', line),
        onChange: (ids) => {
          l.setFaultKey(ids.join('+'));
          for (const id of ids) seenThisSecond.add(id);
        },
      });
      const fr0 = faults;
      this.onAbort = () => {
        this.abortAtMs = l.now();
        fr0.cancelPending();
        l.stop();
      };
      if (this.abortReason) this.onAbort();
      // Probes set up their clients and check once, unrecorded, before t = 0; their first
      // recorded round runs at t = 0.
      probes = new ProbeRunner(env.probes, () => l.now());
      await probes.prepare();
      if (l instanceof OpenModelLoad && s.spec.load.warmUp && this.opts.warmUp !== false)
        this.emit('log', describeWarmUp(await l.warmUp()));
      // The sampler's first sample is taken now, before t = 0: it counts as t = 0.
      let loadStarted = false;
      host = await startHostSampler(() => (loadStarted ? l.now() : 0));
      this.emit('started', plan);
      let second = 0;
      let totalSent = 0;
      let totalFailed = 0;
      const fr = faults;
      ticker = setInterval(() => {
        const now = l.now();
        const peek = store.peek(second);
        const gen = monitor.sample();
        store.generator(second, gen);
        store.faultActive(second, seenThisSecond);
        const active = fr.activeIds();
        seenThisSecond = new Set(active);
        store.finalizeBefore(now - s.spec.load.timeout - 1000);
        totalSent += peek.sent;
        totalFailed += peek.failed;
        this.checkStop?.(peek);
        this.emit('progress', {
          elapsedMs: now,
          durationMs: plan.durationMs,
          second,
          requestedRate: peek.requested,
          achievedRate: peek.sent,
          ok: peek.ok,
          failed: peek.failed,
          p99Ms: peek.p99Ms,
          latencyMs: peek.latencyMs,
          errors: peek.errors,
          totalSent,
          totalFailed,
          activeFaults: active,
          saturated: gen.saturated,
        });
        second++;
      }, 1000);
      const stopWatch = new StopWatch(
        s.spec.abort.map((a) => parseStopCondition(a.when, a.for) as StopCondition),
        plan.timeScale,
      );
      const checkStop = (peek: ReturnType<MetricsStore['peek']>) => {
        const fired = stopWatch.check(peek);
        if (fired) {
          const why = `stop condition: ${fired.source} for ${formatDuration(Math.max(1000, fired.forMs * plan.timeScale))}`;
          this.emit('log', `${why}: reverting every fault and stopping the load`);
          this.abort(why);
        }
      };
      this.checkStop = checkStop;
      monitor.sample(); // second 0's figures start here, not with the demo's start-up and the warm-up
      const done = l.start();
      this.loadStartedAtMs = Date.now() - l.now(); // the wall-clock time of the load's t = 0
      loadStarted = true;
      probes.start();
      const firstFaultMs = plan.faults.length > 0 ? Math.min(...plan.faults.map((f) => f.startMs)) : null;
      const fr1 = faults;
      gate = gateFaults(
        s.spec.steadyState,
        probes,
        firstFaultMs,
        plan.timeScale,
        () => l.now(),
        () => fr1.start(),
        (line) => this.emit('log', line),
      );
      outcome = await done;
      if (l instanceof K6Load) this.engineWarnings.push(...l.warnings);
    } finally {
      // Order matters: revert first, then let the guard go (unregister), then the demo.
      if (faults) await faults.stopAll(this.abortReason ? 'runner-exit' : 'schedule');
      gate?.cancel();
      probeResults = (await probes?.stop()) ?? [];
      if (ticker) clearInterval(ticker);
      if (beat) clearInterval(beat);
      monitor.stop();
      this.hostSamples = host?.stop() ?? [];
      if (registered) unregisterRun(dir, this.runId);
      if (demo) await demo.stop();
    }
    this.faultRecords = [...(faults?.records() ?? []), ...unavailableFaultRecords(plan, unavailable)];
    const result = this.buildResult(plan, store, startedAt, outcome.durationMs, seed, target.url);
    addStreamingResults(result, store, probeResults, gate?.record);
    result.verdict = score(result, objectivesFor(s.slo, s.spec.load.service ?? targetName));
    applySteadyState(result);
    return result;
  }

  private engineWarnings: string[] = [];
  private loadStartedAtMs: number | null = null;
  private capacitySteps: NonNullable<RunResult['capacity']>['steps'] = [];

  /** Judges one capacity step against the service's objectives; false stops stepping up. */
  private capacityStep(
    store: MetricsStore,
    connections: number,
    startMs: number,
    endMs: number,
    stopAtKnee: boolean,
  ): boolean {
    const from = Math.ceil(startMs / 1000);
    const to = Math.floor(endMs / 1000);
    const secs = store.timeline(to).slice(from, to);
    const so = objectivesFor(
      this.scenario.slo,
      this.scenario.spec.load.service ?? this.scenario.spec.load.target,
    );
    const judged = meetsObjectives(so, secs);
    const ok = secs.reduce((n, x) => n + x.ok, 0);
    const failed = secs.reduce((n, x) => n + x.failed, 0);
    const p99s = secs.map((x) => x.latencyMs?.p99 ?? 0);
    this.capacitySteps.push({
      connections,
      startMs: Math.round(startMs),
      endMs: Math.round(endMs),
      requests: ok + failed,
      throughput: Math.round(((ok + failed) / Math.max(1, secs.length)) * 10) / 10,
      p99Ms: p99s.length ? Math.max(...p99s) : null,
      availability: ok + failed ? ok / (ok + failed) : null,
      pass: judged.pass,
      failed: judged.failed,
    });
    this.emit(
      'log',
      `capacity: ${connections} connections → ${this.capacitySteps.at(-1)!.throughput} req/s${judged.pass ? '' : `, missed ${judged.failed.join(', ')}`}`,
    );
    return judged.pass || !stopAtKnee;
  }

  private buildResult(
    plan: RunPlan,
    store: MetricsStore,
    startedAt: Date,
    ranMs: number,
    seed: number,
    url: string,
  ): RunResult {
    const s = this.scenario;
    // k6 timestamps completions and may run past the plan; every other engine's timeline is the plan's.
    const k6 = this.opts.engine === 'k6' || s.spec.engine === 'k6';
    const seconds = Math.ceil((k6 ? ranMs : Math.min(plan.durationMs, ranMs)) / 1000);
    const all = store.timeline(seconds);
    const timeline = all.slice(0, Math.max(seconds, 1));
    const totals = sumTimeline(timeline);
    // The timeline counts a request as sent in the second it went out. Arrivals sent after the
    // plan's end (a backlog draining, a late turn of the loop) are in no second of it, but they
    // were sent: the totals count them, so that sent ≥ ok + failed.
    totals.sent += all.slice(timeline.length).reduce((n, x) => n + x.sent, 0);
    const warnings = [...rateWarnings(timeline), ...this.engineWarnings];
    return {
      schemaVersion: SCHEMA_VERSION,
      tool: { name: 'chaoskit', version: VERSION },
      runId: this.runId,
      seed,
      scenario: { name: s.spec.name, description: s.spec.description, file: s.file },
      environment: {
        file: s.environment.file,
        demo: s.environment.spec.demo,
        targets: Object.fromEntries(
          Object.entries(s.environment.spec.targets).map(([name, t]) => [
            name,
            { kind: t.kind, ...redactedAddress(t) },
          ]),
        ),
      },
      timeScale: plan.timeScale,
      startedAt: startedAt.toISOString(),
      ...(this.loadStartedAtMs !== null
        ? { loadStartedAt: new Date(Math.round(this.loadStartedAtMs)).toISOString() }
        : {}),
      endedAt: new Date().toISOString(),
      status: this.abortReason ? 'aborted' : 'completed',
      abort: this.abortReason ? { reason: this.abortReason, atMs: Math.round(this.abortAtMs) } : null,
      plan: {
        durationMs: plan.durationMs,
        expectedRequests: Math.round(plan.expectedRequests),
        peakRate: plan.peakRate,
        arrivals: plan.arrivals,
        phases: plan.phases.map(({ index, name, kind, startMs, endMs, peakRate }) => ({
          index,
          name,
          kind,
          startMs,
          endMs,
          peakRate,
        })),
      },
      load: {
        target: s.spec.load.target,
        url,
        connections: s.spec.load.connections,
        timeoutMs: s.spec.load.timeout,
        engine: s.spec.engine,
      },
      totals: {
        ...totals,
        latencyMs: summarize(store.totalLatency),
        serviceMs: summarize(store.totalService),
        hist: store.totalLatency.totalCount > 0 ? encode(store.totalLatency) : null,
      },
      timeline,
      faults: this.faultRecords,
      host: this.hostSamples,
      warnings:
        s.spec.engine === 'autocannon'
          ? [
              ...warnings.filter((w) => !w.startsWith('achieved rate')),
              'closed model (autocannon): latency is service time; a slow server slows the load down, so latency can hide coordinated omission',
              ...(this.capacitySteps.length && this.capacitySteps.every((x) => x.pass)
                ? [
                    `no objective failed up to ${this.capacitySteps.at(-1)!.connections} connections: the knee is higher (throughput peaked at ${peakOf(this.capacitySteps)!.throughput} req/s)`,
                  ]
                : []),
            ]
          : warnings,
      ...(s.spec.engine === 'autocannon'
        ? {
            capacity: {
              steps: this.capacitySteps,
              knee: kneeOf(this.capacitySteps),
              peak: peakOf(this.capacitySteps),
            },
          }
        : {}),
    };
  }
}

export function runScenario(scenario: Scenario, opts: RunOptions = {}): RunHandle {
  return new RunHandle(scenario, opts);
}

async function preflight(
  url: string,
  health: string | undefined,
  envFile: string,
  name: string,
): Promise<void> {
  const probe = new URL(health ?? '/', url).toString();
  try {
    const r = await fetch(probe, { signal: AbortSignal.timeout(3_000) });
    await r.body?.cancel();
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new InputError(
      `load target ${name} (${probe}, from ${envFile}) is not reachable at start: ${code}. ` +
        'Start the service, or point the scenario at another environment with --env FILE.',
    );
  }
}

type CapacitySteps = NonNullable<RunResult['capacity']>['steps'];

/** The last step before the first one that missed an objective (null when none, or the first, missed). */
function kneeOf(steps: CapacitySteps): { connections: number; throughput: number } | null {
  const firstFail = steps.findIndex((x) => !x.pass);
  const k = firstFail > 0 ? steps[firstFail - 1] : undefined;
  return k ? { connections: k.connections, throughput: k.throughput } : null;
}

function peakOf(steps: CapacitySteps): { connections: number; throughput: number } | null {
  const k = [...steps].sort((a, b) => b.throughput - a.throughput)[0];
  return k ? { connections: k.connections, throughput: k.throughput } : null;
}

function sumTimeline(tl: readonly TimelineSecond[]) {
  const errors: Record<string, number> = {};
  let requested = 0,
    sent = 0,
    ok = 0,
    failed = 0,
    dropped = 0,
    cancelled = 0,
    saturatedSeconds = 0;
  for (const s of tl) {
    requested += s.requested;
    sent += s.sent;
    ok += s.ok;
    failed += s.failed;
    dropped += s.dropped;
    cancelled += s.cancelled;
    if (s.generator?.saturated) saturatedSeconds++;
    for (const [k, v] of Object.entries(s.errors)) errors[k] = (errors[k] ?? 0) + (v ?? 0);
  }
  return { requested, sent, ok, failed, dropped, cancelled, errors, saturatedSeconds };
}

/** Seconds where the achieved rate missed the requested one by more than 1% (and 1 request). */
function rateWarnings(tl: readonly TimelineSecond[]): string[] {
  const out: string[] = [];
  const off = tl.filter(
    (s) => s.requested > 0 && Math.abs(s.sent - s.requested) > Math.max(1, s.requested * 0.01),
  );
  if (off.length > 0) {
    out.push(
      `achieved rate differed from requested by more than 1% in ${off.length} of ${tl.length} seconds (first at t=${off[0]!.t}s: requested ${off[0]!.requested}, sent ${off[0]!.sent})`,
    );
  }
  const sat = tl.filter((s) => s.generator?.saturated);
  if (sat.length > 0) {
    out.push(
      `the load generator was saturated in ${sat.length} second(s) (${sat[0]!.generator!.reasons.join(', ')} at t=${sat[0]!.t}s): latency there may be the generator's, not the target's`,
    );
  }
  const dropped = tl.reduce((n, s) => n + s.dropped, 0);
  if (dropped > 0)
    out.push(
      `${dropped} arrivals were dropped: the backlog was full (raise load.connections or load.maxBacklog)`,
    );
  return out;
}

function redactedAddress(t: Scenario['environment']['spec']['targets'][string]): { address?: string } {
  const strip = (u: string) => {
    const x = new URL(u);
    x.username = '';
    x.password = '';
    x.search = '';
    return x.toString().replace(/\/$/, '');
  };
  if (t.kind === 'http') return { address: strip(t.url) };
  if (t.kind === 'proxy') return { address: `${strip(t.api)} proxy ${t.proxy}` };
  if (t.kind === 'docker') return { address: t.container ?? JSON.stringify(t.labels) };
  if (t.kind === 'process') return { address: t.match ?? t.pidFile };
  if (t.kind === 'grpc') return { address: t.address };
  return {};
}
