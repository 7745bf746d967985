/**
 * The runner's clock. Everything that schedules in a run (the load scheduler, the fault runner,
 * the ticker, stop conditions) takes a Clock, so lifecycle tests run in simulated time
 * (test/helpers/sim-clock.ts) in milliseconds instead of seconds of real sleeping.
 */

/** An opaque timer handle. */
export type TimerHandle = { readonly __timer: true };

export interface Clock {
  /** Monotonic milliseconds; the origin is arbitrary. */
  now(): number;
  /** Wall-clock milliseconds since the epoch (for timestamps in results only, never for timing). */
  wallNow(): number;
  /** Runs `fn` after `ms` (0: as soon as the event loop turns). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(h: TimerHandle | null): void;
}

type RealHandle = { t?: NodeJS.Timeout; i?: NodeJS.Immediate };

/** Node's timers and performance.now(). A 0 ms timer is a setImmediate (one turn of the loop). */
export const realClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout(fn, ms) {
    const h: RealHandle = ms <= 0 ? { i: setImmediate(fn) } : { t: setTimeout(fn, ms) };
    return h as unknown as TimerHandle;
  },
  clearTimeout(h) {
    if (!h) return;
    const r = h as unknown as RealHandle;
    if (r.t) clearTimeout(r.t);
    if (r.i) clearImmediate(r.i);
  },
};

/** A repeating timer on any clock (the clock has only one-shot timers). */
export function every(clock: Clock, ms: number, fn: () => void): { stop(): void } {
  let h: TimerHandle | null = null;
  let stopped = false;
  let next = clock.now() + ms;
  const arm = () => {
    h = clock.setTimeout(
      () => {
        if (stopped) return;
        next += ms;
        // A stalled process (SIGSTOP) does not fire a burst of overdue ticks when it resumes.
        if (next < clock.now()) next = clock.now() + ms;
        arm();
        fn();
      },
      Math.max(0, next - clock.now()),
    );
  };
  arm();
  return {
    stop() {
      stopped = true;
      clock.clearTimeout(h);
    },
  };
}
