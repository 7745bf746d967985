/** Merging seconds from several sources is exact: the same as one source that saw everything. */
import { describe, expect, it } from 'vitest';
import { decode } from '../../src/core/hist.ts';
import { mergeTimelines } from '../../src/metrics/merge.ts';
import { MetricsStore } from '../../src/metrics/store.ts';
import { createPrng } from '../../src/load/prng.ts';

/** Feeds the same randomised outcomes to one store, and split by `part(i)` over `n` stores. */
function feed(n: number, part: (i: number) => number) {
  const one = new MetricsStore();
  const parts = Array.from({ length: n }, () => new MetricsStore());
  const prng = createPrng(11);
  for (let i = 0; i < 3000; i++) {
    const at = prng.next() * 5000;
    const lat = 1 + prng.exp() * 40;
    const fail = prng.next() < 0.1;
    const drop = prng.next() < 0.02;
    for (const s of [one, parts[part(i)]!]) {
      s.arrival(at);
      if (drop) {
        s.drop(at);
        continue;
      }
      s.send(at, at + 0.5);
      s.result(at, at + 0.5, at + lat, fail ? 503 : 200, null);
    }
  }
  return { one: one.timeline(5), merged: mergeTimelines(parts.map((p) => p.timeline(5))) };
}

describe('mergeTimelines', () => {
  it('counts add and histograms add: percentiles equal a single store that saw it all', () => {
    const { one, merged } = feed(3, (i) => i % 3);
    expect(merged).toHaveLength(one.length);
    for (let t = 0; t < one.length; t++) {
      const a = one[t]!,
        b = merged[t]!;
      for (const k of ['requested', 'sent', 'dropped', 'ok', 'failed', 'cancelled', 'notSent'] as const)
        expect(b[k], `second ${t} ${k}`).toBe(a[k]);
      expect(b.errors).toEqual(a.errors);
      expect(b.status).toEqual(a.status);
      // Percentiles are bucket values: exact. The max of a decoded histogram is its bucket's top,
      // equal within the HDR precision (3 significant digits).
      const { max: maxB, ...restB } = b.latencyMs!;
      const { max: maxA, ...restA } = a.latencyMs!;
      expect(restB).toEqual(restA);
      expect(Math.abs(maxB - maxA) / maxA).toBeLessThan(0.001);
      expect(decode(b.hist!).totalCount).toBe(decode(a.hist!).totalCount);
      expect(b.phases.baseline!.ok).toBe(a.phases.baseline!.ok);
      expect(b.phases.baseline!.dropped).toBe(a.phases.baseline!.dropped);
    }
  });

  it('is independent of how the work was split', () => {
    const a = feed(2, (i) => i % 2).merged;
    const b = feed(4, (i) => (i * 7) % 4).merged;
    expect(b.map((s) => s.latencyMs!.p99)).toEqual(a.map((s) => s.latencyMs!.p99));
    expect(b.map((s) => [s.requested, s.ok, s.failed])).toEqual(a.map((s) => [s.requested, s.ok, s.failed]));
  });
});
