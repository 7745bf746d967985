/**
 * The open-model scheduler that every open-model engine (HTTP, gRPC, the simulated one in tests)
 * shares. Arrivals come from the plan's rate(t) and go out at their intended times whether or not
 * earlier requests have answered; the engine only knows how to send one request and how to abort
 * it. Every outcome is recorded here, so the accounting rules live in one place.
 *
 *   Arrivals ──due──> overdue by more than the stall bound? ──> dropped (generator stall)
 *                     in flight < concurrency? ──yes──> engine.dispatch(intended, now) ──> in flight
 *                          │ no                                                           │
 *                          └──> backlog (bounded ring) ──full──> dropped                  │
 *   in flight ──engine.complete(h, status, kind)──> ok | failed ──> next from the backlog ◄┘
 *             ──deadline passed (sweep)──────────> failed as timeout, engine.abort(h)
 *   last arrival ──> drain (bounded) ──> done
 *   stop() ──> backlog: not sent; in flight: cancelled; engine.abortAll() ──> done at once
 *
 * In-flight requests sit in doubly linked lists, one per timeout (requests with one timeout end
 * their deadlines in send order), so completion is O(1) and the sweep only looks at list heads.
 * Before start(), warmUp() sends the engine's unrecorded warm-up (src/load/warm-up.ts).
 */
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { LoadEngine } from './engine.ts';
import type { MetricsStore } from '../metrics/store.ts';
import { ArrivalPrng, Arrivals, arrivalUnit, seedFrom, type ExecutionSegment } from './arrivals.ts';
import type { ErrorKind } from './errors.ts';
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
  notSent: number;
  /** The warm-up before t = 0 (engines that have one; null when it did not run). */
  warmUp?: WarmUpReport | null;
}

export interface OpenModelOptions {
  segment: Segment;
  arrivals: 'even' | 'poisson';
  /** Requests in flight at most; arrivals beyond wait in the backlog. */
  concurrency: number;
  maxBacklog: number;
  /** Weights of the request mix, in order; pick() draws an index from them. */
  weights: readonly number[];
  prng: Prng;
  store: MetricsStore;
  clock: Clock;
  /** An arrival overdue by more than this when the loop reaches it was not sent by a stalled generator. */
  stallBoundMs?: number;
  /** Scale-out: only this segment of the stream's arrivals (src/load/arrivals.ts); all of them when absent. */
  executionSegment?: ExecutionSegment;
}

/** What an engine sends during the warm-up, or why it sends nothing. */
export type WarmUpSender = Pick<WarmUpDriver, 'send' | 'abandon'> | string;

/** Bookkeeping of one request in flight; engines' handler objects extend it. */
export class InFlight {
  intendedMs = 0;
  /** The arrival's index in the whole stream: what its request pick and template values are seeded by. */
  arrival = 0;
  sentMs = 0;
  /** When the request fails as a timeout whatever happens (send + the engine's timeout for it). */
  deadlineMs = 0;
  profile = 0;
  settled = false;
  /** In flight while the generator itself was stalled: its outcome and latency are unknown. */
  stalled = false;
  prev: InFlight | null = null;
  next: InFlight | null = null;
  list: InFlightList | null = null;
}

class InFlightList {
  head: InFlight | null = null;
  tail: InFlight | null = null;
  push(h: InFlight): void {
    h.list = this;
    h.prev = this.tail;
    h.next = null;
    if (this.tail) this.tail.next = h;
    else this.head = h;
    this.tail = h;
  }
  unlink(h: InFlight): void {
    if (h.list !== this) return;
    if (h.prev) h.prev.next = h.next;
    else this.head = h.next;
    if (h.next) h.next.prev = h.prev;
    else this.tail = h.prev;
    h.prev = h.next = null;
    h.list = null;
  }
}

/** The deadline sweep's period: a request ends at most this long after its deadline. */
const SWEEP_MS = 25;
const DUE_EPS_MS = 0.05;
/** Arrivals overdue by more than this were not sent by a stalled generator (a healthy one lags < 10 ms). */
export const DEFAULT_STALL_BOUND_MS = 250;

