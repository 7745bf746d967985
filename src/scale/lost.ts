/**
 * What a lost segment leaves behind: its share of every second it did not ship. The coordinator
 * knows that share exactly (the arrivals of segment i of N are a pure function of the plan and
 * the seed), so those seconds stay whole in `requested`, and their arrivals count as dropped by
 * a stalled generator: not sent as far as anyone can tell, never blamed on the target, and the
 * verdict is `invalid` (the rate was not delivered).
 */
import { Arrivals, type ExecutionSegment } from '../load/arrivals.ts';
import type { Prng } from '../load/prng.ts';
import { emptySecond } from '../metrics/merge.ts';
import type { MergeableSecond } from '../metrics/store.ts';
import { planSegment, type RunPlan } from '../scenario/plan.ts';

export class LostShare {
  private readonly arrivals: Arrivals;
  private nextAt: number;
  private second = 0;
  private count = 0;
  /** Seconds merged so far (with a count, not shipped by the segment). */
  seconds = 0;
  /** Arrivals accounted as dropped. */
  dropped = 0;

  constructor(
    plan: RunPlan,
    prng: Prng,
    part: ExecutionSegment,
    private readonly shipped: ReadonlySet<number>,
  ) {
    // The same generator fork as the segment's scheduler (src/load/open-model.ts): the same arrivals.
    this.arrivals = new Arrivals(planSegment(plan), plan.arrivals, prng.fork('arrivals'), part);
    this.nextAt = this.arrivals.next();
  }

  /** Every arrival due before `untilMs` is accounted; whole seconds before it are handed to `merge`. */
  advance(untilMs: number, merge: (m: MergeableSecond) => void, final = false): void {
    while (this.nextAt < untilMs) {
      const s = Math.floor(this.nextAt / 1000);
      if (s !== this.second) this.flush(merge, s);
      this.count++;
      this.nextAt = this.arrivals.next();
    }
    if (final) this.flush(merge, Number.POSITIVE_INFINITY);
    else if (Math.floor(untilMs / 1000) > this.second) this.flush(merge, Math.floor(untilMs / 1000));
  }

  /** Arrivals before this time are all accounted (in seconds already merged). */
  get throughMs(): number {
    return this.second * 1000;
  }

  private flush(merge: (m: MergeableSecond) => void, next: number): void {
    if (this.count > 0 && !this.shipped.has(this.second)) {
      const s = emptySecond(this.second);
      s.requested = s.dropped = s.droppedStall = this.count;
      merge({ second: s, serviceHist: null, lagHist: null, streamGapHist: null });
      this.seconds++;
      this.dropped += this.count;
    }
    this.count = 0;
    this.second = next;
  }
}
