/**
 * Small pieces the metrics store and the per-profile recorder share: the outcomes of one phase,
 * and adding one map of counts into another.
 */
import type { Histogram } from '../core/hist.ts';

/** The outcomes attributed to one phase (baseline, fault, recovery), with their latency. */
export class PhaseAcc {
  ok = 0;
  failed = 0;
  dropped = 0;
  hist: Histogram | null = null;
}

/** Adds each count of `from` to `into` (missing keys count as 0) and returns `into`. */
export function addCounts<K extends string>(
  into: Partial<Record<K, number>>,
  from: Partial<Record<K, number>>,
): Partial<Record<K, number>> {
  for (const [k, v] of Object.entries(from) as [K, number][]) into[k] = (into[k] ?? 0) + v;
  return into;
}
