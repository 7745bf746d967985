/**
 * Streaming responses (gRPC server streams, HTTP server-sent events), second by second:
 * time to first event (from the intended send time, like latency), gaps between events, events
 * per second, and streams cut before their end. MetricsStore owns one recorder and adds each
 * second's summary to its SecondStats as `stream`.
 *
 *   engine ──first(intended, at)──> bucket[intended second].firstEvent
 *          ──event(at, gap)──────> bucket[at second].events, .gap
 *          ──end(at, cut)────────> bucket[at second].completed | .cut
 */
import {
  decode,
  encode,
  newHistogram,
  recordMs,
  summarize,
  type Histogram,
  type LatencySummary,
} from '../core/hist.ts';

export interface StreamSecond {
  /** Events received in this second (events per second). */
  events: number;
  /** Streams that reached their normal end in this second. */
  completed: number;
  /** Streams that ended in this second after at least one event but before their normal end. */
  cut: number;
  /** Time to first event of the streams sent (intended) in this second, from the intended send time. */
  firstEventMs: LatencySummary | null;
  /** Gaps between consecutive events of one stream, observed in this second. */
  gapMs: { p50: number; p99: number; max: number } | null;
  /** Time-to-first-event HdrHistogram (µs), compressed base64, for exact merging. */
  firstEventHist: string | null;
}

export interface StreamTotals {
  events: number;
  completed: number;
  cut: number;
  firstEventMs: LatencySummary | null;
  gapMs: { p50: number; p99: number; max: number } | null;
}

class Bucket {
  events = 0;
  completed = 0;
  cut = 0;
  first: Histogram | null = null;
  gap: Histogram | null = null;
  final: StreamSecond | null = null;
}

export class StreamRecorder {
  private readonly buckets: Bucket[] = [];
  private readonly totalFirst = newHistogram();
  private readonly totalGap = newHistogram();
  private totals = { events: 0, completed: 0, cut: 0 };

  /** True once any stream event or end was recorded. */
  get used(): boolean {
    return this.buckets.length > 0;
  }

  /** The first event of a stream sent (intended) at `intendedMs` arrived at `atMs`. */
  first(intendedMs: number, atMs: number): void {
    const b = this.at(intendedMs);
    const ms = atMs - intendedMs;
    recordMs(this.totalFirst, ms);
    if (b) recordMs((b.first ??= newHistogram()), ms);
  }

  /** An event arrived; `gapMs` is the time since the stream's previous event (null for its first). */
  event(atMs: number, gapMs: number | null): void {
    this.totals.events++;
    if (gapMs !== null) recordMs(this.totalGap, gapMs);
    const b = this.at(atMs);
    if (!b) return;
    b.events++;
    if (gapMs !== null) recordMs((b.gap ??= newHistogram()), gapMs);
  }

  /** A stream ended: normally, or `cut` after at least one event. */
  end(atMs: number, cut: boolean): void {
    if (cut) this.totals.cut++;
    else this.totals.completed++;
    const b = this.at(atMs);
    if (b && cut) b.cut++;
    else if (b) b.completed++;
  }

  /** The summary of second `i`, or undefined when no stream touched it. Frees its histograms. */
  second(i: number): StreamSecond | undefined {
    const b = this.buckets[i];
    if (!b) return undefined;
    if (!b.final) {
      b.final = {
        events: b.events,
        completed: b.completed,
        cut: b.cut,
        firstEventMs: b.first ? summarize(b.first) : null,
        gapMs: gapSummary(b.gap),
        firstEventHist: b.first ? encode(b.first) : null,
      };
      b.first = b.gap = null;
    }
    return b.final;
  }

  summary(): StreamTotals | null {
    if (!this.used) return null;
    return { ...this.totals, firstEventMs: summarize(this.totalFirst), gapMs: gapSummary(this.totalGap) };
  }

  /** Second i's gap histogram (encoded) while the second is open: a coordinator merges it exactly. */
  openGapHist(i: number): string | null {
    const b = this.buckets[i];
    return b && !b.final && b.gap ? encode(b.gap) : null;
  }

  /** Adds a second another process finished (scale-out): counts and histograms add. */
  mergeSecond(i: number, s: StreamSecond, gapHist: string | null): void {
    this.totals.events += s.events;
    this.totals.completed += s.completed;
    this.totals.cut += s.cut;
    const first = s.firstEventHist ? decode(s.firstEventHist) : null;
    const gap = gapHist ? decode(gapHist) : null;
    if (first) this.totalFirst.add(first);
    if (gap) this.totalGap.add(gap);
    const b = this.at(i * 1000);
    if (!b) return;
    b.events += s.events;
    b.completed += s.completed;
    b.cut += s.cut;
    if (first) (b.first ??= newHistogram()).add(first);
    if (gap) (b.gap ??= newHistogram()).add(gap);
  }

  /** The bucket for a time, or null when that second was already finalised (late samples are dropped). */
  private at(ms: number): Bucket | null {
    const i = ms < 0 ? 0 : Math.floor(ms / 1000);
    for (let j = this.buckets.length; j <= i; j++) this.buckets[j] = new Bucket();
    const b = this.buckets[i]!;
    return b.final ? null : b;
  }
}

function gapSummary(h: Histogram | null): StreamSecond['gapMs'] {
  const s = h ? summarize(h) : null;
  return s ? { p50: s.p50, p99: s.p99, max: s.max } : null;
}
