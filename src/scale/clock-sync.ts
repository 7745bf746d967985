/**
 * A segment's clock offset and round trip, measured by the coordinator before t0 (NTP's
 * four-timestamp rule with the coordinator's two ends): ping at t1, the segment stamps t2, the
 * pong arrives at t4. offset = t2 − (t1 + t4) / 2, round trip = t4 − t1; the sample with the
 * shortest round trip counts, and its offset is good to within half of it.
 */
import type { Clock } from '../core/clock.ts';
import { CLOCK_SAMPLES, type FromSegment, type ToSegment } from './protocol.ts';

export interface ClockSample {
  offsetMs: number;
  rttMs: number;
}

/** Pings `samples` times, one after another; rejects when no pong comes back within `timeoutMs`. */
export function measureClock(
  chan: { send(m: ToSegment): void; listen(fn: ((m: FromSegment) => void) | null): void },
  clock: Clock,
  samples = CLOCK_SAMPLES,
  timeoutMs = 5_000,
): Promise<ClockSample> {
  return new Promise((resolve, reject) => {
    const got: ClockSample[] = [];
    let id = 0;
    const timer = clock.setTimeout(() => {
      chan.listen(null);
      reject(new Error(`no answer to a clock ping within ${timeoutMs} ms`));
    }, timeoutMs);
    const ping = () => chan.send({ type: 'ping', id: ++id, t1: clock.wallNow() });
    chan.listen((m) => {
      if (m.type !== 'pong' || m.id !== id) return;
      const t4 = clock.wallNow();
      got.push({ offsetMs: m.t2 - (m.t1 + t4) / 2, rttMs: t4 - m.t1 });
      if (got.length < samples) return ping();
      clock.clearTimeout(timer);
      chan.listen(null);
      resolve(got.reduce((a, b) => (b.rttMs < a.rttMs ? b : a)));
    });
    ping();
  });
}
