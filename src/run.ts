/**
 * The runner: the lifecycle of one run, and the only module that owns side effects in time.
 *
 *   set-up (a stop here exits 3; nothing was applied)
 *     fault preflight ─> demo system ─> engine preflight (target answers) ─> register run + guard
 *     ─> probes checked once ─> warm-up (unrecorded)
 *   load (t = 0)
 *     engine (open model, src/load/) ──outcomes──> MetricsStore (exact accounting, by exposure)
 *     FaultRunner: windows on the run's clock; exposure windows ──> the store's attribution
 *     ticker, once a second: live view (in flight included) ─> stop conditions, `second` event
 *   stop (end of plan, signal, stop condition, emergency stop)
 *     engine.stop(): nothing more sent ─> faults reverted (newest first) ─> probes, host samples
 *     ─> run unregistered (its guard exits) ─> buildResult (pure) ─> score ─> `finished`
 *   close: the demo system stops after the result is out (`closed`), so it never holds the result.
 *
 * Time comes from a Clock (src/core/clock.ts): lifecycle tests run in simulated time.
 */
import { randomBytes } from 'node:crypto';
import { faultDef } from '../faults/index.ts';
import { realClock, every, type Clock } from './core/clock.ts';
import { stateDir } from './core/paths.ts';
import { AbortedError, InputError, InternalError } from './core/errors.ts';
import { startDemoChild, type DemoChild } from './demo/child.ts';
import type { EngineContext, EngineDef, LoadEngine } from './load/engine.ts';
import { describeWarmUp } from './load/warm-up.ts';
import { unavailableFaultRecords } from './load/result-extras.ts';
import { createPrng, randomSeed } from './load/prng.ts';
import { startHostSampler, type HostSampler } from './metrics/host-sampler.ts';
import type { RequestTracer } from './otel/request-tracer.ts';
import { startSelfMonitor } from './metrics/self-monitor.ts';
import type { GeneratorStats } from './metrics/store.ts';
import { ProbeRunner, type ProbeResult } from './probes/runner.ts';
import { applySteadyState, gateFaults } from './probes/steady-state.ts';
import type { RunResult } from './result.ts';
import type { EngineName } from './run/engines.ts';
import { GuardedEmitter, liveFigures, type Progress, type RunEvents } from './run/events.ts';
import { FaultWindows } from './run/exposure.ts';
import { createEngines, streamUnits, type StreamSet } from './run/streams.ts';
import { mergedHistogram, mergedProfiles, streamResult } from './run/result.ts';
import { combineVerdicts } from './slo/combine.ts';
import { buildResult } from './run/result.ts';
import { planScenario, type Scenario } from './input/load.ts';
import type { RunPlan } from './scenario/plan.ts';
import { FaultRunner, type FaultRunnerOptions } from './safety/fault-runner.ts';
import { Ledger } from './safety/ledger.ts';
import { preflightFaults } from './safety/preflight.ts';
import { spawnGuard } from './safety/guard.ts';
import {
  heartbeat,
  HEARTBEAT_MS,
  markStopping,
  registerRun,
  stopRequested,
  unregisterRun,
  updateRun,
  type RunInfo,
} from './safety/runs.ts';
import { ensureStateDir } from './safety/state.ts';
import { processStartTime } from './targets/process.ts';
import { objectivesFor } from './slo/objectives.ts';
import { score } from './slo/score.ts';
import { parseStopCondition, StopWatch, type StopCondition } from './slo/stop.ts';
import { SKIPPED_UNAVAILABLE } from './slo/validity.ts';
import { formatDuration } from './core/units.ts';

export type { ProfileProgress, Progress, RunEvents, StreamProgress } from './run/events.ts';

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
  engine?: EngineName;
  /** Spawn a guard process (default true). */
  guard?: boolean;
  /** false: no warm-up before t = 0, whatever the scenario's `load.warmUp` says. */
  warmUp?: boolean;
  /** The run's clock (tests: simulated time). */
  clock?: Clock;
  /** Tests: a load engine of their own (a simulated target) instead of the registry's; called once per load stream. */
  createEngine?: (ctx: EngineContext) => LoadEngine;
  /** Scale-out (`--workers`, `--runners`): an engine definition that wraps the registry's (src/scale/). */
  engineDef?: EngineDef;
  /** Tests: fault drivers of their own. */
  faultDrivers?: Pick<FaultRunnerOptions, 'prepare' | 'revert'>;
  /** Sample host CPU, memory and GPUs once a second (default true). */
  hostSamples?: boolean;
  /** Traces sampled requests (a W3C traceparent on each; `--otlp` with `--trace-sample`). */
  tracer?: RequestTracer;
}

