/**
 * MetricsStore: one bucket per second of the run, keyed by the *intended* send second, with exact
 * accounting: every arrival ends in exactly one outcome in the second it was meant to be sent,
 * however late that outcome comes.
 *
 *   arrival ──> dropped (backlog full │ generator stall) │ not sent (waiting when the load stopped)
 *           └─> sent ──> ok │ failed (by kind) │ cancelled (in flight when the load stopped)
 *
 *   per second and in totals:  requested = sent + dropped + notSent
 *                              sent      = ok + failed + cancelled
 *
 * A second stays open while any of its arrivals has no outcome yet; it is finalised (summaries
 * computed, histograms encoded and freed) once it is over and every arrival in it has ended, so
 * memory is bounded by what is in flight. Each outcome is also attributed to a phase by
 * exposure (src/run/exposure.ts): the faults active at any moment of the request's life.
 */
import { classifyStatus, type ErrorKind } from '../core/error-kinds.ts';
import { addCounts, PhaseAcc } from './counts.ts';
import { ProfileRecorder } from './profiles.ts';
import { StreamRecorder, type StreamSecond } from './stream-metrics.ts';
import { InternalError } from '../core/errors.ts';
import {
  decode,
  encode,
  newHistogram,
  recordMs,
  summarize,
  type Histogram,
  type LatencySummary,
} from '../core/hist.ts';

export type PhaseName = 'baseline' | 'fault' | 'recovery';
export const PHASE_NAMES: readonly PhaseName[] = ['baseline', 'fault', 'recovery'];

export interface GeneratorStats {
  cpuPct: number;
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  saturated: boolean;
  reasons: string[];
}

export interface FaultSetCounts {
  sent: number;
  ok: number;
  failed: number;
}

/** One phase's share of one second: outcomes of the requests attributed to it. */
export interface PhaseSecond {
  ok: number;
  failed: number;
  /** Arrivals dropped because the backlog was full (unserved demand: a bad event). */
  dropped: number;
  /** Latency HdrHistogram (µs) of this phase's ok + failed requests, compressed base64. */
  hist: string | null;
}

/** Which faults a request was exposed to, and so its phase. */
export interface Exposure {
  /** For a request alive over [fromMs, toMs]: the ids of the faults active at any moment of it ('' = none). */
  key(fromMs: number, toMs: number): string;
  /** Phase of a request with that exposure that ended at `endMs`. */
  phase(key: string, endMs: number): PhaseName;
}

/** Until faults exist, every request is a baseline request. */
export const NO_FAULTS: Exposure = { key: () => '', phase: () => 'baseline' };

export interface SecondStats {
  t: number;
  requested: number;
  /** Requests of this second's arrivals that were sent (whenever they went out). */
  sent: number;
  /** Requests that went out during this second, whatever their intended second: the achieved rate. */
  achieved: number;
  dropped: number;
  /** Of `dropped`: arrivals already older than the stall bound when a stalled generator resumed. */
  droppedStall: number;
  /** Arrivals still waiting for a connection when the load stopped. */
  notSent: number;
  ok: number;
  failed: number;
  /** Requests in flight when the load stopped (an abort or the drain bound), neither ok nor failed. */
  cancelled: number;
  errors: Partial<Record<ErrorKind, number>>;
  status: Record<string, number>;
  latencyMs: LatencySummary | null;
  serviceMs: LatencySummary | null;
  sendLagMs: { p99: number; max: number } | null;
  backlogMax: number;
  inflightMax: number;
  generator: GeneratorStats | null;
  /** Ids of faults active at some point in this second (by wall time, for charts). */
  activeFaults: string[];
  /** Outcomes by the set of faults each request was exposed to ('' = none). */
  byFaults: Record<string, FaultSetCounts>;
  /** This second's requests by the phase they are attributed to (exposure). */
  phases: Partial<Record<PhaseName, PhaseSecond>>;
  hist: string | null;
  failedHist: string | null;
  stream?: StreamSecond;
}

class Bucket {
  requested = 0;
  sent = 0;
  achieved = 0;
  dropped = 0;
  droppedStall = 0;
  notSent = 0;
  ok = 0;
  failed = 0;
  cancelled = 0;
  errors: Partial<Record<ErrorKind, number>> = {};
  status: Record<string, number> = {};
  latency: Histogram | null = null;
  failedLatency: Histogram | null = null;
  service: Histogram | null = null;
  lag: Histogram | null = null;
  backlogMax = 0;
  inflightMax = 0;
  generator: GeneratorStats | null = null;
  activeFaults = new Set<string>();
  byFaults: Record<string, FaultSetCounts> = {};
  phases: Partial<Record<PhaseName, PhaseAcc>> = {};
  final: SecondStats | null = null;

