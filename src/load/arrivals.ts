/**
 * Arrival times from the integral of rate(t): the k-th arrival is where the expected count
 * reaches s_k, with s_k = k + ½ (even spacing, centred in each unit) or a running sum of Exp(1) gaps (a Poisson process,
 * by the time-rescaling theorem). Pure given the segment and the PRNG.
 */
import { inverseIntegral, type Segment } from './patterns.ts';
import type { Prng } from './prng.ts';

export class Arrivals {
  private s = 0;
  private t = 0;
  private readonly total: number;

  constructor(
    private readonly seg: Segment,
    private readonly mode: 'even' | 'poisson',
    private readonly prng: Prng,
  ) {
    this.total = seg.integral(seg.durationMs);
    this.s = mode === 'poisson' ? prng.exp() : 0.5;
  }

  /** Intended time (ms from start) of the next arrival, or Infinity when the pattern is over. */
  next(): number {
    if (this.s >= this.total) return Number.POSITIVE_INFINITY;
    const t = inverseIntegral(this.seg, this.s, this.t);
    if (!Number.isFinite(t)) return t;
    this.t = t;
    this.s += this.mode === 'even' ? 1 : this.prng.exp();
    return t;
  }
}
