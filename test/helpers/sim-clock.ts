/**
 * Simulated time for lifecycle tests: timers fire only when the test advances the clock, in time
 * order, and pending promise callbacks run between two timers (so `await` chains in the code under
 * test make progress as they would in real time).
 */
import type { Clock, TimerHandle } from '../../src/core/clock.ts';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/** Lets queued microtasks and immediates run (real I/O is not simulated). */
export async function flush(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

export class SimClock implements Clock {
  private t = 0;
  private same = 0;
  private seq = 0;
  private timers = new Map<number, Timer>();

  constructor(private readonly wallOrigin = 1_800_000_000_000) {}

  now(): number {
    return this.t;
  }

  wallNow(): number {
    return this.wallOrigin + this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { id, at: this.t + Math.max(0, ms), fn });
    return { id } as unknown as TimerHandle;
  }

  clearTimeout(h: TimerHandle | null): void {
    if (h) this.timers.delete((h as unknown as { id: number }).id);
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  private nextDue(until: number): Timer | undefined {
    let best: Timer | undefined;
    for (const x of this.timers.values()) {
      if (x.at > until) continue;
      if (!best || x.at < best.at || (x.at === best.at && x.id < best.id)) best = x;
    }
    return best;
  }

  /** Moves time forward by `ms`, firing due timers in order, flushing promises after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await flush();
    for (;;) {
      const due = this.nextDue(end);
      if (!due) break;
      this.timers.delete(due.id);
      if (process.env.SIMDEBUG && due.at === this.t) {
        this.same = (this.same ?? 0) + 1;
        if (this.same % 1000 === 0)
          console.log('same-time timer', this.t, due.fn.name, due.fn.toString().slice(0, 200));
      } else this.same = 0;
      this.t = Math.max(this.t, due.at);
      due.fn();
      await flush();
    }
    this.t = end;
    await flush();
  }

  /**
   * The process was stopped for `ms` (SIGSTOP, a frozen VM): time jumps and nothing runs meanwhile;
   * overdue timers fire on the next advance(), as a resumed process's would.
   */
  jump(ms: number): void {
    this.t += ms;
  }

  /** Advances in steps until `done` settles (or `maxMs` of simulated time passed). */
  async runUntil<T>(done: Promise<T>, maxMs: number, stepMs = 50): Promise<T> {
    let settled = false;
    let value: T | undefined;
    let error: unknown;
    done.then(
      (v) => ((settled = true), (value = v)),
      (e) => ((settled = true), (error = e)),
    );
    const end = this.t + maxMs;
    while (!settled && this.t < end) await this.advance(stepMs);
    await flush();
    if (!settled) throw new Error(`did not settle within ${maxMs} ms of simulated time`);
    if (error) throw error;
    return value as T;
  }
}