  /** Arrivals of this second without an outcome yet. */
  get pending(): number {
    return this.requested - this.dropped - this.notSent - this.ok - this.failed - this.cancelled;
  }
}

/** Outcomes since the last live look (by the time they ended, not by intended second). */
export interface LiveWindow {
  ok: number;
  failed: number;
  dropped: number;
  arrivals: number;
  achieved: number;
  errors: Partial<Record<ErrorKind, number>>;
  latency: Histogram;
}

function emptyWindow(): LiveWindow {
  return { ok: 0, failed: 0, dropped: 0, arrivals: 0, achieved: 0, errors: {}, latency: newHistogram() };
}

/** Accounting violations are bugs: loud in tests (CHAOSKIT_STRICT_ACCOUNTING=1), warnings otherwise. */
const STRICT = process.env.CHAOSKIT_STRICT_ACCOUNTING === '1';

export class MetricsStore {
  private readonly buckets: Bucket[] = [];
  /** Seconds below this index are all finalised. */
  private firstOpen = 0;
  /** Cumulative histograms over the whole run. */
  readonly totalLatency = newHistogram();
  readonly totalService = newHistogram();
  /** Streaming metrics (time to first event, gaps, cut streams), per second. */
  readonly streams = new StreamRecorder();
  /** Per-profile (named request) outcomes over the run. */
  readonly profiles = new ProfileRecorder();
  /** Accounting problems found when finalising (empty unless there is a bug). */
  readonly violations: string[] = [];
  private exposure: Exposure = NO_FAULTS;
  private window: LiveWindow = emptyWindow();
  private spare: LiveWindow = emptyWindow();

  /** What ended (or was dropped, or arrived) since the last call; the live view of the present. */
  takeWindow(): LiveWindow {
    const w = this.window;
    this.window = this.spare;
    this.window.ok = this.window.failed = this.window.dropped = this.window.arrivals = 0;
    this.window.achieved = 0;
    this.window.errors = {};
    this.window.latency.reset();
    this.spare = w;
    return w;
  }

  /** Where requests learn their exposure to faults (the runner's fault windows). */
  setExposure(e: Exposure): void {
    this.exposure = e;
  }

  private at(ms: number): Bucket {
    const i = ms < 0 ? 0 : Math.floor(ms / 1000);
    let b = this.buckets[i];
    if (!b) {
      for (let j = this.buckets.length; j <= i; j++) this.buckets[j] = new Bucket();
      b = this.buckets[i]!;
    }
    if (b.final) this.reopened(i);
    return b;
  }

  private reopened(i: number): void {
    const msg = `second ${i} received an outcome after it was finalised`;
    if (STRICT) throw new InternalError(`accounting: ${msg}`);
    this.violations.push(msg);
  }

  private phase(b: Bucket, key: string, endMs: number): PhaseAcc {
    const p = this.exposure.phase(key, endMs);
    return (b.phases[p] ??= new PhaseAcc());
  }

  arrival(intendedMs: number): void {
    this.at(intendedMs).requested++;
    this.window.arrivals++;
  }

  /** An arrival that found the backlog full (or, `stall`, that was overdue when a stalled generator resumed). */
  drop(intendedMs: number, stall = false): void {
    const b = this.at(intendedMs);
    b.dropped++;
    this.window.dropped++;
    if (stall) {
      b.droppedStall++;
      return;
    }
    // Unserved demand counts against the phase it was due in.
    const key = this.exposure.key(intendedMs, intendedMs);
    this.phase(b, key, intendedMs).dropped++;
  }

  /** An arrival still waiting in the backlog when the load stopped. */
  notSent(intendedMs: number): void {
    this.at(intendedMs).notSent++;
  }

  send(intendedMs: number, sentMs: number): void {
    this.at(intendedMs).sent++;
    const b = this.at(sentMs);
    b.achieved++;
    this.window.achieved++;
    recordMs((b.lag ??= newHistogram()), sentMs - intendedMs);
  }