export abstract class OpenModelLoad implements LoadEngine {
  private readonly arrivals: Arrivals;
  private readonly cumWeights: Float64Array;
  private readonly backlog: Float64Array;
  /** The stream index of each arrival waiting in the backlog (beside its intended time). */
  private readonly backlogK: Float64Array;
  private readonly pickSeed: number;
  private readonly perArrival: ArrivalPrng;
  private bHead = 0;
  private bLen = 0;
  private inflight = 0;
  private readonly lists = new Map<number, InFlightList>();
  private nextAt: number;
  private t0 = 0;
  private timer: TimerHandle | null = null;
  private sweepTimer: TimerHandle | null = null;
  private drainTimer: TimerHandle | null = null;
  private draining = false;
  private stoppedEarly = false;
  private started = false;
  private settledAll = false;
  private resolveDone!: (o: LoadOutcome) => void;
  private readonly counts = { sent: 0, completed: 0, dropped: 0, cancelled: 0, notSent: 0 };
  private warmUpReport: WarmUpReport | null = null;
  /** Arrivals up to this time (load clock) have been processed. */
  private throughMs = 0;
  /** The last moment the scheduler was seen running (sweep, loop, a completion). */
  private lastAliveMs = 0;

  /** Notices a stall of the generator itself: nothing here ran for longer than the stall bound. */
  private alive(now: number): void {
    if (now - this.lastAliveMs > (this.m.stallBoundMs ?? DEFAULT_STALL_BOUND_MS) + SWEEP_MS)
      this.stalled(this.lastAliveMs);
    this.lastAliveMs = now;
  }
  protected stopping = false;
  protected readonly clock: Clock;
  protected readonly store: MetricsStore;
  readonly done: Promise<LoadOutcome>;

