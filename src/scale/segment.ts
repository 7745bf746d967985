/**
 * One segment of a run, in whatever process runs it (a `--workers` child, a `chaos runner` on
 * another machine, an in-process pair in tests): the registry's engine over segment i of N of the
 * arrivals, its own MetricsStore (exposure mirrored from the coordinator's fault windows), and
 * every 250 ms a report of the seconds it finished, its live window and what is outstanding.
 * It owns no fault, no ledger, no stop condition and no score: the coordinator does.
 *
 *   prepare ──engine created (connections and backlog: this segment's share), target checked──> ready
 *   start(t0 + offset) ──engine.start()──> report … report ──engine done──> done ──end──> over
 *   stop ──engine.stop(): the backlog is not sent, in flight is cancelled──> done
 *   coordinator silent or gone ──engine.stop() at once──> over (exit 3: never load unsupervised)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { every, realClock, type Clock, type TimerHandle } from '../core/clock.ts';
import type { EngineContext, LoadEngine } from '../load/engine.ts';
import { createPrng } from '../load/prng.ts';
import { encode } from '../core/hist.ts';
import { startSelfMonitor, type SelfMonitor } from '../metrics/self-monitor.ts';
import {
  MetricsStore,
  type LiveWindow,
  type MergeableSecond,
  type MergeableWindow,
} from '../metrics/store.ts';
import { engines } from '../run/engines.ts';
import { FaultWindows } from '../run/exposure.ts';
import type { Scenario } from '../input/load.ts';
import { VERSION } from '../version.ts';
import { REPORT_MS, type FromSegment, type RunSpec, type ToSegment } from './protocol.ts';
import { unpackScenario } from './shipping.ts';

export interface SegmentHostOptions {
  /** Sends a message to the coordinator. */
  send(m: FromSegment): void;
  /** The segment is over: 0 finished (or stopped by the coordinator), 2 refused or bad input, 3 coordinator lost. */
  onEnd(code: 0 | 2 | 3, why: string): void;
  clock?: Clock;
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Tests: an engine of their own (a simulated target) instead of the registry's. */
  createEngine?: (ctx: EngineContext) => LoadEngine;
  /** This process's chaoskit version (tests: another one). */
  version?: string;
  host?: string;
}

/** A JSON-safe stand-in for "every arrival" (JSON has no Infinity). */
const ALL_MS = 1e15;
/** Outstanding arrivals are shipped by 10 ms of intended time: enough for ages in a live view. */
const OUTSTANDING_GRAIN_MS = 10;

export class SegmentHost {
  private spec: RunSpec | null = null;
  private engine: LoadEngine | null = null;
  private store: MetricsStore | null = null;
  private readonly windows = new FaultWindows();
  private readonly clock: Clock;
  private readonly shipped = new Set<number>();
  private startTimer: TimerHandle | null = null;
  private reporter: { stop(): void } | null = null;
  private ticker: { stop(): void } | null = null;
  private monitor: SelfMonitor | null = null;
  private workDir: string | null = null;
  private phase: 'new' | 'preparing' | 'ready' | 'starting' | 'running' | 'done' | 'over' = 'new';
  private stopRequested = false;
  private reports = 0;

  constructor(private readonly o: SegmentHostOptions) {
    this.clock = o.clock ?? realClock;
  }

  get state(): string {
    return this.phase;
  }

  receive(m: ToSegment): void {
    switch (m.type) {
      case 'prepare':
        if (this.phase === 'new') void this.prepare(m.spec);
        return;
      case 'ping':
        this.o.send({ type: 'pong', id: m.id, t1: m.t1, t2: this.clock.wallNow() });
        return;
      case 'warmUp':
        void this.warmUp();
        return;
      case 'start':
        this.scheduleStart(m.t0Wall + m.offsetMs);
        return;
      case 'exposure':
        if (m.change.op === 'open') this.windows.open(m.change.id, m.change.atMs);
        else this.windows.close(m.change.id, m.change.atMs);
        return;
      case 'stop':
        this.stop();
        return;
      case 'refused':
        this.end(2, m.message);
        return;
      case 'end':
        this.end(0, this.phase === 'done' ? 'the run is over' : 'the coordinator ended the run');
        return;
      case 'beat':
        return;
    }
  }

