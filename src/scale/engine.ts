/**
 * The coordinator's engine: a LoadEngine made of N segments running elsewhere (worker processes,
 * runners on other machines). The runner (src/run.ts) drives it like any engine: faults, the
 * ledger, stop conditions, progress and scoring stay with the runner, on the merged data.
 *
 *   segment reports ──finished seconds──> store.mergeFinal (counts and histograms add)
 *                   ──live window───────> store.mergeWindow (what the ticker's live view takes)
 *                   ──outstanding───────> outstanding() (ages of what waits, for stop conditions)
 *   arrivalsThroughMs = the slowest segment's "everything before this has shipped": a merged
 *     second is finalised only when every segment has shipped it
 *   fault windows (store.exposureSource) ──every open/close──> every segment's mirror
 *   a segment silent for 2 s or whose channel closed is lost: its unshipped share counts as
 *     dropped (stall) (src/scale/lost.ts); --on-runner-loss abort stops the run (exit 3)
 */
import { realClock, every, type Clock } from '../core/clock.ts';
import type { EngineContext, LoadEngine } from '../load/engine.ts';
import type { LoadOutcome } from '../load/open-model.ts';
import type { ProfileStats } from '../metrics/profiles.ts';
import type { WarmUpReport } from '../load/warm-up.ts';
import { WARM_UP_BUDGET_MS } from '../load/warm-up.ts';
import type { MergeableSecond } from '../metrics/store.ts';
import type { RunResult } from '../result.ts';
import { FaultWindows } from '../run/exposure.ts';
import { formatDuration } from '../core/units.ts';
import { LostShare } from './lost.ts';
import {
  REPORT_MS,
  SEGMENT_SILENT_MS,
  STOP_WAIT_MS,
  type FromSegment,
  type SegmentDone,
  type SegmentReport,
  type ToSegment,
} from './protocol.ts';

/** The coordinator's end of one segment's channel. */
export interface SegmentLink {
  readonly index: number;
  /** Where the segment runs (its host name), for messages and results. */
  host: string;
  /** The segment's clock minus the coordinator's, and the round trip, as measured before t0. */
  offsetMs: number;
  rttMs: number;
  send(m: ToSegment): void;
  /** Ends the channel (the segment stops and exits). */
  close(): void;
  onMessage: ((m: FromSegment) => void) | null;
  onClose: ((why: string) => void) | null;
}

export type RunnerLossPolicy = 'abort' | 'continue';

export interface ScaleEngineOptions {
  kind: 'workers' | 'runners';
  onLoss: RunnerLossPolicy;
  /** Stops the whole run (the RunHandle's abort): --on-runner-loss abort. */
  abortRun: (reason: string) => void;
  /** How far ahead of now t0 is announced (every segment must hear of it before it comes). */
  leadMs: number;
}

interface Seg {
  link: SegmentLink;
  state: 'running' | 'done' | 'lost';
  throughMs: number;
  shipped: Set<number>;
  heardAt: number;
  outstanding: [number, number][];
  profiles: Record<string, ProfileStats> | null;
  outcome: SegmentDone['outcome'] | null;
  warnings: string[];
  lost: LostShare | null;
  lostAtMs?: number;
  lostReason?: string;
  stoppedEarly: boolean;
}

export class ScaleEngine implements LoadEngine {
  private readonly clock: Clock;
  private readonly segs: Seg[];
  private t0 = 0;
  private started = false;
  private stopping = false;
  private stopAtMs = Number.POSITIVE_INFINITY;
  private settled = false;
  private watchdog: { stop(): void } | null = null;
  private stopTimer: ReturnType<Clock['setTimeout']> | null = null;
  private readonly notes: string[] = [];
  private resolveDone!: (o: LoadOutcome) => void;
  private warmUpWaiters: ((i: number, r: WarmUpReport | null) => void) | null = null;
  readonly done: Promise<LoadOutcome>;

  constructor(
    private readonly ctx: EngineContext,
    links: readonly SegmentLink[],
    private readonly o: ScaleEngineOptions,
  ) {
    this.clock = ctx.clock ?? realClock;
    this.t0 = this.clock.now();
    this.done = new Promise((r) => (this.resolveDone = r));
    this.segs = links.map((link) => ({
      link,
      state: 'running',
      throughMs: 0,
      shipped: new Set<number>(),
      heardAt: this.clock.now(),
      outstanding: [],
      profiles: null,
      outcome: null,
      warnings: [],
      lost: null,
      stoppedEarly: false,
    }));
    for (const s of this.segs) {
      s.link.onMessage = (m) => this.onMessage(s, m);
      s.link.onClose = (why) => this.lose(s, why);
    }
    // Every segment mirrors the runner's fault windows, so its requests are attributed by exposure.
    const windows = ctx.store.exposureSource;
    if (windows instanceof FaultWindows)
      windows.listen((change) => this.broadcast({ type: 'exposure', change }));
  }