  /** A response or an error. `status` is 0 when there was no response. */
  result(intendedMs: number, sentMs: number, endMs: number, status: number, err: ErrorKind | null): void {
    const b = this.at(intendedMs);
    const kind = err ?? classifyStatus(status);
    if (status) b.status[status] = (b.status[status] ?? 0) + 1;
    const key = this.exposure.key(intendedMs, endMs);
    const fs = (b.byFaults[key] ??= { sent: 0, ok: 0, failed: 0 });
    fs.sent++;
    const ph = this.phase(b, key, endMs);
    if (kind) {
      b.failed++;
      fs.failed++;
      ph.failed++;
      b.errors[kind] = (b.errors[kind] ?? 0) + 1;
      this.window.failed++;
      this.window.errors[kind] = (this.window.errors[kind] ?? 0) + 1;
    } else {
      b.ok++;
      fs.ok++;
      ph.ok++;
      this.window.ok++;
    }
    // Latency from the intended send time counts every outcome: a timeout is a very slow answer.
    const latency = endMs - intendedMs;
    recordMs((b.latency ??= newHistogram()), latency);
    recordMs((ph.hist ??= newHistogram()), latency);
    if (kind) recordMs((b.failedLatency ??= newHistogram()), latency);
    recordMs((b.service ??= newHistogram()), endMs - sentMs);
    recordMs(this.totalLatency, latency);
    recordMs(this.totalService, endMs - sentMs);
    recordMs(this.window.latency, latency);
  }

  /**
   * The phase a request (or a session) alive over [fromMs, toMs] is attributed to by exposure: for
   * per-profile and per-flow results (additive; the timeline's own attribution is in result()).
   */
  phaseOf(fromMs: number, toMs: number): PhaseName {
    return this.exposure.phase(this.exposure.key(fromMs, toMs), toMs);
  }

  /** A request in flight when the load stopped. */
  cancel(intendedMs: number): void {
    this.at(intendedMs).cancelled++;
  }

  gauge(nowMs: number, backlog: number, inflight: number): void {
    const b = this.at(nowMs);
    if (backlog > b.backlogMax) b.backlogMax = backlog;
    if (inflight > b.inflightMax) b.inflightMax = inflight;
  }

  /** The generator's figures for a second; figures from several generators (scale-out) combine. */
  generator(second: number, g: GeneratorStats): void {
    const b = this.buckets[second];
    if (b?.final) b.final.generator = combineGenerators(b.final.generator, g);
    else {
      const x = this.at(second * 1000);
      x.generator = combineGenerators(x.generator, g);
    }
  }

  faultActive(second: number, ids: Iterable<string>): void {
    const b = this.buckets[second] ?? this.at(second * 1000);
    if (b.final) {
      b.final.activeFaults = [...new Set([...b.final.activeFaults, ...ids])].sort();
      return;
    }
    for (const id of ids) b.activeFaults.add(id);
  }

  /** Arrivals of second `t` without an outcome yet (0 once finalised). */
  pending(t: number): number {
    const b = this.buckets[t];
    return b && !b.final ? b.pending : 0;
  }

  /**
   * Finalises every second that is over (its arrivals all came due before `arrivalsThroughMs`) and
   * whose arrivals have all ended; returns the ones finalised now, in order.
   */
  finalizeReady(arrivalsThroughMs: number): SecondStats[] {
    const out: SecondStats[] = [];
    const upTo = Math.min(this.buckets.length, Math.floor(arrivalsThroughMs / 1000));
    let allBelow = true;
    for (let i = this.firstOpen; i < upTo; i++) {
      const b = this.buckets[i]!;
      if (b.final) {
        if (allBelow) this.firstOpen = i + 1;
        continue;
      }
      if (b.pending > 0) {
        allBelow = false;
        continue;
      }
      out.push(this.finalize(i));
      if (allBelow) this.firstOpen = i + 1;
    }
    return out;
  }

  isFinal(t: number): boolean {
    return this.buckets[t]?.final != null;
  }

