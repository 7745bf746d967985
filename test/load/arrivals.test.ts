import { describe, expect, it } from 'vitest';
import { Arrivals } from '../../src/load/arrivals.ts';
import { segmentOf } from '../../src/scenario/patterns.ts';
import { createPrng } from '../../src/load/prng.ts';

function all(a: Arrivals): number[] {
  const out: number[] = [];
  for (let t = a.next(); Number.isFinite(t); t = a.next()) out.push(t);
  return out;
}

describe('arrivals', () => {
  it('even spacing: constant 10/s for 1 s gives 10 arrivals centred 100 ms apart', () => {
    const ts = all(
      new Arrivals(segmentOf({ kind: 'constant', rate: 10, duration: 1000 }), 'even', createPrng(1)),
    );
    expect(ts).toHaveLength(10);
    ts.forEach((t, i) => expect(t).toBeCloseTo(50 + 100 * i, 6));
  });

  it('even spacing follows a ramp: per-second counts match the integral', () => {
    const seg = segmentOf({ kind: 'ramp', from: 0, to: 200, duration: 10_000 });
    const ts = all(new Arrivals(seg, 'even', createPrng(1)));
    expect(ts.length).toBe(1000);
    for (let s = 0; s < 10; s++) {
      const n = ts.filter((t) => t >= s * 1000 && t < (s + 1) * 1000).length;
      expect(Math.abs(n - (seg.integral((s + 1) * 1000) - seg.integral(s * 1000)))).toBeLessThanOrEqual(1);
    }
    ts.slice(1).forEach((t, i) => expect(t).toBeGreaterThan(ts[i]!));
  });

  it('poisson: mean count matches, gaps are exponential (CV ≈ 1), and the seed replays', () => {
    const seg = segmentOf({ kind: 'constant', rate: 1000, duration: 20_000 });
    const a = all(new Arrivals(seg, 'poisson', createPrng(42)));
    const b = all(new Arrivals(seg, 'poisson', createPrng(42)));
    const c = all(new Arrivals(seg, 'poisson', createPrng(43)));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(Math.abs(a.length - 20_000)).toBeLessThan(20_000 * 0.03);
    const gaps = a.slice(1).map((t, i) => t - a[i]!);
    const mean = gaps.reduce((x, y) => x + y, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((x, g) => x + (g - mean) ** 2, 0) / gaps.length);
    expect(mean).toBeCloseTo(1, 1);
    expect(sd / mean).toBeGreaterThan(0.9);
    expect(sd / mean).toBeLessThan(1.1);
  });
});
