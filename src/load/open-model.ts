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
 * With flows or the closed model (src/load/sessions.ts), an arrival starts a session whose later
 * steps come due when the previous one ended plus think time; they wait in a due queue
 * (src/load/due-queue.ts) that the same loop serves, and each is an arrival of its own when it
 * comes due: recorded in that second, sent, backlogged or dropped like any other. Sessions still
 * running when the pattern ends get `gracefulStop` to finish before the drain stops the load.
 *
 * In-flight requests sit in doubly linked lists, one per timeout (requests with one timeout end
 * their deadlines in send order), so completion is O(1) and the sweep only looks at list heads.
 * Before start(), warmUp() sends the engine's unrecorded warm-up (src/load/warm-up.ts).
 */
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { LoadEngine } from './engine.ts';
import type { MetricsStore } from '../metrics/store.ts';
import { ArrivalPrng, Arrivals, arrivalUnit, seedFrom, type ExecutionSegment } from './arrivals.ts';
import { DueQueue } from './due-queue.ts';
import { classifyStatus, type ErrorKind } from '../core/error-kinds.ts';
import type { ThinkDist } from '../scenario/flow-schema.ts';
import type { Segment } from '../scenario/patterns.ts';
import type { Prng } from './prng.ts';
import { SessionRecorder, type SessionsResult } from './session-metrics.ts';
import { SessionDriver, type Session, type SessionHost, type User } from './sessions.ts';
import { hasFlows, type Workload } from './workload.ts';
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
  /** Weights of the request mix, in order; pick() draws an index from them (ignored with `workload`). */
  weights: readonly number[];
  /** The compiled mix with flows and data (src/load/workload.ts): sessions are run when it has flows. */
  workload?: Workload;
  /** closed: `segment` is a number of virtual users over time, each looping the mix (needs `workload`). */
  model?: 'open' | 'closed';
  /** Closed model: a user's pause after each pass through the mix. */
  think?: ThinkDist;
  /** How long sessions still running when the pattern ends may go on (default 30 s). */
  gracefulStopMs?: number;
  /** Where sessions and feeders report what the result must say (data ran out). */
  warn?: (w: string) => void;
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
  /** The session this request is a step of (its captured values and data row), or null. */
  session: Session | null = null;
  settled = false;
  /** In flight while the generator itself was stalled: its outcome and latency are unknown. */
  stalled = false;
  prev: InFlight | null = null;
  next: InFlight | null = null;
  list: InFlightList | null = null;
}

