import { describe, expect, it } from 'vitest';
import { inverseIntegral, segmentOf, sequence, stepLevel } from '../../src/scenario/patterns.ts';

/** Numerically integrates rate(t) to check each closed-form integral. */
function numericIntegral(rate: (t: number) => number, t: number): number {
  const n = 20_000;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += rate(((i + 0.5) / n) * t) * (t / n);
  return sum / 1000;
}

describe('patterns', () => {
  it('constant: rate and integral', () => {
    const s = segmentOf({ kind: 'constant', rate: 50, duration: 10_000 });
    expect(s.rate(3000)).toBe(50);
    expect(s.integral(10_000)).toBe(500);
    expect(s.peakRate).toBe(50);
  });

  it('ramp: linear from → to', () => {
    const s = segmentOf({ kind: 'ramp', from: 20, to: 400, duration: 60_000 });
    expect(s.rate(0)).toBe(20);
    expect(s.rate(30_000)).toBe(210);
    expect(s.integral(60_000)).toBeCloseTo(((20 + 400) / 2) * 60, 6);
    expect(s.peakRate).toBe(400);
  });

  it('spike: rise, hold, fall', () => {
    const s = segmentOf({ kind: 'spike', from: 50, to: 500, rise: 2000, hold: 20_000, fall: 2000 });
    expect(s.durationMs).toBe(24_000);
    expect(s.rate(1000)).toBe(275);
    expect(s.rate(10_000)).toBe(500);
    expect(s.rate(23_000)).toBe(275);
    expect(s.integral(24_000)).toBeCloseTo(275 * 2 + 500 * 20 + 275 * 2, 6);
  });

  it('burst: pulses of rate for length at the start of every period, base between; closed-form integral', () => {
    const s = segmentOf({
      kind: 'burst',
      rate: 500,
      base: 20,
      length: 2000,
      every: 10_000,
      duration: 35_000,
    });
    expect(s.durationMs).toBe(35_000);
    expect(s.peakRate).toBe(500);
    expect([0, 1999, 2000, 9999, 10_000, 12_500, 31_000, 33_000].map((t) => s.rate(t))).toEqual([
      500, 500, 20, 20, 500, 20, 500, 20,
    ]);
    // Three whole cycles (500·2 + 20·8 = 1160 each) and a part: 2 s of pulse, 3 s of base.
    expect(s.integral(35_000)).toBeCloseTo(3 * 1160 + 1000 + 60, 9);
    for (const t of [0, 700, 2000, 2001, 9_999.5, 10_000, 17_321, 35_000])
      expect(s.integral(t)).toBeCloseTo(numericIntegral(s.rate, t), 0); // numerics blur the jumps by a bin
    // Arrivals invert it: the 1,000th arrival is at the end of the first pulse.
    expect(inverseIntegral(s, 1000, 0)).toBeCloseTo(2000, 3);
    expect(inverseIntegral(s, 1160 + 500, 0)).toBeCloseTo(11_000, 3);
    const noBase = segmentOf({ kind: 'burst', rate: 100, base: 0, length: 500, every: 2000, duration: 4000 });
    expect(noBase.integral(4000)).toBeCloseTo(100, 9);
    expect(inverseIntegral(noBase, 60, 0)).toBeCloseTo(2100, 3);
  });

  it('sine: mean + amplitude·sin(2πt/period), integral matches numerics', () => {
    const s = segmentOf({ kind: 'sine', mean: 3000, amplitude: 2000, period: 20_000, duration: 60_000 });
    expect(s.rate(5000)).toBeCloseTo(5000, 6);
    expect(s.rate(15_000)).toBeCloseTo(1000, 6);
    expect(s.integral(60_000)).toBeCloseTo(3000 * 60, 3);
    expect(s.integral(7_000)).toBeCloseTo(numericIntegral(s.rate, 7_000), 2);
    expect(s.peakRate).toBe(5000);
  });

  it('step: levels as rates or percentages of peak', () => {
    const s = segmentOf({ kind: 'step', peak: 400, levels: ['10%', '25%', '50%', '100%'], each: 15_000 });
    expect(s.durationMs).toBe(60_000);
    expect([s.rate(1000), s.rate(16_000), s.rate(31_000), s.rate(59_000)]).toEqual([40, 100, 200, 400]);
    expect(s.integral(60_000)).toBeCloseTo((40 + 100 + 200 + 400) * 15, 6);
    expect(stepLevel(120, undefined)).toBe(120);
    expect(stepLevel('10%', undefined)).toBeNaN();
  });

  it('time scale compresses every time and keeps rates', () => {
    const s = segmentOf({ kind: 'spike', from: 50, to: 500, rise: 2000, hold: 20_000, fall: 2000 }, 0.1);
    expect(s.durationMs).toBeCloseTo(2400, 9);
    expect(s.rate(1000)).toBe(500);
  });

  it('sequence: phases one after another, integral continuous at boundaries', () => {
    const s = sequence([
      segmentOf({ kind: 'constant', rate: 10, duration: 1000 }),
      segmentOf({ kind: 'ramp', from: 10, to: 30, duration: 1000 }),
    ]);
    expect(s.durationMs).toBe(2000);
    expect(s.integral(1000)).toBeCloseTo(10, 9);
    expect(s.integral(2000)).toBeCloseTo(30, 9);
    expect(s.rate(2500)).toBe(0);
  });

  it('inverseIntegral finds the time a count is reached, also across zero-rate spans', () => {
    const s = sequence([
      segmentOf({ kind: 'constant', rate: 0, duration: 1000 }),
      segmentOf({ kind: 'constant', rate: 100, duration: 1000 }),
    ]);
    expect(inverseIntegral(s, 50, 0)).toBeCloseTo(1500, 3);
    expect(inverseIntegral(s, 100, 0)).toBe(Number.POSITIVE_INFINITY);
  });
});
