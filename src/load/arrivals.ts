/**
 * Arrival times from the integral of rate(t): the k-th arrival (k = 0, 1, …) is where the expected
 * count reaches s_k, with s_k = k + ½ (even spacing, centred in each unit) or a running sum of
 * Exp(1) gaps (a Poisson process, by the time-rescaling theorem). Pure given the segment and the PRNG.
 *
 * Execution segments (scale-out: `--workers`, `--runners`, docs/scale-out.md): arrival k belongs
 * to segment k mod N. Every segment draws every Poisson gap from the same seeded stream and keeps
 * only its own arrivals, so the union of the N segments is exactly the single-process sequence,
 * and each segment alone is spread as evenly as the stream itself (every N-th arrival; with even
 * spacing, 1/N of the rate at exactly even gaps). Whatever depends on one arrival (which request of
 * the mix, a template's random values) is seeded by the arrival's index k, never by the order in
 * which one process happened to send, so `--seed` replays the same run whatever N is.
 */
import { inverseIntegral, type Segment } from '../scenario/patterns.ts';
import { createPrng, type Prng } from './prng.ts';

/** Segment `index` of `count` equal segments of a stream's arrivals (k6: execution segments). */
export interface ExecutionSegment {
  index: number;
  count: number;
}

/** The whole stream: one process does everything. */
export const WHOLE_STREAM: ExecutionSegment = { index: 0, count: 1 };

export class Arrivals {
  private s = 0;
  /** The last whole second (from the start) at which the expected count is at most s. */
  private sec = 0;
  private readonly total: number;
  /** Index in the whole stream of the arrival that next() will return. */
  private k: number;
  /** Index in the whole stream of the arrival next() returned last (-1 before the first). */
  index = -1;
  /** The expected count at the end of second `sec` (Infinity for the pattern's last second). */
  private secEnd: number;

  constructor(
    private readonly seg: Segment,
    private readonly mode: 'even' | 'poisson',
    private readonly prng: Prng,
    private readonly part: ExecutionSegment = WHOLE_STREAM,
  ) {
    if (!Number.isInteger(part.count) || part.count < 1 || !Number.isInteger(part.index))
      throw new RangeError(`invalid execution segment ${part.index} of ${part.count}`);
    if (part.index < 0 || part.index >= part.count)
      throw new RangeError(`execution segment ${part.index} is not among 0..${part.count - 1}`);
    this.total = seg.integral(seg.durationMs);
    this.secEnd = this.countAtEndOf(0);
    this.k = part.index;
    if (mode === 'even') this.s = this.k + 0.5;
    else for (let j = 0; j <= this.k; j++) this.s += prng.exp();
  }

  private countAtEndOf(sec: number): number {
    const end = (sec + 1) * 1000;
    return end < this.seg.durationMs ? this.seg.integral(end) : Number.POSITIVE_INFINITY;
  }

  /** Intended time (ms from start) of this segment's next arrival, or Infinity when the pattern is over. */
  next(): number {
    if (this.s >= this.total) return Number.POSITIVE_INFINITY;
    // The search starts from the last whole second before the arrival (a function of s_k alone,
    // not of this segment's previous arrival), so every segment computes bit-identical times.
    // The expected count at the end of the current second is cached: most arrivals share a second.
    while (this.secEnd <= this.s) {
      this.sec++;
      this.secEnd = this.countAtEndOf(this.sec);
    }
    const t = inverseIntegral(this.seg, this.s, this.sec * 1000, this.total);
    if (!Number.isFinite(t)) return t;
    this.index = this.k;
    this.k += this.part.count;
    if (this.mode === 'even') this.s = this.k + 0.5;
    else for (let j = 0; j < this.part.count; j++) this.s += this.prng.exp();
    return t;
  }
}

/** How many arrivals the whole stream has with even spacing (Poisson: the expected count). */
export function arrivalCount(seg: Segment, mode: 'even' | 'poisson'): number {
  const total = seg.integral(seg.durationMs);
  return mode === 'even' ? Math.max(0, Math.ceil(total - 0.5)) : Math.floor(total);
}

/** A 32-bit mix (murmur3's finaliser). */
function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A 32-bit hash of (seed, arrival index); k may exceed 2^32. */
function arrivalHash(seed: number, k: number): number {
  const lo = k >>> 0;
  const hi = Math.floor(k / 4294967296) >>> 0;
  return fmix((fmix((seed ^ 0x9e3779b9) >>> 0) ^ lo) + Math.imul(hi, 0x27d4eb2f));
}

/** A uniform number in [0, 1) fixed by (seed, arrival index): the same in every segment layout. */
export function arrivalUnit(seed: number, k: number): number {
  return arrivalHash(seed, k) / 4294967296;
}

/** A seed for per-arrival draws, taken from a (forked) run PRNG. */
export function seedFrom(prng: Prng): number {
  return Math.floor(prng.next() * 4294967296) >>> 0;
}

/**
 * A generator reseeded for each arrival (`at(k)`), for what one request draws (template values):
 * sfc32 like the run's PRNG, one object for all arrivals (the hot path allocates nothing).
 */
export class ArrivalPrng implements Prng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  constructor(private readonly seed: number) {}

  /** Positions the generator at the start of arrival k's own stream. */
  at(k: number): this {
    // splitmix32 steps from the arrival's hash (inline: this runs once per request).
    const s = arrivalHash(this.seed, k);
    this.a = fmix((s + 0x9e3779b9) >>> 0);
    this.b = fmix((s + 2 * 0x9e3779b9) >>> 0);
    this.c = fmix((s + 3 * 0x9e3779b9) >>> 0);
    this.d = fmix((s + 4 * 0x9e3779b9) >>> 0);
    return this;
  }

  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) >>> 0;
    return t / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  exp(): number {
    return -Math.log(1 - this.next());
  }

  fork(label: string): Prng {
    let h = this.seed;
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
    return createPrng(h);
  }
}