/** Marks a result warning about a ledger record that could not be made durable (the run exits 4). */
export const LEDGER_WARNING = 'ledger:';
/** Longest wait for probe checks in flight when the run stops early (a stop must be fast). */
const STOP_PROBE_WAIT_MS = 300;
/** A tick later than this after the previous one means the runner itself was stalled. */
const STALL_GAP_MS = 2_500;

/** The run handle: listen for events, call abort(), await `result` (and `closed`). */
export class RunHandle extends GuardedEmitter<RunEvents> {
  readonly runId = `${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
  /** The scored result, as soon as faults are reverted and the load has stopped. */
  readonly result: Promise<RunResult>;
  /** Everything the run started is stopped (the demo system too): after `result`. */
  readonly closed: Promise<void>;
  private readonly clock: Clock;
  private abortReason: string | null = null;
  private abortAtMs = 0;
  private onAbort: (() => void) | null = null;
  private abortedSignal!: () => void;
  private readonly aborted = new Promise<void>((r) => (this.abortedSignal = r));
  private closers: (() => Promise<void>)[] = [];
  private dir: string | null = null;
  private info: RunInfo | null = null;

  constructor(
    readonly scenario: Scenario,
    private readonly opts: RunOptions,
  ) {
    super((err, event) =>
      process.stderr.write(
        `chaos: a listener of "${event}" failed (${(err as Error)?.message ?? String(err)}); the run goes on\n`,
      ),
    );
    this.clock = opts.clock ?? realClock;
    this.result = this.execute();
    this.closed = this.result.then(
      () => this.close(),
      () => this.close(),
    );
    // The caller may only await; keep an unobserved rejection from crashing the process.
    this.result.catch(() => {});
  }

  /** Stops the run at once: the load stops, every fault is reverted, the result is partial (`aborted`). */
  abort(reason: string): void {
    if (this.abortReason) return;
    this.abortReason = reason;
    // emergency-stop waits for a run that says it is stopping, instead of killing it.
    if (this.dir && this.info) markStopping(this.dir, this.runId, reason);
    this.emit('stopping', { reason });
    this.onAbort?.();
    this.abortedSignal();
  }

  get stopReason(): string | null {
    return this.abortReason;
  }

  /** Why the run was asked to stop from outside (an emergency stop leaves a note), if it was. */
  externalStopReason(): string | null {
    return this.dir ? stopRequested(this.dir, this.runId) : null;
  }

  /** Waits for a set-up step, unless the run is aborted first (then it exits 3: nothing was applied). */
  private async step<T>(p: Promise<T>, what: string): Promise<T> {
    if (this.abortReason) throw this.setupAbort(what);
    const r = await Promise.race([p, this.aborted.then(() => null)]);
    if (this.abortReason) {
      p.catch(() => {}); // the step may still settle; nobody waits for it
      throw this.setupAbort(what);
    }
    return r as T;
  }

  private setupAbort(what: string): AbortedError {
    return new AbortedError(`aborted during set-up (${what}) by ${this.abortReason}; nothing was applied`);
  }

  private async close(): Promise<void> {
    for (const c of this.closers.reverse()) await c().catch(() => {});
    this.closers = [];
  }

  private async execute(): Promise<RunResult> {
    await Promise.resolve(); // let the caller attach listeners first
    const s = this.scenario;
    const clock = this.clock;
    const env = this.opts.env ?? process.env;
    const seed = this.opts.seed ?? s.spec.seed ?? randomSeed();
    const plan = planScenario(s, {
      seed,
      timeScale: this.opts.timeScale ?? 1,
      force: this.opts.force ?? false,
    });
    if (s.spec.multiStream && (this.opts.engine || this.opts.engineDef))
      throw new InputError(
        `${s.file}: several load streams run on chaoskit's own engines in one process: --engine k6, --workers and --runners take a scenario with one load (not built for several streams yet)`,
      );
    const startedAt = new Date(clock.wallNow()).toISOString();
    const windows = new FaultWindows();
    // One unit per load stream (one for a single load), each with its own store and engine.
    const units = streamUnits(s, plan, windows, {
      ...(this.opts.engine ? { engine: this.opts.engine } : {}),
      ...(this.opts.engineDef ? { engineDef: this.opts.engineDef } : {}),
    });
    const engineName: EngineName = units[0]!.engineName;
    const dir = ensureStateDir(this.opts.stateDir ?? stateDir(env));
    this.dir = dir;
    const monitor = startSelfMonitor();
    const warnings: string[] = [];
    const warn = (w: string) => {
      warnings.push(w);
      this.emit('warning', w);
    };
    const log = (line: string) => this.emit('log', line);
    for (const w of s.warnings) warn(w);

    let registered = false;
    let engine: StreamSet | null = null;
    let faults: FaultRunner | null = null;
    let probes: ProbeRunner | null = null;
    let host: HostSampler | null = null;
    let gate: ReturnType<typeof gateFaults> | null = null;
    let beat: { stop(): void } | null = null;
    let ticker: { stop(): void } | null = null;
    let unavailable = new Map<number, string>();
    let probeResults: ProbeResult[] = [];
    let hostSamples: RunResult['host'] = [];
    let loadStartedWall: number | null = null;
    let outcome: Awaited<ReturnType<LoadEngine['start']>> | null = null;
    try {
      // ---- set-up ---------------------------------------------------------------------------
      // Drivers, devices, privileges first: a run that cannot apply its faults starts nothing.
      unavailable = await this.step(
        preflightFaults(plan, s.environment.spec, s.file, {
          skipUnavailable: this.opts.skipUnavailable ?? false,
          targets: 'others',
        }),
        'fault preflight',
      );
      if (s.environment.spec.demo && !this.opts.createEngine) {
        log('starting the demo system');
        const abandon = new AbortController();
        void this.aborted.then(() => abandon.abort());
        const starting = startDemoChild(env, undefined, abandon.signal);
        // A stop during start-up must not leave the demo behind: stop it whenever it comes up.
        this.closers.push(() =>
          starting.then(
            (d) => d.stop(),
            () => {},
          ),
        );
        const demo: DemoChild = await this.step(starting, 'starting the demo system');
        void demo;
      }
      if (!this.opts.createEngine)
        for (const u of units)
          await this.step(u.def.preflight({ scenario: u.scenario, env }), 'target preflight');
      // After the demo is up: a process target that matches nothing is known now, before anything is applied.
      const unavailableProcs = await this.step(
        preflightFaults(plan, s.environment.spec, s.file, {
          skipUnavailable: this.opts.skipUnavailable ?? false,
          targets: 'process',
        }),
        'process target preflight',
      );
      for (const [i, why] of unavailableProcs) unavailable.set(i, why);
      for (const [i, why] of unavailable) warn(`faults[${i}] ${SKIPPED_UNAVAILABLE}: ${why}`);
      for (const type of new Set(plan.faults.map((f) => f.type))) {
        const caveat = faultDef(type)?.caveat;
        if (caveat) warn(caveat);
      }
      const info: RunInfo = {
        runId: this.runId,
        pid: process.pid,
        startTime: processStartTime(process.pid) ?? 0,
        guardPid: null,
        scenario: s.spec.name,
        startedAt,
      };
      registerRun(dir, info);
      registered = true;
      this.info = info;
      beat = every(clock, HEARTBEAT_MS, () => heartbeat(dir, this.runId));
      if (this.opts.guard !== false && plan.faults.length > 0) {
        info.guardPid = spawnGuard(dir, this.runId);
        updateRun(dir, info);
      }
      const prng = createPrng(seed);
      const eng = createEngines(
        units,
        { clock, prng, log, env, ...(this.opts.tracer ? { tracer: this.opts.tracer } : {}) },
        this.opts.createEngine,
      );
      engine = eng;
      let seenThisSecond = new Set<string>();
      const fr = new FaultRunner({
        faults: plan.faults.filter((f) => !unavailable.has(f.index)),
        env: s.environment.spec,
        runId: this.runId,
        ledger: new Ledger(dir),
        prng,
        clock,
        now: () => eng.now(),
        windows,
        log,
        wallToRunMs: (epochMs) => (loadStartedWall === null ? 0 : epochMs - loadStartedWall),
        environmentFile: s.environment.file,
        stateDir: dir,
        onApplied: (rec) => {
          seenThisSecond.add(rec.id);
          this.emit('faultApplied', rec);
        },
        onReverted: (rec) => this.emit('faultReverted', rec),
        ...this.opts.faultDrivers,
      });
      faults = fr;
      this.onAbort = () => {
        this.abortAtMs = eng.now();
        fr.cancelPending();
        eng.stop();
      };
      // Probes set up their clients and check once, unrecorded, before t = 0.
      const pr = new ProbeRunner(s.environment.spec.probes, () => eng.now());
      probes = pr;
      await this.step(pr.prepare(), 'probe check');
      if (s.spec.load.warmUp && this.opts.warmUp !== false) {
        const w = await this.step(eng.warmUp(), 'warm-up');
        if (w) log(describeWarmUp(w));
      }
      // The sampler's first sample is taken now, before t = 0: it counts as t = 0.
      let loadStarted = false;
      if (this.opts.hostSamples !== false)
        host = await this.step(
          startHostSampler(() => (loadStarted ? eng.now() : 0)),
          'host sampler',
        );
      if (this.abortReason) throw this.setupAbort('before the load started');

      // ---- load -----------------------------------------------------------------------------
      const stopWatch = new StopWatch(
        s.spec.abort.map((a) => parseStopCondition(a.when, a.for) as StopCondition),
        plan.timeScale,
      );
      monitor.sample(); // second 0's figures start here, not with the set-up and the warm-up
      const done = eng.start();
      loadStarted = true;
      loadStartedWall = clock.wallNow() - eng.now();
      this.emit('started', {
        runId: this.runId,
        plan,
        loadStartedAt: new Date(Math.round(loadStartedWall)).toISOString(),
      });
      let second = 0;
      let lastTickAt = eng.now();
      let totalSent = 0;
      let totalFailed = 0;
      ticker = every(clock, 1000, () => {
        const now = eng.now();
        const gap = now - lastTickAt;
        lastTickAt = now;
        const gen = monitor.sample();
        if (gap > STALL_GAP_MS) {
          // The runner itself did not run (SIGSTOP, a frozen VM): those seconds measured nothing.
          const stalled: GeneratorStats = {
            ...gen,
            saturated: true,
            reasons: [`generator stalled for ${formatDuration(gap)}`],
          };
          const upTo = Math.floor(now / 1000);
          for (let t = second; t < upTo - 1; t++) eng.generator(t, stalled);
          warn(
            `the runner was stalled for ${formatDuration(gap)} (from t=${second}s): nothing was measured or sent meanwhile`,
          );
          second = Math.max(second, upTo - 1);
        }
        eng.generator(second, gen);
        eng.faultActive(second, seenThisSecond);
        const activeInSecond = [...new Set([...seenThisSecond, ...fr.activeIds()])].sort();
        seenThisSecond = new Set(fr.activeIds());
        for (const fin of eng.finalizeReady()) this.emit('secondFinal', fin.second, fin.stream);
        const { merged: live, each, profiles } = eng.live(now);
        totalSent += live.achieved;
        totalFailed += live.failed;
        const fired = stopWatch.check(live);
        const progress: Progress = {
          elapsedMs: now,
          durationMs: plan.durationMs,
          second,
          ...liveFigures(live),
          p99Ms: live.latencyMs?.p99 ?? null,
          totalSent,
          totalFailed,
          activeFaults: activeInSecond,
          saturated: gen.saturated,
          ...(each.length > 0
            ? { streams: each.map((e) => ({ name: e.name, ...liveFigures(e.view) })) }
            : {}),
          ...(profiles.length > 0 ? { profiles } : {}),
        };
        this.emit('second', progress);
        second++;
        if (fired) {
          const why = `stop condition: ${fired.source} for ${formatDuration(Math.max(1000, fired.forMs * plan.timeScale))}`;
          log(`${why}: reverting every fault and stopping the load`);
          this.abort(why);
        }
      });
      pr.start();
      const firstFaultMs = plan.faults.length > 0 ? Math.min(...plan.faults.map((f) => f.startMs)) : null;
      gate = gateFaults(
        s.spec.steadyState,
        pr,
        firstFaultMs,
        plan.timeScale,
        clock,
        () => eng.now(),
        () => fr.start(),
        log,
      );
      outcome = await done;
    } finally {
      // Order matters: nothing more is sent, faults are reverted, then the guard may go.
      ticker?.stop();
      engine?.stop();
      if (faults) await faults.stopAll(this.abortReason ? 'runner-exit' : 'schedule');
      gate?.cancel();
      probeResults = (await probes?.stop(this.abortReason ? STOP_PROBE_WAIT_MS : undefined)) ?? [];
      hostSamples = host?.stop() ?? [];
      monitor.stop();
      beat?.stop();
      if (registered) unregisterRun(dir, this.runId);
    }
    if (!engine || !outcome) throw new InternalError('the load ended without an outcome');
    const ranMs = this.abortReason ? this.abortAtMs : outcome.durationMs;
    const seconds = Math.max(1, Math.ceil(engine.timelineMs(plan.durationMs, ranMs) / 1000));
    const { merged, each } = engine.timelines(seconds);
    const ledgerFailures = faults?.ledgerFailures ?? [];
    const common = {
      runId: this.runId,
      seed,
      startedAt,
      loadStartedAt: loadStartedWall === null ? null : new Date(Math.round(loadStartedWall)).toISOString(),
      endedAt: new Date(clock.wallNow()).toISOString(),
      ranMs,
      abort: this.abortReason ? { reason: this.abortReason, atMs: this.abortAtMs } : null,
      faults: [...(faults?.records() ?? []), ...unavailableFaultRecords(plan, unavailable)],
      host: hostSamples,
      probes: probeResults,
      steadyState: gate?.record,
    };
    const runWarnings = [
      ...warnings,
      ...engine.warnings(),
      ...ledgerFailures.map((f) => `${LEDGER_WARNING} ${f}`),
    ];
    const stores = units.map((u) => u.store);
    const result = buildResult({
      ...common,
      scenario: s,
      plan,
      engine: engineName,
      address: units.map((u) => u.def.address(u.scenario)).join(', '),
      timeline: merged,
      totalLatency: mergedHistogram(stores.map((x) => x.totalLatency)),
      totalService: mergedHistogram(stores.map((x) => x.totalService)),
      streams: units.length === 1 ? stores[0]!.streams.summary() : null,
      profiles: mergedProfiles(units),
      warnings: runWarnings,
      violations: engine.violations,
      extras: engine.extras(),
    });
    applySteadyState(result);
    if (units.length === 1) {
      result.verdict = score(result, objectivesFor(s.slo, s.spec.load.service ?? s.spec.load.target));
    } else {
      // Each stream is scored against its own service's objectives; the verdict combines them.
      result.streams = units.map((u, i) => {
        const part = buildResult({
          ...common,
          scenario: u.scenario,
          plan: u.plan,
          engine: u.engineName,
          address: u.def.address(u.scenario),
          timeline: each[i]!,
          totalLatency: u.store.totalLatency,
          totalService: u.store.totalService,
          streams: u.store.streams.summary(),
          profiles: u.store.profiles.summary(),
          warnings: [],
          violations: u.store.violations,
          extras: u.engine!.extras(),
        });
        applySteadyState(part);
        const service = u.scenario.spec.load.service ?? u.scenario.spec.load.target;
        return streamResult(u.name!, service, part, score(part, objectivesFor(s.slo, service)));
      });
      result.verdict = combineVerdicts(result.streams.map((x) => ({ name: x.name, verdict: x.verdict! })));
    }
    this.emit('finished', result);
    return result;
  }
}

export function runScenario(scenario: Scenario, opts: RunOptions = {}): RunHandle {
  return new RunHandle(scenario, opts);
}

export type { RunPlan };