  private finalize(i: number): SecondStats {
    const b = this.buckets[i] ?? this.at(i * 1000);
    if (b.final) return b.final;
    this.check(i, b);
    const lag = b.lag;
    const phases: SecondStats['phases'] = {};
    for (const [name, p] of Object.entries(b.phases) as [PhaseName, PhaseAcc][]) {
      phases[name] = { ok: p.ok, failed: p.failed, dropped: p.dropped, hist: p.hist ? encode(p.hist) : null };
    }
    b.final = {
      t: i,
      requested: b.requested,
      sent: b.sent,
      achieved: b.achieved,
      dropped: b.dropped,
      droppedStall: b.droppedStall,
      notSent: b.notSent,
      ok: b.ok,
      failed: b.failed,
      cancelled: b.cancelled,
      errors: b.errors,
      status: b.status,
      latencyMs: b.latency ? summarize(b.latency) : null,
      serviceMs: b.service ? summarize(b.service) : null,
      sendLagMs:
        lag && lag.totalCount > 0
          ? { p99: lag.getValueAtPercentile(99) / 1000, max: lag.maxValue / 1000 }
          : null,
      backlogMax: b.backlogMax,
      inflightMax: b.inflightMax,
      generator: b.generator,
      activeFaults: [...b.activeFaults].sort(),
      byFaults: b.byFaults,
      phases,
      hist: b.latency ? encode(b.latency) : null,
      failedHist: b.failedLatency ? encode(b.failedLatency) : null,
    };
    const stream = this.streams.second(i);
    if (stream) b.final.stream = stream;
    b.latency = b.failedLatency = b.service = b.lag = null;
    b.phases = {};
    return b.final;
  }

  /** The accounting invariants of one second. */
  private check(i: number, b: Bucket): void {
    const problems: string[] = [];
    if (b.requested !== b.sent + b.dropped + b.notSent)
      problems.push(
        `requested ${b.requested} ≠ sent ${b.sent} + dropped ${b.dropped} + not sent ${b.notSent}`,
      );
    if (b.sent !== b.ok + b.failed + b.cancelled)
      problems.push(`sent ${b.sent} ≠ ok ${b.ok} + failed ${b.failed} + cancelled ${b.cancelled}`);
    if (problems.length === 0) return;
    const msg = `second ${i}: ${problems.join('; ')}`;
    if (STRICT) throw new InternalError(`accounting: ${msg}`);
    this.violations.push(msg);
  }

  /**
   * Every second up to `seconds` (or further, if arrivals were recorded later), finalising what is
   * left: the load is over, so whatever is still pending can no longer end (an engine that lost
   * track of a request is a bug the invariants report).
   */
  timeline(seconds: number): SecondStats[] {
    const n = Math.max(seconds, this.buckets.length);
    const out: SecondStats[] = [];
    for (let i = 0; i < n; i++) out.push(this.finalize(i));
    this.firstOpen = n;
    return out;
  }

  // ---- scale-out (src/scale/): seconds finished by other processes, merged exactly ----------

  /** The exposure the runner set (its fault windows), so a coordinator can mirror it to its segments. */
  get exposureSource(): Exposure {
    return this.exposure;
  }

  /** Every second below this one is final (the lowest second still open, else the number of seconds). */
  get openFrom(): number {
    for (let i = this.firstOpen; i < this.buckets.length; i++) if (!this.buckets[i]!.final) return i;
    return this.buckets.length;
  }

  /** finalizeReady(), each second with the histograms a coordinator needs to merge it exactly. */
  finalizeReadyForMerge(arrivalsThroughMs: number): MergeableSecond[] {
    const upTo = Math.min(this.buckets.length, Math.floor(arrivalsThroughMs / 1000));
    const extras = new Map<number, Omit<MergeableSecond, 'second'>>();
    for (let i = this.firstOpen; i < upTo; i++) {
      const b = this.buckets[i]!;
      if (!b.final && b.pending === 0) extras.set(i, this.mergeExtras(i, b));
    }
    return this.finalizeReady(arrivalsThroughMs).map((second) => ({
      second,
      ...(extras.get(second.t) ?? NO_EXTRAS),
    }));
  }

  /** timeline() (the load is over), each second with the histograms for an exact merge. */
  timelineForMerge(seconds: number): MergeableSecond[] {
    const extras = new Map<number, Omit<MergeableSecond, 'second'>>();
    for (let i = 0; i < this.buckets.length; i++) {
      const b = this.buckets[i]!;
      if (!b.final) extras.set(i, this.mergeExtras(i, b));
    }
    return this.timeline(seconds).map((second) => ({ second, ...(extras.get(second.t) ?? NO_EXTRAS) }));
  }

  private mergeExtras(i: number, b: Bucket): Omit<MergeableSecond, 'second'> {
    return {
      serviceHist: b.service ? encode(b.service) : null,
      lagHist: b.lag ? encode(b.lag) : null,
      streamGapHist: this.streams.openGapHist(i),
    };
  }