  constructor(private readonly m: OpenModelOptions) {
    let acc = 0;
    this.cumWeights = Float64Array.from(m.weights.map((w) => (acc += w)));
    this.arrivals = new Arrivals(m.segment, m.arrivals, m.prng.fork('arrivals'), m.executionSegment);
    this.pickSeed = seedFrom(m.prng.fork('picks'));
    this.perArrival = new ArrivalPrng(seedFrom(m.prng.fork('per-arrival')));
    this.backlog = new Float64Array(Math.max(1, m.maxBacklog));
    this.backlogK = new Float64Array(this.backlog.length);
    this.nextAt = this.arrivals.next();
    this.clock = m.clock;
    this.store = m.store;
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  /** A handler for one request of `profile` (its bookkeeping fields are set by the scheduler). */
  protected abstract create(profile: number): InFlight;
  /** Sends the request now; it must end through complete() (possibly synchronously). */
  protected abstract dispatch(h: InFlight): void;
  /** The request's time is up (its deadline, or stop()): let go of it; its outcome is recorded already. */
  protected abstract abort(h: InFlight): void;
  /** stop(): drop every connection (each request in flight was already recorded as cancelled). */
  protected abstract abortAll(): void;
  /** The load is over: let go of connections (`stopped`: abortAll() already ran). */
  protected abstract release(stopped: boolean): void;
  /** The engine's warm-up requests, or why it has none. */
  protected abstract warmUpSender(): WarmUpSender;
  /** Milliseconds a request of this profile may take from send to its last byte. */
  protected abstract timeoutFor(profile: number): number;
  /** Hears every request's end once its outcome is known (`kind` null: ok); not for cancelled ones. */
  protected onSettled(_h: InFlight, _endMs: number, _kind: ErrorKind | null): void {}

  /** Milliseconds since the load started. */
  now(): number {
    return this.clock.now() - this.t0;
  }

  /** Arrivals due up to this time have all been recorded (a second before it is complete in `requested`). */
  get arrivalsThroughMs(): number {
    return this.settledAll ? Number.POSITIVE_INFINITY : this.throughMs;
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
    // One segment of N warms up for its own share of the rate (on its own connections).
    const share = this.m.executionSegment?.count ?? 1;
    return runWarmUp({
      ...sender,
      requests:
        opts.requests ??
        Math.max(this.m.concurrency, Math.ceil(warmUpCount(this.m.segment, this.m.concurrency) / share)),
      concurrency: this.m.concurrency,
      budgetMs: opts.budgetMs ?? WARM_UP_BUDGET_MS,
      stopped: () => this.stopping,
    }).then((r) => (this.warmUpReport = { ...r, durationMs: performance.now() - t0 }));
  }

  start(): Promise<LoadOutcome> {
    this.t0 = this.clock.now();
    this.started = true;
    if (this.stopping) {
      this.maybeDone();
      return this.done;
    }
    this.loop();
    this.armSweep();
    return this.done;
  }

  /** Stops at once: no more arrivals; the backlog is not sent, requests in flight are cancelled. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    if (!this.draining) this.stoppedEarly = true;
    this.clock.clearTimeout(this.timer);
    this.clock.clearTimeout(this.sweepTimer);
    this.clock.clearTimeout(this.drainTimer);
    this.timer = this.sweepTimer = this.drainTimer = null;
    for (; this.bLen > 0; this.bLen--) {
      this.store.notSent(this.backlog[this.bHead]!);
      this.bHead = (this.bHead + 1) % this.backlog.length;
      this.counts.notSent++;
    }
    for (const list of this.lists.values()) {
      for (let h = list.head; h;) {
        const next = h.next;
        list.unlink(h);
        h.settled = true;
        this.inflight--;
        this.counts.cancelled++;
        this.store.cancel(h.intendedMs);
        h = next;
      }
    }
    this.abortAll();
    this.maybeDone();
  }

  /** Visits every arrival without an outcome: waiting in the backlog, or in flight. */
  outstanding(visit: (intendedMs: number, sentMs: number | null) => void): void {
    for (let i = 0; i < this.bLen; i++) visit(this.backlog[(this.bHead + i) % this.backlog.length]!, null);
    for (const list of this.lists.values())
      for (let h = list.head; h; h = h.next) visit(h.intendedMs, h.sentMs);
  }

  get inFlight(): number {
    return this.inflight;
  }

  warnings(): string[] {
    return [];
  }

  timelineMs(planMs: number, ranMs: number): number {
    return Math.min(planMs, ranMs);
  }

  extras(): ReturnType<LoadEngine['extras']> {
    return {};
  }

  private readonly loop = (): void => {
    this.timer = null;
    if (this.stopping) return;
    const now = this.now();
    this.alive(now);
    const store = this.store;
    const stallBound = this.m.stallBoundMs ?? DEFAULT_STALL_BOUND_MS;
    // An arrival due within the next 50 µs goes now: a turn of the loop costs more than that.
    while (this.nextAt <= now + DUE_EPS_MS) {
      const intended = this.nextAt;
      const k = this.arrivals.index;
      store.arrival(intended);
      if (now - intended > stallBound) {
        // The generator itself was stopped (SIGSTOP, a frozen VM): these were never sent on time,
        // and sending them all now would be a burst nobody planned, blamed on the target.
        store.drop(intended, true);
        this.counts.dropped++;
      } else if (this.inflight < this.m.concurrency) this.send(intended, k, now);
      else if (this.bLen < this.m.maxBacklog) {
        const at = (this.bHead + this.bLen++) % this.backlog.length;
        this.backlog[at] = intended;
        this.backlogK[at] = k;
      } else {
        store.drop(intended);
        this.counts.dropped++;
      }
      this.nextAt = this.arrivals.next();
    }
    this.throughMs = Math.min(now, this.m.segment.durationMs);
    // A gauge is kept inside the plan: a loop turn just past the end opens no second of its own.
    store.gauge(Math.min(now, this.m.segment.durationMs - 1), this.bLen, this.inflight);
    if (!Number.isFinite(this.nextAt)) {
      this.throughMs = this.m.segment.durationMs;
      this.beginDrain();
      return;
    }
    const wait = this.nextAt - this.now();
    // Timers fire ~1 ms late: sleep to just before a far arrival. A near one (under 2 ms) gets a
    // 1 ms sleep too, sent late with its own intended time: spinning instead took a whole core at
    // any rate above ~700/s and flagged every second as saturated (docs/benchmarks.md).
    this.timer = this.clock.setTimeout(this.loop, wait > 2 ? Math.floor(wait - 1) : 1);
  };

  private send(intendedMs: number, k: number, nowMs: number): void {
    const profile = this.pick(k);
    this.inflight++;
    this.counts.sent++;
    this.store.send(intendedMs, nowMs);
    this.store.profiles.sent(profile);
    const timeout = this.timeoutFor(profile);
    let list = this.lists.get(timeout);
    if (!list) this.lists.set(timeout, (list = new InFlightList()));
    const h = this.create(profile);
    h.intendedMs = intendedMs;
    h.arrival = k;
    h.sentMs = nowMs;
    h.profile = profile;
    h.deadlineMs = nowMs + timeout;
    list.push(h);
    this.dispatch(h);
  }

  /** A request of the mix, by weight, drawn for arrival k (the same whichever segment sends it). */
  private pick(k: number): number {
    const w = this.cumWeights;
    if (w.length === 1) return 0;
    const x = arrivalUnit(this.pickSeed, k) * w[w.length - 1]!;
    let i = 0;
    while (w[i]! <= x) i++;
    return i;
  }

  /** The generator for what request `h` draws (template values): seeded by its arrival, reused. */
  protected requestPrng(h: InFlight): Prng {
    return this.perArrival.at(h.arrival);
  }

  /**
   * The engine calls this once per request when it ends: `status` the response's (0: none), `kind`
   * the error kind if it failed. A request that ends after its deadline is a timeout, whatever it
   * answered. Calls after the request was settled (by its deadline or stop()) are ignored.
   */
  protected complete(h: InFlight, status: number, kind: ErrorKind | null): void {
    if (h.settled) return;
    const end = this.now();
    this.alive(end);
    this.settle(h, end, end > h.deadlineMs ? 'timeout' : kind, status);
  }

  private settle(h: InFlight, endMs: number, kind: ErrorKind | null, status: number): void {
    h.settled = true;
    h.list?.unlink(h);
    this.inflight--;
    if (h.stalled) {
      // Whatever it answered, when it ended is unknown (the generator was not running to see):
      // neither a success nor a failure of the target, and no latency.
      this.counts.cancelled++;
      this.store.cancel(h.intendedMs);
      this.next(endMs);
      return;
    }
    this.counts.completed++;
    this.store.result(h.intendedMs, h.sentMs, endMs, kind === 'timeout' ? 0 : status, kind);
    this.store.profiles.result(h.profile, endMs - h.intendedMs, kind === null && !(status >= 400));
    this.onSettled(h, endMs, kind);
    this.next(endMs);
  }

  /** A slot is free: the oldest waiting arrival goes out. */
  private next(nowMs: number): void {
    if (this.bLen > 0 && !this.stopping) {
      const intended = this.backlog[this.bHead]!;
      const k = this.backlogK[this.bHead]!;
      this.bHead = (this.bHead + 1) % this.backlog.length;
      this.bLen--;
      this.send(intended, k, nowMs);
    }
    this.maybeDone();
  }

  /**
   * The sweep did not run for longer than the stall bound: the generator itself was stopped.
   * Requests in flight since before the stall have unknown latency; arrivals that waited through
   * it in the backlog are overdue by the stall: both are the generator's, not the target's.
   */
  private stalled(lastRunMs: number): void {
    for (const list of this.lists.values())
      for (let h = list.head; h; h = h.next) if (h.sentMs <= lastRunMs) h.stalled = true;
    for (; this.bLen > 0; this.bLen--) {
      this.store.drop(this.backlog[this.bHead]!, true);
      this.bHead = (this.bHead + 1) % this.backlog.length;
      this.counts.dropped++;
    }
  }

  /** Requests past their deadline fail as timeouts now (the engine is told to let go of them). */
  private readonly sweep = (): void => {
    this.sweepTimer = null;
    if (this.stopping) return;
    const now = this.now();
    this.alive(now);
    for (const list of this.lists.values()) {
      for (let h = list.head; h && h.deadlineMs <= now; h = list.head) {
        this.settle(h, now, 'timeout', 0);
        this.abort(h);
      }
    }
    this.armSweep();
  };

  private armSweep(): void {
    if (this.stopping || this.settledAll) return;
    this.sweepTimer = this.clock.setTimeout(this.sweep, SWEEP_MS);
  }

  /** After the last arrival: in flight and backlog drain by their deadlines, bounded all the same. */
  private beginDrain(): void {
    this.draining = true;
    this.maybeDone();
    if (this.settledAll) return;
    let longest = 0;
    for (const t of this.lists.keys()) longest = Math.max(longest, t);
    // Every request in flight ends by its deadline; the backlog behind them gets one more timeout.
    this.drainTimer = this.clock.setTimeout(() => this.stop(), 2 * longest + 1000);
  }

  private maybeDone(): void {
    if (this.settledAll || !this.started) return;
    const done = this.stopping
      ? this.inflight === 0
      : this.draining && this.inflight === 0 && this.bLen === 0;
    if (!done) return;
    this.settledAll = true;
    this.clock.clearTimeout(this.sweepTimer);
    this.clock.clearTimeout(this.drainTimer);
    this.release(this.stopping);
    this.resolveDone({
      ended: this.stoppedEarly ? 'stopped' : 'completed',
      durationMs: this.now(),
      ...this.counts,
      warmUp: this.warmUpReport,
    });
  }
}