class InFlightList {
  constructor(readonly timeoutMs: number) {}
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
/** The closed model adjusts its number of users at least this often. */
export const USERS_TICK_MS = 50;
export const DEFAULT_GRACEFUL_STOP_MS = 30_000;

export abstract class OpenModelLoad implements LoadEngine {
  private readonly arrivals: Arrivals;
  private readonly cumWeights: Float64Array;
  private readonly backlog: Float64Array;
  private readonly bProfile: Int32Array;
  /** The stream index of each arrival waiting in the backlog (beside its intended time). */
  private readonly backlogK: Float64Array;
  private readonly pickSeed: number;
  private readonly perArrival: ArrivalPrng;
  private readonly sessionPrng: Prng;
  private readonly bSession: (Session | null)[] | null;
  private bHead = 0;
  private bLen = 0;
  private inflight = 0;
  private readonly lists = new Map<number, InFlightList>();
  /** Each profile's list (its timeout is fixed): send() looks it up without a Map. */
  private readonly listOf: (InFlightList | undefined)[] = [];
  private nextAt: number;
  private t0 = 0;
  private timer: TimerHandle | null = null;
  /** When the loop's timer fires (load clock); Infinity when none is armed. */
  private wakeAt = Number.POSITIVE_INFINITY;
  private readonly due = new DueQueue();
  /** Sessions and virtual users (null: a plain mix, nothing but requests). */
  private readonly driver: SessionDriver | null = null;
  private readonly sessions: SessionRecorder | null = null;
  private readonly closed: boolean;
  private patternOver = false;
  /** Nesting of dispatch(): a step due now that ends inside one waits in the due queue instead. */
  private depth = 0;
  private pumping = false;
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
    const wl = m.workload;
    this.cumWeights = Float64Array.from(
      (wl ? wl.mix.map((x) => x.weight) : m.weights).map((w) => (acc += w)),
    );
    this.closed = m.model === 'closed';
    // The closed model's segment counts users, not arrivals: users start passes, not the pattern.
    const seg = this.closed ? { ...m.segment, integral: () => 0 } : m.segment;
    this.arrivals = new Arrivals(seg, m.arrivals, m.prng.fork('arrivals'), m.executionSegment);
    this.pickSeed = seedFrom(m.prng.fork('picks'));
    this.perArrival = new ArrivalPrng(seedFrom(m.prng.fork('per-arrival')));
    this.sessionPrng = m.prng.fork('bodies');
    this.backlog = new Float64Array(Math.max(1, m.maxBacklog));
    this.bProfile = new Int32Array(this.backlog.length);
    this.backlogK = new Float64Array(this.backlog.length);
    this.nextAt = this.arrivals.next();
    this.clock = m.clock;
    this.store = m.store;
    this.done = new Promise((r) => (this.resolveDone = r));
    const sessionsNeeded = !!wl && (hasFlows(wl) || this.closed || wl.data.length > 0);
    this.bSession = sessionsNeeded ? new Array<Session | null>(this.backlog.length).fill(null) : null;
    if (wl) {
      const named = wl.profiles.length > 1 || hasFlows(wl) || m.store.profiles.active;
      if (named || wl.profiles.some((p) => p.name !== `${p.request.method} ${p.request.path.source}`))
        m.store.profiles.define(
          wl.profiles.map((p) => p.name),
          wl.profiles,
        );
    }
    if (sessionsNeeded) {
      const flows = wl.flows;
      this.sessions = new SessionRecorder(
        flows.map((f) => f.name),
        flows.map((f) => f.steps.map((p) => wl.profiles[p]!.step ?? wl.profiles[p]!.name)),
        this.closed ? 'closed' : 'open',
        (a, b) => m.store.phaseOf(a, b),
      );
      this.driver = new SessionDriver({
        workload: wl,
        model: this.closed ? 'closed' : 'open',
        ...(this.closed ? { users: m.segment } : {}),
        ...(m.think ? { think: m.think } : {}),
        prng: m.prng.fork('sessions'),
        recorder: this.sessions,
        host: this.host,
        warn: (w) => this.notes.push(w),
      });
    }
  }

  /** What the run must say about this load (data that ran out, …). */
  protected readonly notes: string[] = [];