  private label(s: Seg): string {
    return `${this.o.kind === 'workers' ? 'worker' : 'runner'} ${s.link.index} (${s.link.host})`;
  }

  private broadcast(m: ToSegment): void {
    for (const s of this.segs) if (s.state === 'running') s.link.send(m);
  }

  now(): number {
    return this.clock.now() - this.t0;
  }

  get arrivalsThroughMs(): number {
    if (this.settled) return Number.POSITIVE_INFINITY;
    let min = Number.POSITIVE_INFINITY;
    for (const s of this.segs) min = Math.min(min, s.lost ? s.lost.throughMs : s.throughMs);
    return min;
  }

  async warmUp(): Promise<WarmUpReport | null> {
    const live = this.segs.filter((s) => s.state === 'running');
    if (live.length === 0) return null;
    const t0 = this.clock.now();
    const reports = new Map<number, WarmUpReport | null>();
    const all = new Promise<void>((resolve) => {
      this.warmUpWaiters = (i, r) => {
        reports.set(i, r);
        if (live.every((s) => reports.has(s.link.index) || s.state !== 'running')) resolve();
      };
      // Each segment's warm-up is bounded by its own budget; a silent one is lost by the watchdog.
      this.clock.setTimeout(resolve, WARM_UP_BUDGET_MS + SEGMENT_SILENT_MS + 1000);
    });
    this.startWatchdog();
    for (const s of live) s.link.send({ type: 'warmUp' });
    await all;
    this.warmUpWaiters = null;
    const got = [...reports.values()].filter((r): r is WarmUpReport => r !== null);
    return {
      requests: got.reduce((n, r) => n + r.requests, 0),
      failed: got.reduce((n, r) => n + r.failed, 0),
      durationMs: this.clock.now() - t0,
      cutShort: got.find((r) => r.cutShort)?.cutShort ?? null,
    };
  }

  start(): Promise<LoadOutcome> {
    // t = 0 is announced ahead: until then now() is negative and nothing is due.
    this.t0 = this.clock.now() + this.o.leadMs;
    const t0Wall = this.clock.wallNow() + this.o.leadMs;
    this.started = true;
    for (const s of this.segs) {
      s.heardAt = this.clock.now();
      if (s.state === 'running') s.link.send({ type: 'start', t0Wall, offsetMs: s.link.offsetMs });
      else if (s.state === 'lost') s.lost = this.lostShare(s);
    }
    this.startWatchdog();
    if (this.stopping) this.stop();
    this.maybeDone();
    return this.done;
  }

  stop(): void {
    if (this.stopping && this.stopTimer) return;
    this.stopping = true;
    this.stopAtMs = Math.min(this.stopAtMs, this.started ? Math.max(0, this.now()) : 0);
    if (!this.started) return;
    this.broadcast({ type: 'stop', reason: 'the coordinator stopped the run' });
    // A segment that cannot say it stopped within the bound is lost: the result does not wait for it.
    this.stopTimer = this.clock.setTimeout(() => {
      for (const s of this.segs)
        if (s.state === 'running')
          this.lose(s, `did not confirm the stop within ${formatDuration(STOP_WAIT_MS)}`);
    }, STOP_WAIT_MS);
    this.maybeDone();
  }

  outstanding(visit: (intendedMs: number, sentMs: number | null) => void): void {
    for (const s of this.segs) {
      if (s.state !== 'running') continue;
      for (const [t, n] of s.outstanding) for (let i = 0; i < n; i++) visit(t, null);
    }
  }

  warnings(): string[] {
    const out = [...this.notes];
    for (const s of this.segs) for (const w of s.warnings) if (!out.includes(w)) out.push(w);
    return out;
  }

  timelineMs(planMs: number, ranMs: number): number {
    return Math.min(planMs, ranMs);
  }

  extras(): Partial<Pick<RunResult, 'workers' | 'runners'>> {
    if (this.o.kind === 'workers') return { workers: this.segs.length };
    return {
      runners: this.segs.map((s) => ({
        index: s.link.index,
        host: s.link.host,
        clockOffsetMs: round(s.link.offsetMs),
        roundTripMs: round(s.link.rttMs),
        secondsReceived: s.shipped.size,
        state: s.state === 'lost' ? 'lost' : s.stoppedEarly ? 'stopped' : 'completed',
        ...(s.lostAtMs !== undefined ? { lostAtMs: Math.round(s.lostAtMs) } : {}),
        ...(s.lostReason !== undefined ? { lostReason: s.lostReason } : {}),
      })),
    };
  }

  // ---- messages -------------------------------------------------------------------------------

  private onMessage(s: Seg, m: FromSegment): void {
    if (s.state === 'lost') return;
    s.heardAt = this.clock.now();
    switch (m.type) {
      case 'warmedUp':
        this.warmUpWaiters?.(s.link.index, m.report);
        return;
      case 'report':
        this.onReport(s, m);
        return;
      case 'done':
        this.onDone(s, m);
        return;
      case 'failed':
        this.lose(s, `failed: ${m.message}`);
        return;
      default:
        return;
    }
  }

