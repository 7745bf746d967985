/**
 * The live view of the present, once a second, for stop conditions, progress and live metrics.
 * Outcomes recorded per intended second only become final long after the fact (a slow response
 * belongs to the second it was meant to be sent in), so a view of "the last finished second" is
 * blind exactly when the target is slowest. This view takes what ended in the last second and
 * adds every request still waiting or in flight with its age so far: a request outstanding for
 * 2 s already counts as a 2 s latency, so `p99 > 500ms` sees a hung target while it hangs.
 */
import type { ErrorKind } from '../core/error-kinds.ts';
import { recordMs, summarize, type LatencySummary } from '../core/hist.ts';
import type { LiveWindow } from '../metrics/store.ts';

export interface LiveSnapshot {
  ok: number;
  failed: number;
  dropped: number;
  arrivals: number;
  achieved: number;
  errors: Partial<Record<ErrorKind, number>>;
  /** Ended requests' latency plus outstanding requests' ages (a lower bound on their latency). */
  latencyMs: LatencySummary | null;
  outstanding: number;
}

export function liveSnapshot(
  w: LiveWindow,
  outstanding: (visit: (intendedMs: number, sentMs: number | null) => void) => void,
  nowMs: number,
): LiveSnapshot {
  let n = 0;
  outstanding((intendedMs) => {
    n++;
    recordMs(w.latency, nowMs - intendedMs);
  });
  return {
    ok: w.ok,
    failed: w.failed,
    dropped: w.dropped,
    arrivals: w.arrivals,
    achieved: w.achieved,
    errors: { ...w.errors },
    latencyMs: summarize(w.latency),
    outstanding: n,
  };
}