  /** The coordinator is gone or silent: stop the load at once (never hammer a target unsupervised). */
  coordinatorLost(why: string): void {
    this.halt(`lost the coordinator (${why})`);
  }

  /** This process was told to stop (a signal): the load stops at once. */
  interrupt(why: string): void {
    this.halt(why);
  }

  private halt(why: string): void {
    if (this.phase === 'over') return;
    if (this.phase === 'done') {
      this.end(0, 'the run is over');
      return;
    }
    const running = this.phase === 'running';
    this.engine?.stop();
    this.end(3, `${why}: ${running ? 'stopped the load at once' : 'nothing was sent'}`);
  }

  private async prepare(spec: RunSpec): Promise<void> {
    this.phase = 'preparing';
    const version = this.o.version ?? VERSION;
    if (spec.version !== version) {
      this.fail(
        `this runner is chaoskit ${version} but the coordinator is ${spec.version}: versions must match`,
      );
      return;
    }
    this.spec = spec;
    try {
      const scenario = this.scenarioFor(spec);
      const store = new MetricsStore();
      store.setExposure(this.windows);
      this.store = store;
      const ctx: EngineContext = {
        scenario,
        plan: spec.plan,
        store,
        clock: this.clock,
        // The same fork the runner gives a single-process engine: arrivals and picks replay exactly.
        prng: createPrng(spec.seed).fork('requests'),
        log: (line) => this.o.log?.(line),
        env: this.o.env ?? process.env,
        executionSegment: spec.segment,
      };
      const def = engines[spec.engine];
      this.engine = (this.o.createEngine ?? def.create)(ctx);
      if (spec.preflight && !this.o.createEngine) await def.preflight({ scenario, env: ctx.env });
    } catch (err) {
      this.fail((err as Error).message);
      return;
    }
    if ((this.phase as string) !== 'preparing') return;
    this.phase = 'ready';
    this.o.send({ type: 'ready', host: this.o.host ?? hostname(), pid: process.pid });
  }

  /** The coordinator's scenario with this segment's share of connections and backlog. */
  private scenarioFor(spec: RunSpec): Scenario {
    const files = Object.keys(spec.files).length > 0;
    if (files) this.workDir = mkdtempSync(join(tmpdir(), 'chaoskit-runner-'));
    const s = unpackScenario(spec.scenario, spec.files, this.workDir ?? tmpdir());
    return {
      ...s,
      spec: {
        ...s.spec,
        load: { ...s.spec.load, connections: spec.connections, maxBacklog: spec.maxBacklog },
      },
    };
  }

  private fail(message: string): void {
    this.o.send({ type: 'failed', message });
    this.end(2, message);
  }

  private async warmUp(): Promise<void> {
    const eng = this.engine;
    if (!eng || this.phase !== 'ready') return;
    const r = await eng.warmUp();
    this.o.send({ type: 'warmedUp', report: r ?? { requests: 0, failed: 0, durationMs: 0, cutShort: null } });
  }

  private scheduleStart(localWallT0: number): void {
    if (this.phase !== 'ready' || !this.engine) return;
    this.phase = 'starting';
    const wait = localWallT0 - this.clock.wallNow();
    this.startTimer = this.clock.setTimeout(() => this.begin(), Math.max(0, wait));
  }

  private begin(): void {
    this.startTimer = null;
    const eng = this.engine!;
    const store = this.store!;
    if (this.phase !== 'starting') return;
    this.phase = 'running';
    this.monitor = startSelfMonitor();
    this.monitor.sample();
    const done = eng.start();
    if (this.stopRequested) eng.stop();
    let second = 0;
    let last = eng.now();
    this.ticker = every(this.clock, 1000, () => {
      const now = eng.now();
      const gen = this.monitor!.sample();
      if (now - last > 2_500) {
        // This process did not run (SIGSTOP, a frozen VM): those seconds measured nothing.
        const stalled = {
          ...gen,
          saturated: true,
          reasons: [`generator stalled for ${Math.round(now - last)} ms`],
        };
        for (let t = second; t < Math.floor(now / 1000) - 1; t++) store.generator(t, stalled);
        second = Math.max(second, Math.floor(now / 1000) - 1);
      }
      last = now;
      store.generator(second++, gen);
    });
    this.reporter = every(this.clock, REPORT_MS, () => this.report());
    done.then(
      (outcome) => this.finish(outcome),
      (err: unknown) => this.fail(`the load failed: ${(err as Error).message}`),
    );
  }