  private merge(s: Seg, list: SegmentReport['seconds']): void {
    for (const m of list) {
      if (s.shipped.has(m.second.t)) continue;
      s.shipped.add(m.second.t);
      this.ctx.store.mergeFinal(m);
    }
  }

  private onReport(s: Seg, m: SegmentReport): void {
    this.merge(s, m.seconds);
    this.ctx.store.mergeWindow(m.window);
    s.outstanding = m.outstanding;
    s.throughMs = Math.max(s.throughMs, m.throughMs);
    if (m.profiles !== undefined) s.profiles = m.profiles;
  }

  private onDone(s: Seg, m: SegmentDone): void {
    this.merge(s, m.seconds);
    this.ctx.store.mergeWindow(m.window);
    s.profiles = m.profiles;
    s.outcome = m.outcome;
    s.warnings = m.warnings;
    s.outstanding = [];
    s.stoppedEarly = m.outcome.ended === 'stopped';
    s.state = 'done';
    s.throughMs = Number.POSITIVE_INFINITY;
    this.warmUpWaiters?.(s.link.index, null);
    this.maybeDone();
  }

  // ---- loss -----------------------------------------------------------------------------------

  private startWatchdog(): void {
    if (this.watchdog) return;
    this.watchdog = every(this.clock, REPORT_MS, () => {
      const now = this.clock.now();
      for (const s of this.segs) {
        // Before t0 segments only answer; a dead one is caught by its channel closing.
        if (this.started && s.state === 'running' && now - s.heardAt > SEGMENT_SILENT_MS)
          this.lose(s, `silent for ${formatDuration(now - s.heardAt)}`);
        if (s.lost && this.started) s.lost.advance(Math.min(this.now(), this.endMs()), this.mergeLost);
      }
    });
  }

  private readonly mergeLost = (m: MergeableSecond): void => this.ctx.store.mergeFinal(m);

  private endMs(): number {
    return Math.min(this.ctx.plan.durationMs, this.stopAtMs);
  }

  private lose(s: Seg, why: string): void {
    if (s.state !== 'running') return;
    s.state = 'lost';
    s.outstanding = [];
    s.lostAtMs = Math.max(0, this.now());
    s.lostReason = why;
    s.link.onMessage = null;
    s.link.onClose = null;
    s.link.close();
    this.warmUpWaiters?.(s.link.index, null);
    const at = this.started ? ` at t=${formatDuration(s.lostAtMs)}` : ' before t0';
    const share = `1/${this.segs.length} of the rate`;
    this.notes.push(
      `${this.label(s)} was lost${at} (${why}): its share (${share}) of every second it did not ship counts as dropped by a stalled generator, not blamed on the target; the planned rate was not delivered`,
    );
    this.ctx.log(`${this.label(s)} lost${at}: ${why}`);
    if (this.started) s.lost = this.lostShare(s);
    if (this.o.onLoss === 'abort' && !this.stopping)
      this.o.abortRun(`${this.label(s)} lost${at}: ${why} (--on-runner-loss abort)`);
    this.maybeDone();
  }

  private lostShare(s: Seg): LostShare {
    return new LostShare(
      this.ctx.plan,
      this.ctx.prng,
      { index: s.link.index, count: this.segs.length },
      s.shipped,
    );
  }

  private maybeDone(): void {
    if (this.settled || !this.started) return;
    if (this.segs.some((s) => s.state === 'running')) return;
    this.settled = true;
    this.watchdog?.stop();
    this.clock.clearTimeout(this.stopTimer);
    const end = this.endMs();
    for (const s of this.segs) s.lost?.advance(end, this.mergeLost, true);
    // Totals per profile: each segment's last word (a lost one's last report), in segment order.
    for (const s of this.segs) if (s.profiles) this.ctx.store.profiles.merge(s.profiles);
    const sum = (k: 'sent' | 'completed' | 'dropped' | 'cancelled' | 'notSent') =>
      this.segs.reduce((n, s) => n + (s.outcome?.[k] ?? 0), 0);
    const lostDrops = this.segs.reduce((n, s) => n + (s.lost?.dropped ?? 0), 0);
    for (const s of this.segs) s.link.send({ type: 'end' });
    this.resolveDone({
      ended:
        this.stopping || this.segs.some((s) => s.state === 'lost' || s.stoppedEarly)
          ? 'stopped'
          : 'completed',
      durationMs: Math.max(0, this.now()),
      sent: sum('sent'),
      completed: sum('completed'),
      dropped: sum('dropped') + lostDrops,
      cancelled: sum('cancelled'),
      notSent: sum('notSent'),
    });
  }
}

const round = (x: number) => Math.round(x * 100) / 100;
