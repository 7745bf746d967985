/**
 * The open-model scheduler that every open-model engine (HTTP, gRPC) shares. Arrivals come from
 * the plan's rate(t) and go out at their intended times whether or not earlier requests have
 * answered; the engine only knows how to send one request and how to end them all.
 *
 *   Arrivals ──due──> in flight < concurrency? ──yes──> engine.dispatch(intended, now)
 *                          │ no                          ... engine.ended(...) ──> next from the backlog
 *                          └──> backlog (bounded ring) ──full──> dropped
 *   last arrival ──> drain (bounded by drainTimeoutMs) ──> done
 *   stop() ──> backlog cancelled, engine.abortAll() (its in-flight requests end as cancelled) ──> done
 *
 * Before start(), warmUp() sends the engine's unrecorded warm-up (src/load/warm-up.ts).
 */
import { EventEmitter } from 'node:events';
import type { MetricsStore } from '../metrics/store.ts';
import { Arrivals } from './arrivals.ts';
import type { Segment } from './patterns.ts';
import type { Prng } from './prng.ts';
import {
  runWarmUp,
  WARM_UP_BUDGET_MS,
  warmUpCount,
  type WarmUpDriver,
  type WarmUpReport,
} from './warm-up.ts';

export interface LoadOutcome {
  /** Why the load ended. */
  ended: 'completed' | 'stopped';
  durationMs: number;
  sent: number;
  completed: number;
  dropped: number;
  cancelled: number;
  /** The warm-up before t = 0 (engines that have one; null when it did not run). */
  warmUp?: WarmUpReport | null;
}

export interface OpenModelEvents {
  tick: [nowMs: number];
}

export interface OpenModelOptions {
  segment: Segment;
  arrivals: 'even' | 'poisson';
  /** Requests in flight at most; arrivals beyond wait in the backlog. */
  concurrency: number;
  maxBacklog: number;
  /** After the last arrival, how long in-flight requests may take before they are stopped. */
  drainTimeoutMs: number;
  /** Weights of the request mix, in order; pick() draws an index from them. */
  weights: readonly number[];
  prng: Prng;
  store: MetricsStore;
}

/** What an engine sends during the warm-up, or why it sends nothing. */
export type WarmUpSender = Pick<WarmUpDriver, 'send' | 'abandon'> | string;

export abstract class OpenModelLoad extends EventEmitter<OpenModelEvents> {
  private readonly arrivals: Arrivals;
  private readonly cumWeights: Float64Array;
  private readonly backlog: Float64Array;
  private bHead = 0;
  private bLen = 0;
  private inflight = 0;
  private nextAt: number;
  private t0 = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private draining = false;
  private stoppedEarly = false;
  private settled = false;
  private resolveDone!: (o: LoadOutcome) => void;
  private readonly counts = { sent: 0, completed: 0, dropped: 0, cancelled: 0 };
  private warmUpReport: WarmUpReport | null = null;
  protected stopping = false;
  /** The set of active faults outcomes of requests sent now are attributed to. */
  protected faultKey = '';
  readonly done: Promise<LoadOutcome>;

