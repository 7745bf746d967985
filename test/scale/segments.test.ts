/**
 * Execution segments (src/load/arrivals.ts): the union of N segments is exactly the single-process
 * arrival sequence for the seed, each segment alone is evenly spread, and what one arrival draws
 * depends on its index only.
 */
import { describe, expect, it } from 'vitest';
import { ArrivalPrng, Arrivals, arrivalCount, arrivalUnit } from '../../src/load/arrivals.ts';
import { segmentOf, sequence, type Segment } from '../../src/scenario/patterns.ts';
import { createPrng } from '../../src/load/prng.ts';

function all(a: Arrivals): { t: number; k: number }[] {
  const out: { t: number; k: number }[] = [];
  for (let t = a.next(); Number.isFinite(t); t = a.next()) out.push({ t, k: a.index });
  return out;
}

const patterns: [string, Segment][] = [
  ['constant', segmentOf({ kind: 'constant', rate: 97, duration: 10_000 })],
  ['ramp', segmentOf({ kind: 'ramp', from: 0, to: 300, duration: 8_000 })],
  [
    'spike',
    sequence([
      segmentOf({ kind: 'constant', rate: 50, duration: 3_000 }),
      segmentOf({ kind: 'spike', from: 50, to: 500, rise: 1_000, hold: 2_000, fall: 1_000 }),
    ]),
  ],
];

describe('execution segments', () => {
  for (const [name, seg] of patterns) {
    for (const mode of ['even', 'poisson'] as const) {
      it(`${name}, ${mode}: the union of N segments is exactly the single-process sequence (N = 1..5)`, () => {
        const whole = all(new Arrivals(seg, mode, createPrng(7)));
        expect(whole.map((a) => a.k)).toEqual(whole.map((_, i) => i));
        for (let n = 1; n <= 5; n++) {
          const parts = Array.from({ length: n }, (_, i) =>
            all(new Arrivals(seg, mode, createPrng(7), { index: i, count: n })),
          );
          for (const [i, p] of parts.entries()) expect(p.every((a) => a.k % n === i)).toBe(true);
          const union = parts.flat().sort((a, b) => a.k - b.k);
          // Bit-identical times, not approximately equal ones.
          expect(union).toEqual(whole);
        }
      });
    }
  }

  it('each segment alone is evenly spread: per-second counts within one of the whole stream’s share', () => {
    const seg = segmentOf({ kind: 'ramp', from: 10, to: 400, duration: 10_000 });
    const whole = all(new Arrivals(seg, 'even', createPrng(1)));
    for (const n of [2, 3, 4]) {
      for (let i = 0; i < n; i++) {
        const mine = all(new Arrivals(seg, 'even', createPrng(1), { index: i, count: n }));
        for (let s = 0; s < 10; s++) {
          const inSecond = (xs: { t: number }[]) =>
            xs.filter((a) => a.t >= s * 1000 && a.t < s * 1000 + 1000);
          expect(Math.abs(inSecond(mine).length - inSecond(whole).length / n)).toBeLessThanOrEqual(1);
        }
        // Even spacing: consecutive arrivals of one segment are N expected arrivals apart.
        for (let j = 1; j < mine.length; j++)
          expect(seg.integral(mine[j]!.t) - seg.integral(mine[j - 1]!.t)).toBeCloseTo(n, 6);
      }
    }
  });

  it('counts the stream’s arrivals (even spacing exactly)', () => {
    const seg = segmentOf({ kind: 'constant', rate: 10, duration: 1_000 });
    expect(arrivalCount(seg, 'even')).toBe(all(new Arrivals(seg, 'even', createPrng(1))).length);
    const ramp = segmentOf({ kind: 'ramp', from: 0, to: 33, duration: 7_000 });
    expect(arrivalCount(ramp, 'even')).toBe(all(new Arrivals(ramp, 'even', createPrng(1))).length);
  });

  it('refuses a segment outside 0..N-1', () => {
    const seg = segmentOf({ kind: 'constant', rate: 10, duration: 1_000 });
    expect(() => new Arrivals(seg, 'even', createPrng(1), { index: 3, count: 3 })).toThrow(/not among 0..2/);
    expect(() => new Arrivals(seg, 'even', createPrng(1), { index: 0, count: 0 })).toThrow(/invalid/);
  });

  it('per-arrival draws depend on (seed, index) only, and are uniform', () => {
    expect(arrivalUnit(5, 123)).toBe(arrivalUnit(5, 123));
    expect(arrivalUnit(5, 123)).not.toBe(arrivalUnit(6, 123));
    expect(arrivalUnit(5, 2 ** 33 + 1)).not.toBe(arrivalUnit(5, 1));
    const bins = new Array<number>(10).fill(0);
    for (let k = 0; k < 100_000; k++) bins[Math.floor(arrivalUnit(9, k) * 10)]!++;
    for (const b of bins) expect(Math.abs(b - 10_000)).toBeLessThan(500);
    const p = new ArrivalPrng(3);
    const a = [p.at(42).next(), p.next(), p.int(100)];
    p.at(7).next();
    expect([p.at(42).next(), p.next(), p.int(100)]).toEqual(a);
  });
});