  /**
   * Adds a second that another process finished (a worker's or a runner's segment) into this
   * store's bucket: counts add, histograms add (never averaged), so the second this store
   * finalises is the one a single process would have measured. The bucket stays open until the
   * caller's `arrivalsThroughMs` says every source has shipped it (finalizeReady).
   */
  mergeFinal(m: MergeableSecond): void {
    const s = m.second;
    const b = this.at(s.t * 1000);
    b.requested += s.requested;
    b.sent += s.sent;
    b.achieved += s.achieved;
    b.dropped += s.dropped;
    b.droppedStall += s.droppedStall;
    b.notSent += s.notSent;
    b.ok += s.ok;
    b.failed += s.failed;
    b.cancelled += s.cancelled;
    addCounts(b.errors, s.errors);
    addCounts(b.status, s.status);
    if (s.hist) {
      const h = decode(s.hist);
      (b.latency ??= newHistogram()).add(h);
      this.totalLatency.add(h);
    }
    if (s.failedHist) (b.failedLatency ??= newHistogram()).add(decode(s.failedHist));
    if (m.serviceHist) {
      const h = decode(m.serviceHist);
      (b.service ??= newHistogram()).add(h);
      this.totalService.add(h);
    }
    if (m.lagHist) (b.lag ??= newHistogram()).add(decode(m.lagHist));
    // As src/metrics/merge.ts: the deepest backlog of any source, the sum of what was in flight.
    b.backlogMax = Math.max(b.backlogMax, s.backlogMax);
    b.inflightMax += s.inflightMax;
    if (s.generator) b.generator = combineGenerators(b.generator, s.generator);
    for (const id of s.activeFaults) b.activeFaults.add(id);
    for (const [k, v] of Object.entries(s.byFaults)) {
      const q = (b.byFaults[k] ??= { sent: 0, ok: 0, failed: 0 });
      q.sent += v.sent;
      q.ok += v.ok;
      q.failed += v.failed;
    }
    for (const [name, p] of Object.entries(s.phases) as [PhaseName, PhaseSecond][]) {
      const q = (b.phases[name] ??= new PhaseAcc());
      q.ok += p.ok;
      q.failed += p.failed;
      q.dropped += p.dropped;
      if (p.hist) (q.hist ??= newHistogram()).add(decode(p.hist));
    }
    if (s.stream) this.streams.mergeSecond(s.t, s.stream, m.streamGapHist);
  }

  /** Adds what ended in another process since its last live look to this store's live window. */
  mergeWindow(w: MergeableWindow): void {
    addWindowCounts(this.window, w);
    if (w.latency) this.window.latency.add(decode(w.latency));
  }
}

/** A finished second as another process ships it: what finalising dropped, kept for an exact merge. */
export interface MergeableSecond {
  second: SecondStats;
  /** Service time HdrHistogram (µs), compressed base64. */
  serviceHist: string | null;
  /** Send lag HdrHistogram (µs) of the requests sent in this second. */
  lagHist: string | null;
  /** Gaps between stream events observed in this second. */
  streamGapHist: string | null;
}

const NO_EXTRAS: Omit<MergeableSecond, 'second'> = { serviceHist: null, lagHist: null, streamGapHist: null };

/** Adds another live window's counts (not its latency) to `x`: another process's, or another stream's. */
export function addWindowCounts(x: LiveWindow, w: Omit<LiveWindow, 'latency'>): void {
  x.ok += w.ok;
  x.failed += w.failed;
  x.dropped += w.dropped;
  x.arrivals += w.arrivals;
  x.achieved += w.achieved;
  addCounts(x.errors, w.errors);
}

/** A live window as another process ships it (latency encoded). */
export type MergeableWindow = Omit<LiveWindow, 'latency'> & { latency: string | null };

/** Two generators' figures for one second: the busier one's, and saturated if either was. */
export function combineGenerators(a: GeneratorStats | null, b: GeneratorStats): GeneratorStats {
  if (!a) return b;
  return {
    cpuPct: Math.max(a.cpuPct, b.cpuPct),
    eventLoopDelayP99Ms: Math.max(a.eventLoopDelayP99Ms, b.eventLoopDelayP99Ms),
    eventLoopDelayMaxMs: Math.max(a.eventLoopDelayMaxMs, b.eventLoopDelayMaxMs),
    saturated: a.saturated || b.saturated,
    reasons: [...new Set([...a.reasons, ...b.reasons])],
  };
}