  constructor(private readonly m: OpenModelOptions) {
    super();
    let acc = 0;
    this.cumWeights = Float64Array.from(m.weights.map((w) => (acc += w)));
    this.arrivals = new Arrivals(m.segment, m.arrivals, m.prng.fork('arrivals'));
    this.backlog = new Float64Array(Math.max(1, m.maxBacklog));
    this.nextAt = this.arrivals.next();
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  /** Sends one request now (the scheduler has counted it in flight); it must end in ended(). */
  protected abstract dispatch(intendedMs: number, nowMs: number): void;
  /** stop(): end every request in flight; each still reports through ended(). */
  protected abstract abortAll(): void;
  /** The load is over: let go of connections (`stopped`: abortAll() already ran). */
  protected abstract release(stopped: boolean): void;
  /** The engine's warm-up requests, or why it has none. */
  protected abstract warmUpSender(): WarmUpSender;

  /** Milliseconds since the load started. */
  now(): number {
    return performance.now() - this.t0;
  }

  /** Outcomes of requests sent from now on are attributed to this set of active faults. */
  setFaultKey(key: string): void {
    this.faultKey = key;
  }

  /**
   * Before start(): about two seconds' worth of the first second's rate (at least one per
   * connection, at most 5,000), `concurrency` at a time, recorded nowhere. Ends early when the
   * target does not answer and gives up after `budgetMs`; never throws.
   */
  warmUp(opts: { requests?: number; budgetMs?: number } = {}): Promise<WarmUpReport> {
    const t0 = performance.now();
    const sender = this.stopping ? 'the load was stopped' : this.warmUpSender();
    if (typeof sender === 'string') {
      this.warmUpReport = { requests: 0, failed: 0, durationMs: 0, cutShort: sender };
      return Promise.resolve(this.warmUpReport);
    }
    return runWarmUp({
      ...sender,
      requests: opts.requests ?? warmUpCount(this.m.segment, this.m.concurrency),
      concurrency: this.m.concurrency,
      budgetMs: opts.budgetMs ?? WARM_UP_BUDGET_MS,
      stopped: () => this.stopping,
    }).then((r) => (this.warmUpReport = { ...r, durationMs: performance.now() - t0 }));
  }

  start(): Promise<LoadOutcome> {
    this.t0 = performance.now();
    this.loop();
    return this.done;
  }

  /** Stops at once: no more arrivals; backlog and in-flight requests are cancelled. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    if (!this.draining) this.stoppedEarly = true;
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = null;
    }
    for (; this.bLen > 0; this.bLen--) {
      this.m.store.cancel(this.backlog[this.bHead]!);
      this.bHead = (this.bHead + 1) % this.backlog.length;
      this.counts.cancelled++;
    }
    this.abortAll();
    this.maybeDone();
  }

  private readonly loop = (): void => {
    this.timer = null;
    if (this.stopping) return;
    const now = this.now();
    const store = this.m.store;
    while (this.nextAt <= now) {
      const intended = this.nextAt;
      store.arrival(intended);
      if (this.inflight < this.m.concurrency) this.send(intended, now);
      else if (this.bLen < this.m.maxBacklog) {
        this.backlog[(this.bHead + this.bLen++) % this.backlog.length] = intended;
      } else {
        store.drop(intended);
        this.counts.dropped++;
      }
      this.nextAt = this.arrivals.next();
    }
    store.gauge(now, this.bLen, this.inflight);
    this.emit('tick', now);
    if (!Number.isFinite(this.nextAt)) {
      this.beginDrain();
      return;
    }
    const wait = this.nextAt - this.now();
    // Timers fire ~1 ms late: sleep to just before a far arrival. A near one (under 1.5 ms) gets a
    // 1 ms sleep too, sent late with its own intended time: spinning instead took a whole core at
    // any rate above ~700/s and flagged every second as saturated (docs/benchmarks.md). Only an
    // arrival about to fall due is worth a turn of the event loop.
    this.timer =
      wait > 1.5
        ? setTimeout(this.loop, Math.floor(wait - 1))
        : wait > 0.05
          ? setTimeout(this.loop, 1)
          : setImmediate(this.loop);
  };

  private send(intendedMs: number, nowMs: number): void {
    this.inflight++;
    this.counts.sent++;
    this.dispatch(intendedMs, nowMs);
  }

  /** A request of the mix, by weight. */
  protected pick(): number {
    const w = this.cumWeights;
    if (w.length === 1) return 0;
    const x = this.m.prng.next() * w[w.length - 1]!;
    let i = 0;
    while (w[i]! <= x) i++;
    return i;
  }

  /**
   * The engine calls this once per dispatched request, after recording its outcome (unless
   * `cancelled`: it was ended by stop(), and counts as cancelled). Frees its slot for the backlog.
   */
  protected ended(intendedMs: number, endMs: number, cancelled: boolean): void {
    this.inflight--;
    if (cancelled) {
      this.m.store.cancel(intendedMs);
      this.counts.cancelled++;
    } else this.counts.completed++;
    if (this.bLen > 0 && !this.stopping) {
      const intended = this.backlog[this.bHead]!;
      this.bHead = (this.bHead + 1) % this.backlog.length;
      this.bLen--;
      this.send(intended, endMs);
    }
    this.maybeDone();
  }

  /** After the last arrival: wait for in-flight and backlog to drain, bounded by drainTimeoutMs. */
  private beginDrain(): void {
    this.draining = true;
    this.maybeDone();
    if (!this.settled) setTimeout(() => this.stop(), this.m.drainTimeoutMs).unref();
  }

  private maybeDone(): void {
    if (this.settled) return;
    const done = this.stopping
      ? this.inflight === 0
      : this.draining && this.inflight === 0 && this.bLen === 0;
    if (!done) return;
    this.settled = true;
    this.release(this.stopping);
    this.resolveDone({
      ended: this.stoppedEarly ? 'stopped' : 'completed',
      durationMs: this.now(),
      ...this.counts,
      warmUp: this.warmUpReport,
    });
  }
}
