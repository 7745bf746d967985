/**
 * `chaos run … --workers N` and `--runners N --listen HOST:PORT`: the flags checked before anything
 * starts, then the coordinator bound (a port in use is exit 2, nothing started), the workers
 * spawned, and the engine definition the runner uses instead of the registry's.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { InputError } from '../core/errors.ts';
import { randomSeed } from '../load/prng.ts';
import type { EngineDef } from '../load/engine.ts';
import type { RunHandle } from '../run.ts';
import type { EngineName } from '../run/engines.ts';
import type { Scenario } from '../input/load.ts';
import { parseDurationMs } from '../core/units.ts';
import { Coordinator } from './coordinator.ts';
import type { RunnerLossPolicy } from './engine.ts';
import { planFor, scalableEngine, scaleEngineDef } from './setup.ts';
import { spawnWorkers, type Workers } from './workers.ts';

export interface ScaleFlags {
  workers?: number | undefined;
  runners?: number | undefined;
  listen?: string | undefined;
  onRunnerLoss?: string | undefined;
  joinTimeout?: string | undefined;
}

export interface ScaleRequest {
  kind: 'workers' | 'runners';
  count: number;
  host: string;
  port: number;
  onLoss: RunnerLossPolicy;
  joinTimeoutMs: number;
  token: string | null;
}

const DEFAULT_JOIN_MS = 120_000;
/** Workers are this process's own children: they join in seconds or not at all. */
const WORKERS_JOIN_MS = 60_000;

function whole(flag: string, v: number): number {
  if (!Number.isInteger(v) || v < 1)
    throw new InputError(`${flag} must be a whole number of at least 1, got ${String(v)}`);
  return v;
}

/** HOST:PORT, [IPv6]:PORT or :PORT (all interfaces). */
export function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(v.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535)
    throw new InputError(
      `--listen must be HOST:PORT (like 0.0.0.0:7070 or 127.0.0.1:0), got ${JSON.stringify(v)}`,
    );
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** Every scale-out flag, checked before the scenario is even loaded. Null: a plain single-process run. */
export function checkScaleFlags(a: ScaleFlags, env: NodeJS.ProcessEnv = process.env): ScaleRequest | null {
  if (a.workers === undefined && a.runners === undefined) {
    if (a.listen !== undefined)
      throw new InputError('--listen is where runners connect: it needs --runners N');
    return null;
  }
  if (a.workers !== undefined && a.runners !== undefined)
    throw new InputError(
      '--workers and --runners do not combine: use --workers N on one machine, or --runners N with chaos runner processes',
    );
  const onLoss = (a.onRunnerLoss ?? 'abort') as RunnerLossPolicy;
  let joinTimeoutMs = DEFAULT_JOIN_MS;
  if (a.joinTimeout !== undefined) {
    const ms = parseDurationMs(a.joinTimeout);
    if (ms === undefined || !(ms > 0))
      throw new InputError(
        `--join-timeout must be a duration like 90s or 5m, got ${JSON.stringify(a.joinTimeout)}`,
      );
    joinTimeoutMs = ms;
  }
  if (a.workers !== undefined) {
    if (a.listen !== undefined)
      throw new InputError('--listen is for --runners; --workers connect over loopback by themselves');
    return {
      kind: 'workers',
      count: whole('--workers', a.workers),
      host: '127.0.0.1',
      port: 0,
      onLoss,
      joinTimeoutMs: a.joinTimeout !== undefined ? joinTimeoutMs : WORKERS_JOIN_MS,
      token: randomBytes(18).toString('base64url'),
    };
  }
  const count = whole('--runners', a.runners!);
  if (a.listen === undefined)
    throw new InputError(
      '--runners needs --listen HOST:PORT: the address the runners connect to (chaos runner --coordinator http://HOST:PORT)',
    );
  const { host, port } = parseListen(a.listen);
  const token = env.CHAOSKIT_TOKEN || null;
  if (!isLoopback(host) && !token)
    throw new InputError(
      `--listen ${a.listen} is reachable beyond this machine: set CHAOSKIT_TOKEN (a shared secret) for the coordinator and every runner`,
    );
  return { kind: 'runners', count, host, port, onLoss, joinTimeoutMs, token };
}

export interface ScaleOut {
  engineDef: EngineDef;
  seed: number;
  url: string;
  attach(run: RunHandle): void;
  /** Ends every channel, stops listening, and lets the workers go (killed if they linger). */
  close(): Promise<void>;
}

/** Binds the coordinator and starts the workers; the runner's preflight then waits for them to join. */
export async function startScaleOut(
  req: ScaleRequest,
  scenario: Scenario,
  o: { seed?: number | undefined; timeScale: number; force: boolean; engine?: EngineName | undefined },
): Promise<ScaleOut> {
  const flag = req.kind === 'workers' ? '--workers' : '--runners';
  const inner = scalableEngine(o.engine ?? scenario.spec.engine, flag);
  const seed = o.seed ?? scenario.spec.seed ?? randomSeed();
  // More segments than arrivals is refused here, before anything listens or starts.
  planFor(scenario, { seed, timeScale: o.timeScale, force: o.force, count: req.count }, flag);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const coordinator = await Coordinator.listen({
    host: req.host,
    port: req.port,
    token: req.token,
    count: req.count,
    kind: req.kind,
    log: req.kind === 'runners' ? log : () => {},
  });
  let workers: Workers | null = null;
  if (req.kind === 'workers') workers = spawnWorkers(req.count, coordinator.url, req.token!, log);
  else
    log(
      `coordinator listening on ${coordinator.url}: waiting for ${req.count} runner(s) (chaos runner --coordinator ${coordinator.url}${req.token ? ', with CHAOSKIT_TOKEN' : ''})`,
    );
  let run: RunHandle | null = null;
  const engineDef = scaleEngineDef(inner, {
    kind: req.kind,
    count: req.count,
    onLoss: req.onLoss,
    seed,
    timeScale: o.timeScale,
    force: o.force,
    links: () => {
      const joined = coordinator.admitted(req.joinTimeoutMs);
      if (!workers) return joined;
      // A worker that dies before it joins (a broken install) fails the set-up with its own words.
      const w = workers;
      return new Promise((resolve, reject) => {
        const t = setInterval(() => {
          const [i, why] = [...w.exits][0] ?? [];
          if (why === undefined) return;
          clearInterval(t);
          reject(new InputError(`worker ${i} could not start: ${why}`));
        }, 100);
        joined.then(
          (l) => (clearInterval(t), resolve(l)),
          (e: unknown) => (clearInterval(t), reject(e as Error)),
        );
      });
    },
    abortRun: (reason) => run?.abort(reason),
    runId: () => run?.runId ?? 'unknown',
    log,
  });
  return {
    engineDef,
    seed,
    url: coordinator.url,
    attach(r) {
      run = r;
    },
    async close() {
      await coordinator.close();
      await workers?.stop();
    },
  };
}