  private report(): void {
    const eng = this.engine!;
    const store = this.store!;
    const seconds = this.ship(store.finalizeReadyForMerge(eng.arrivalsThroughMs));
    const throughMs = Math.min(eng.arrivalsThroughMs, store.openFrom * 1000, ALL_MS);
    const outstanding = new Map<number, number>();
    eng.outstanding((intendedMs) => {
      const k = Math.floor(intendedMs / OUTSTANDING_GRAIN_MS) * OUTSTANDING_GRAIN_MS;
      outstanding.set(k, (outstanding.get(k) ?? 0) + 1);
    });
    const withProfiles = this.reports++ % 4 === 0;
    this.o.send({
      type: 'report',
      throughMs,
      seconds,
      window: wireWindow(store.takeWindow()),
      outstanding: [...outstanding],
      ...(withProfiles ? { profiles: store.profiles.summary() } : {}),
    });
  }

  private ship(list: MergeableSecond[]): MergeableSecond[] {
    const out = list.filter((m) => !this.shipped.has(m.second.t));
    for (const m of out) this.shipped.add(m.second.t);
    return out;
  }

  private stop(): void {
    this.stopRequested = true;
    if (this.phase === 'running') {
      this.engine?.stop();
      return;
    }
    if (this.phase === 'ready' || this.phase === 'starting' || this.phase === 'preparing') {
      // Stopped before t0: nothing was sent; say so, so the coordinator does not wait.
      this.clock.clearTimeout(this.startTimer);
      this.engine?.stop();
      this.phase = 'done';
      this.o.send({
        type: 'done',
        outcome: {
          ended: 'stopped',
          durationMs: 0,
          sent: 0,
          completed: 0,
          dropped: 0,
          cancelled: 0,
          notSent: 0,
        },
        seconds: [],
        window: wireWindow(null),
        profiles: null,
        warnings: [],
      });
    }
  }

  private finish(outcome: Awaited<ReturnType<LoadEngine['start']>>): void {
    if (this.phase !== 'running') return;
    this.reporter?.stop();
    this.ticker?.stop();
    this.monitor?.stop();
    const eng = this.engine!;
    const store = this.store!;
    this.phase = 'done';
    const spec = this.spec!;
    const seconds = Math.ceil(eng.timelineMs(spec.plan.durationMs, outcome.durationMs) / 1000);
    const { warmUp: _w, ...rest } = outcome;
    void _w;
    this.o.send({
      type: 'done',
      outcome: rest,
      seconds: this.ship(store.timelineForMerge(Math.max(1, seconds))),
      window: wireWindow(store.takeWindow()),
      profiles: store.profiles.summary(),
      warnings: eng.warnings(),
    });
  }

  private end(code: 0 | 2 | 3, why: string): void {
    if (this.phase === 'over') return;
    this.phase = 'over';
    this.clock.clearTimeout(this.startTimer);
    this.reporter?.stop();
    this.ticker?.stop();
    this.monitor?.stop();
    if (this.workDir) rmSync(this.workDir, { recursive: true, force: true });
    this.o.onEnd(code, why);
  }
}

/** A live window as it travels (its histogram encoded; the window object itself is reused). */
export function wireWindow(w: LiveWindow | null): MergeableWindow {
  if (!w) return { ok: 0, failed: 0, dropped: 0, arrivals: 0, achieved: 0, errors: {}, latency: null };
  return {
    ok: w.ok,
    failed: w.failed,
    dropped: w.dropped,
    arrivals: w.arrivals,
    achieved: w.achieved,
    errors: { ...w.errors },
    latency: w.latency.totalCount > 0 ? encode(w.latency) : null,
  };
}
