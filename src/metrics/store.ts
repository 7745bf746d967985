/**
 * MetricsStore: one bucket per second of the run, keyed by the *intended* send second.
 * Histograms stay live only while requests of that second can still complete; then the bucket
 * is finalised into a small summary plus an encoded histogram, so memory does not grow with
 * run length.
 */
import { classifyStatus, type ErrorKind } from '../load/errors.ts';
import { ProfileRecorder } from '../load/profiles.ts';
import { StreamRecorder, type StreamSecond } from '../load/stream-metrics.ts';
import { encode, newHistogram, recordMs, summarize, type Histogram, type LatencySummary } from './hist.ts';

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

export interface SecondStats {
  t: number;
  requested: number;
  sent: number;
  dropped: number;
  ok: number;
  failed: number;
  /** Requests stopped by the run's end or an abort, neither ok nor failed. */
  cancelled: number;
  errors: Partial<Record<ErrorKind, number>>;
  status: Record<string, number>;
  latencyMs: LatencySummary | null;
  serviceMs: LatencySummary | null;
  sendLagMs: { p99: number; max: number } | null;
  backlogMax: number;
  inflightMax: number;
  generator: GeneratorStats | null;
  /** Ids of faults active at some point in this second. */
  activeFaults: string[];
  /** Outcomes per set of active faults at send time ('' = no fault). */
  byFaults: Record<string, FaultSetCounts>;
  /** Latency histogram (µs, HdrHistogram compressed base64), for exact merging. */
  hist: string | null;
  /** Latency histogram (µs) of the failed requests only: a subset of `hist`. */
  failedHist: string | null;
  /** Streaming responses (SSE, gRPC server streams) in this second; absent when none. */
  stream?: StreamSecond;
}

class Bucket {
  requested = 0;
  sent = 0;
  dropped = 0;
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
  final: SecondStats | null = null;
}

export class MetricsStore {
  private readonly buckets: Bucket[] = [];
  private finalizedUpTo = 0;
  /** Cumulative histograms over the whole run. */
  readonly totalLatency = newHistogram();
  readonly totalService = newHistogram();
  /** Streaming metrics (time to first event, gaps, cut streams), per second. */
  readonly streams = new StreamRecorder();
  /** Per-profile (named request) outcomes over the run. */
  readonly profiles = new ProfileRecorder();

  private at(ms: number): Bucket {
    const i = ms < 0 ? 0 : Math.floor(ms / 1000);
    let b = this.buckets[i];
    if (!b) {
      for (let j = this.buckets.length; j <= i; j++) this.buckets[j] = new Bucket();
      b = this.buckets[i]!;
    }
    return b;
  }

  arrival(intendedMs: number): void {
    this.at(intendedMs).requested++;
  }

  drop(intendedMs: number): void {
    this.at(intendedMs).dropped++;
  }

  send(intendedMs: number, sentMs: number, faultKey: string): void {
    const b = this.at(sentMs);
    b.sent++;
    b.lag ??= newHistogram();
    recordMs(b.lag, sentMs - intendedMs);
    const fb = this.at(intendedMs);
    (fb.byFaults[faultKey] ??= { sent: 0, ok: 0, failed: 0 }).sent++;
  }

  /** A response or an error. `status` is 0 when there was no response. */
  result(
    intendedMs: number,
    sentMs: number,
    endMs: number,
    status: number,
    err: ErrorKind | null,
    faultKey: string,
  ): void {
    const b = this.at(intendedMs);
    const kind = err ?? classifyStatus(status);
    if (status) b.status[status] = (b.status[status] ?? 0) + 1;
    const fs = (b.byFaults[faultKey] ??= { sent: 0, ok: 0, failed: 0 });
    if (kind) {
      b.failed++;
      fs.failed++;
      b.errors[kind] = (b.errors[kind] ?? 0) + 1;
    } else {
      b.ok++;
      fs.ok++;
    }
    // Latency from the intended send time counts every outcome: a timeout is a very slow answer.
    const latency = endMs - intendedMs;
    recordMs((b.latency ??= newHistogram()), latency);
    if (kind) recordMs((b.failedLatency ??= newHistogram()), latency);
    recordMs((b.service ??= newHistogram()), endMs - sentMs);
    recordMs(this.totalLatency, latency);
    recordMs(this.totalService, endMs - sentMs);
  }

  cancel(intendedMs: number): void {
    this.at(intendedMs).cancelled++;
  }

  gauge(nowMs: number, backlog: number, inflight: number): void {
    const b = this.at(nowMs);
    if (backlog > b.backlogMax) b.backlogMax = backlog;
    if (inflight > b.inflightMax) b.inflightMax = inflight;
  }

  generator(second: number, g: GeneratorStats): void {
    this.at(second * 1000).generator = g;
  }

  faultActive(second: number, ids: Iterable<string>): void {
    const b = this.at(second * 1000);
    for (const id of ids) b.activeFaults.add(id);
  }

  /** Finalises every second that ends before `ms`; their histograms are encoded and freed. */
  finalizeBefore(ms: number): void {
    const upTo = Math.min(this.buckets.length, Math.floor(ms / 1000));
    for (let i = this.finalizedUpTo; i < upTo; i++) this.finalize(i);
    if (upTo > this.finalizedUpTo) this.finalizedUpTo = upTo;
  }

  private finalize(i: number): SecondStats {
    const b = this.at(i * 1000);
    if (b.final) return b.final;
    const lag = b.lag;
    b.final = {
      t: i,
      requested: b.requested,
      sent: b.sent,
      dropped: b.dropped,
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
      hist: b.latency ? encode(b.latency) : null,
      failedHist: b.failedLatency ? encode(b.failedLatency) : null,
    };
    const stream = this.streams.second(i);
    if (stream) b.final.stream = stream;
    b.latency = b.failedLatency = b.service = b.lag = null;
    return b.final;
  }

  /** A live look at one second (progress, stop conditions), without finalising it. */
  peek(second: number): {
    requested: number;
    sent: number;
    ok: number;
    failed: number;
    dropped: number;
    errors: Partial<Record<ErrorKind, number>>;
    p99Ms: number | null;
    latencyMs: LatencySummary | null;
  } {
    const b = this.buckets[second];
    if (!b)
      return {
        requested: 0,
        sent: 0,
        ok: 0,
        failed: 0,
        dropped: 0,
        errors: {},
        p99Ms: null,
        latencyMs: null,
      };
    const latencyMs = b.final ? b.final.latencyMs : b.latency ? summarize(b.latency) : null;
    const src = b.final ?? b;
    return {
      requested: src.requested,
      sent: src.sent,
      ok: src.ok,
      failed: src.failed,
      dropped: src.dropped,
      errors: { ...src.errors },
      p99Ms: latencyMs?.p99 ?? null,
      latencyMs,
    };
  }

  /** Every second up to `seconds` (the run's length), finalising what is left. */
  timeline(seconds: number): SecondStats[] {
    const n = Math.max(seconds, this.buckets.length);
    const out: SecondStats[] = [];
    for (let i = 0; i < n; i++) out.push(this.finalize(i));
    this.finalizedUpTo = n;
    return out;
  }
}
