/** src/compare-stats.ts: the two tests `chaos compare` uses, against values computed by SciPy. */
import { describe, expect, it } from 'vitest';
import {
  errorRateGreater,
  mannWhitneyGreater,
  median,
  normalUpperTail,
  rateOf,
} from '../src/compare-stats.ts';

describe('mannWhitneyGreater (one-sided: y larger than x)', () => {
  // scipy.stats.mannwhitneyu(y, x, alternative='greater', method='asymptotic', use_continuity=True)
  it.each([
    [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], 0.006092890177672406],
    [[1, 1, 2, 2, 3, 4], [2, 3, 3, 3, 5, 7], 0.0499848409689016], // ties
    [[4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5, 11.5], [1, 2, 3, 4, 5, 6, 7, 8], 0.990935496067514],
  ])('%j vs %j: p = %f', (x, y, p) => {
    expect(mannWhitneyGreater(x, y)).toBeCloseTo(p, 6);
  });

  it('is 1 for an empty side or when every value is the same', () => {
    expect(mannWhitneyGreater([], [1, 2])).toBe(1);
    expect(mannWhitneyGreater([3, 3, 3], [3, 3])).toBe(1);
  });
});

describe('errorRateGreater (one-sided: the new rate higher)', () => {
  const seconds = (failed: number[]) => failed.map((f) => ({ failed: f, total: 100 }));

  it('errors spread evenly: the plain pooled two-proportion z test (1% → 3% over 1000 requests)', () => {
    expect(errorRateGreater(seconds(Array(10).fill(1)), seconds(Array(10).fill(3)))).toBeCloseTo(
      0.0007006507904801069,
      6,
    );
  });

  it('the same rates in bursts (one bad second, then three): far less certain', () => {
    const p = errorRateGreater(
      seconds([10, ...Array(9).fill(0)]),
      seconds([10, 10, 10, ...Array(7).fill(0)]),
    );
    expect(p).toBeCloseTo(0.13666083914614907, 6);
  });

  it('is 1 without requests or without any difference in the data', () => {
    expect(errorRateGreater([], seconds([5]))).toBe(1);
    expect(errorRateGreater(seconds([0, 0]), seconds([0, 0]))).toBe(1);
  });
});

describe('helpers', () => {
  it('median, rate and the normal tail', () => {
    expect(median([])).toBeNull();
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(
      rateOf([
        { failed: 1, total: 4 },
        { failed: 0, total: 0 },
      ]),
    ).toEqual({ requests: 4, failed: 1, rate: 0.25 });
    expect(rateOf([])).toEqual({ requests: 0, failed: 0, rate: null });
    // scipy.stats.norm.sf
    expect(normalUpperTail(0)).toBeCloseTo(0.5, 7);
    expect(normalUpperTail(3.090232306167813)).toBeCloseTo(0.001, 6);
    expect(normalUpperTail(-1.6448536269514722)).toBeCloseTo(0.95, 6);
  });
});
