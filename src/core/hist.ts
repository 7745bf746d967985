/** HDR histograms in microseconds; summaries in milliseconds. Results merge histograms, never averages. */
import * as hdr from 'hdr-histogram-js';

export type Histogram = hdr.Histogram;

const HIGHEST_US = 3_600_000_000; // one hour

export function newHistogram(): Histogram {
  return hdr.build({
    bitBucketSize: 32,
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

export function recordMs(h: Histogram, ms: number): void {
  const us = Math.round(ms * 1000);
  h.recordValue(us < 1 ? 1 : us > HIGHEST_US ? HIGHEST_US : us);
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

const r3 = (us: number) => Math.round(us) / 1000;

export function summarize(h: Histogram): LatencySummary | null {
  if (h.totalCount === 0) return null;
  return {
    p50: r3(h.getValueAtPercentile(50)),
    p90: r3(h.getValueAtPercentile(90)),
    p95: r3(h.getValueAtPercentile(95)),
    p99: r3(h.getValueAtPercentile(99)),
    max: r3(h.maxValue),
    mean: r3(h.mean),
  };
}

/** Value at an arbitrary percentile, in ms. */
export function percentileMs(h: Histogram, p: number): number {
  return r3(h.getValueAtPercentile(p));
}

export function encode(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decode(s: string): Histogram {
  return hdr.decodeFromCompressedBase64(s, 32, false);
}

/** Merges encoded histograms exactly (counts add; nothing is averaged). */
export function mergeEncoded(list: readonly (string | undefined)[]): Histogram {
  const out = newHistogram();
  for (const s of list) if (s) out.add(decode(s));
  return out;
}