  private readonly host: SessionHost = {
    request: (dueMs, profile, session) => this.request(dueMs, profile, session),
    wake: (dueMs, user) => this.enqueue(dueMs, -1, null, user),
    refuse: (atMs, profile) => {
      this.store.arrival(atMs);
      this.store.notSent(atMs);
      this.store.profiles.arrival(profile);
      this.store.profiles.notSent(profile);
      this.counts.notSent++;
    },
  };

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
    return this.settledAll ? Number.POSITIVE_INFINITY : Math.min(this.throughMs, this.due.nextMs);
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
      // One segment of N warms up for its own share of the rate (on its own connections).
      requests:
        opts.requests ??
        Math.max(
          this.m.concurrency,
          Math.ceil(warmUpCount(this.m.segment, this.m.concurrency) / (this.m.executionSegment?.count ?? 1)),
        ),
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
    const now = this.now();
    const profiles = this.store.profiles;
    for (; this.bLen > 0; this.bLen--) {
      this.store.notSent(this.backlog[this.bHead]!);
      profiles.notSent(this.bProfile[this.bHead]!);
      if (this.bSession) this.bSession[this.bHead] = null;
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
        profiles.cancelled(h.profile);
        h = next;
      }
    }
    // Steps already due when the load stopped were requested and not sent; later ones never came due.
    this.due.drain((d) => {
      if (d.profile < 0 || d.dueMs > now || d.session?.ended) return;
      this.store.arrival(d.dueMs);
      this.store.notSent(d.dueMs);
      profiles.arrival(d.profile);
      profiles.notSent(d.profile);
      this.counts.notSent++;
    });
    this.driver?.stopAll(now);
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
    return [...this.notes];
  }

  timelineMs(planMs: number, ranMs: number): number {
    return Math.min(planMs, ranMs);
  }

  extras(): ReturnType<LoadEngine['extras']> {
    const sessions = this.sessionsResult();
    return sessions ? { sessions } : {};
  }

  /** Sessions, concurrency and data feeders over the run (null: a plain mix). */
  sessionsResult(): SessionsResult | null {
    if (!this.sessions || !this.driver) return null;
    return (this.sessionsSummary ??= this.sessions.summary(
      this.endMs ?? this.now(),
      this.driver.feederStats,
    ));
  }
  private sessionsSummary: SessionsResult | null = null;
  private endMs: number | null = null;

  private readonly loop = (): void => {
    this.timer = null;
    this.wakeAt = Number.POSITIVE_INFINITY;
    if (this.stopping) return;
    const now = this.now();
    this.alive(now);
    const store = this.store;
    const stallBound = this.m.stallBoundMs ?? DEFAULT_STALL_BOUND_MS;
    const durationMs = this.m.segment.durationMs;
    if (this.closed && !this.patternOver) this.driver?.tick(Math.min(now, durationMs));
    // An arrival due within the next 50 µs goes now: a turn of the loop costs more than that.
    for (;;) {
      const stepAt = this.due.nextMs;
      if (this.nextAt <= stepAt) {
        if (this.nextAt > now + DUE_EPS_MS) break;
        const intended = this.nextAt;
        const k = this.arrivals.index;
        this.nextAt = this.arrivals.next();
        if (this.driver) {
          // The mix entry is drawn for arrival k, whichever segment runs it.
          this.driver.arrival(intended, null, arrivalUnit(this.pickSeed, k), k);
          continue;
        }
        const profile = this.pick(k);
        store.arrival(intended);
        store.profiles.arrival(profile);
        this.admit(intended, profile, null, now, stallBound, k);
      } else {
        if (stepAt > now + DUE_EPS_MS) break;
        this.popDue(now, stallBound);
      }
    }
    // A gauge is kept inside the plan: a loop turn just past the end opens no second of its own
    // (sessions draining after it have seconds of their own, which stay open until the end).
    if (!this.patternOver) {
      this.throughMs = Math.min(now, durationMs);
      store.gauge(Math.min(now, durationMs - 1), this.bLen, this.inflight);
    } else if (this.driver) store.gauge(now, this.bLen, this.inflight);
    const arrivalsOver = this.closed ? now >= durationMs : !Number.isFinite(this.nextAt);
    if (arrivalsOver && !this.patternOver) {
      if (this.closed) this.driver?.tick(durationMs);
      this.patternOver = true;
      this.throughMs = durationMs;
      this.driver?.patternEnded(Math.max(now, durationMs), this.m.gracefulStopMs ?? DEFAULT_GRACEFUL_STOP_MS);
      this.beginDrain();
      if (this.settledAll || this.stopping) return;
    }
    let wakeAt = Math.min(this.nextAt, this.due.nextMs);
    if (this.closed && !this.patternOver) wakeAt = Math.min(wakeAt, now + USERS_TICK_MS, durationMs);
    if (Number.isFinite(wakeAt)) this.armAt(wakeAt, now);
  };

  /** Arms the loop's timer for `atMs` (load clock). */
  private armAt(atMs: number, now: number): void {
    this.clock.clearTimeout(this.timer);
    this.wakeAt = atMs;
    const wait = atMs - now;
    // Timers fire ~1 ms late: sleep to just before a far arrival. A near one (under 2 ms) gets a
    // 1 ms sleep too, sent late with its own intended time: spinning instead took a whole core at
    // any rate above ~700/s and flagged every second as saturated (docs/benchmarks.md).
    this.timer = this.clock.setTimeout(this.loop, wait > 2 ? Math.floor(wait - 1) : 1);
  }

  /** The earliest waiting step (or user wake-up) came due. */
  private popDue(now: number, stallBound: number): void {
    const d = this.due.pop()!;
    if (d.user) {
      this.driver!.wake(d.user, d.dueMs);
      return;
    }
    if (d.session?.ended) return;
    this.store.arrival(d.dueMs);
    this.store.profiles.arrival(d.profile);
    this.admit(d.dueMs, d.profile, d.session, now, stallBound, d.session?.arrival ?? 0);
  }

  /** Steps that came due while a request was being dispatched (they wait for the dispatch to end). */
  private pumpDue(): void {
    if (this.pumping || this.stopping) return;
    this.pumping = true;
    try {
      const now = this.now();
      const stallBound = this.m.stallBoundMs ?? DEFAULT_STALL_BOUND_MS;
      while (this.due.nextMs <= now + DUE_EPS_MS && !this.stopping) this.popDue(now, stallBound);
    } finally {
      this.pumping = false;
    }
  }

  /** A request of a session comes due at `dueMs`: now, or later from the due queue. */
  private request(dueMs: number, profile: number, session: Session | null): void {
    if (this.stopping) return;
    const now = this.now();
    if (dueMs <= now + DUE_EPS_MS && this.depth === 0 && !this.pumping) {
      this.store.arrival(dueMs);
      this.store.profiles.arrival(profile);
      this.admit(
        dueMs,
        profile,
        session,
        now,
        this.m.stallBoundMs ?? DEFAULT_STALL_BOUND_MS,
        session?.arrival ?? 0,
      );
      return;
    }
    this.enqueue(dueMs, profile, session, null);
  }

  private enqueue(dueMs: number, profile: number, session: Session | null, user: User | null): void {
    if (this.stopping) return;
    this.due.push(dueMs, profile, session, user);
    if (this.started && this.timer !== null && dueMs < this.wakeAt) this.armAt(dueMs, this.now());
    else if (this.started && this.timer === null && !this.pumping && this.depth === 0)
      this.armAt(dueMs, this.now());
  }

  /** An arrival (recorded already) is sent, waits in the backlog, or is dropped. */
  private admit(
    intendedMs: number,
    profile: number,
    session: Session | null,
    now: number,
    stallBound: number,
    k: number,
  ): void {
    if (now - intendedMs > stallBound) {
      // The generator itself was stopped (SIGSTOP, a frozen VM): these were never sent on time,
      // and sending them all now would be a burst nobody planned, blamed on the target. Their
      // sessions stop: the generator cut them, not the target.
      this.store.drop(intendedMs, true);
      this.store.profiles.dropped(profile, null);
      this.counts.dropped++;
      if (session) this.driver!.stepAbandoned(session, now);
    } else if (this.inflight < this.m.concurrency) this.send(intendedMs, profile, session, now, k);
    else if (this.bLen < this.m.maxBacklog) {
      const i = (this.bHead + this.bLen++) % this.backlog.length;
      this.backlog[i] = intendedMs;
      this.bProfile[i] = profile;
      this.backlogK[i] = k;
      if (this.bSession) this.bSession[i] = session;
    } else {
      this.store.drop(intendedMs);
      if (this.store.profiles.active)
        this.store.profiles.dropped(profile, this.store.phaseOf(intendedMs, intendedMs));
      this.counts.dropped++;
      if (session) this.driver!.stepEnded(session, now, false);
    }
  }

  private send(intendedMs: number, profile: number, session: Session | null, nowMs: number, k: number): void {
    this.inflight++;
    this.counts.sent++;
    this.store.send(intendedMs, nowMs);
    this.store.profiles.sent(profile);
    const list = this.listOf[profile] ?? this.listFor(profile);
    const h = this.create(profile);
    h.intendedMs = intendedMs;
    h.arrival = k;
    h.sentMs = nowMs;
    h.profile = profile;
    h.session = session;
    h.deadlineMs = nowMs + list.timeoutMs;
    list.push(h);
    this.depth++;
    try {
      this.dispatch(h);
    } finally {
      this.depth--;
    }
    if (this.depth === 0 && this.due.nextMs <= nowMs + DUE_EPS_MS) this.pumpDue();
  }

  private listFor(profile: number): InFlightList {
    const timeout = this.timeoutFor(profile);
    let list = this.lists.get(timeout);
    if (!list) this.lists.set(timeout, (list = new InFlightList(timeout)));
    return (this.listOf[profile] = list);
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

  /**
   * The generator for what request `h` draws (template values): a plain request's is seeded by its
   * arrival, whichever segment sends it; a session's steps draw from one run-seeded stream (the
   * same run for one process; with scale-out, per segment).
   */
  protected requestPrng(h: InFlight): Prng {
    return h.session ? this.sessionPrng : this.perArrival.at(h.arrival);
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
      // neither a success nor a failure of the target, and no latency. Its session stops.
      this.counts.cancelled++;
      this.store.cancel(h.intendedMs);
      this.store.profiles.cancelled(h.profile);
      this.next(endMs);
      if (h.session && !this.stopping) this.driver!.stepAbandoned(h.session, endMs);
      h.session = null;
      this.maybeDone();
      return;
    }
    this.counts.completed++;
    const st = kind === 'timeout' ? 0 : status;
    this.store.result(h.intendedMs, h.sentMs, endMs, st, kind);
    const ok = kind === null && !(st >= 400);
    const profiles = this.store.profiles;
    if (profiles.active)
      profiles.result(
        h.profile,
        endMs - h.intendedMs,
        ok,
        kind ?? classifyStatus(st),
        this.store.phaseOf(h.intendedMs, endMs),
      );
    this.onSettled(h, endMs, kind);
    this.next(endMs);
    // The backlog went first: it waited longer than this session's next step.
    if (h.session && !this.stopping) this.driver!.stepEnded(h.session, endMs, ok);
    h.session = null;
    this.maybeDone();
  }

  /** A slot is free: the oldest waiting arrival goes out. */
  private next(nowMs: number): void {
    if (this.bLen > 0 && !this.stopping) {
      const i = this.bHead;
      const intended = this.backlog[i]!;
      const session = this.bSession ? this.bSession[i]! : null;
      if (this.bSession) this.bSession[i] = null;
      this.bHead = (this.bHead + 1) % this.backlog.length;
      this.bLen--;
      this.send(intended, this.bProfile[i]!, session, nowMs, this.backlogK[i]!);
    }
  }

  /**
   * The sweep did not run for longer than the stall bound: the generator itself was stopped.
   * Requests in flight since before the stall have unknown latency; arrivals that waited through
   * it in the backlog are overdue by the stall: both are the generator's, not the target's.
   */
  private stalled(lastRunMs: number): void {
    for (const list of this.lists.values())
      for (let h = list.head; h; h = h.next) if (h.sentMs <= lastRunMs) h.stalled = true;
    const now = this.now();
    for (; this.bLen > 0; this.bLen--) {
      const i = this.bHead;
      this.store.drop(this.backlog[i]!, true);
      this.store.profiles.dropped(this.bProfile[i]!, null);
      const session = this.bSession ? this.bSession[i]! : null;
      if (this.bSession) this.bSession[i] = null;
      this.bHead = (this.bHead + 1) % this.backlog.length;
      this.counts.dropped++;
      if (session) this.driver!.stepAbandoned(session, now);
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

  /**
   * After the last arrival: in flight and backlog drain by their deadlines, bounded all the same;
   * sessions still running get gracefulStop first.
   */
  private beginDrain(): void {
    this.draining = true;
    this.maybeDone();
    if (this.settledAll) return;
    let longest = 0;
    for (const t of this.lists.keys()) longest = Math.max(longest, t);
    const profiles = this.m.workload?.profiles.length ?? 0;
    for (let p = 0; p < profiles; p++) longest = Math.max(longest, this.timeoutFor(p));
    const grace = this.driver ? (this.m.gracefulStopMs ?? DEFAULT_GRACEFUL_STOP_MS) : 0;
    // Every request in flight ends by its deadline; the backlog behind them gets one more timeout.
    this.drainTimer = this.clock.setTimeout(() => this.stop(), grace + 2 * longest + 1000);
  }

  private maybeDone(): void {
    if (this.settledAll || !this.started) return;
    const done = this.stopping
      ? this.inflight === 0
      : this.draining && this.inflight === 0 && this.bLen === 0 && this.due.size === 0 && !this.driver?.busy;
    if (!done) return;
    this.settledAll = true;
    this.endMs = this.now();
    this.clock.clearTimeout(this.sweepTimer);
    this.clock.clearTimeout(this.drainTimer);
    this.clock.clearTimeout(this.timer);
    this.release(this.stopping);
    this.resolveDone({
      ended: this.stoppedEarly ? 'stopped' : 'completed',
      durationMs: this.now(),
      ...this.counts,
      warmUp: this.warmUpReport,
    });
  }
}
