import type { StageContext } from '../types.ts';

interface Item {
  at: number;
  /** null marks end-of-stream. */
  chunk: Buffer | null;
}

/**
 * Releases chunks at given times, in the order they were added (a later chunk never overtakes an
 * earlier one). One timer for the head of the queue; nothing is scheduled when a chunk is already
 * due. Shared by the time-shaping toxics (latency, bandwidth, slicer, http_delay).
 */
export class DelayQueue {
  private items: Item[] = [];
  private head = 0;
  private timer: unknown = undefined;
  private lastAt = -Infinity;
  private queuedBytes = 0;
  private holding = false;
  private dead = false;

  /** `highWaterBytes`: stop reading the source while more than this is queued. */
  constructor(
    private readonly ctx: StageContext,
    private readonly highWaterBytes = Infinity,
  ) {}

  /** Release time of the last item added (or -Infinity). */
  get lastReleaseAt(): number {
    return this.lastAt;
  }

  get size(): number {
    return this.items.length - this.head;
  }

  add(chunk: Buffer, at: number): void {
    this.enqueue(chunk, at);
    this.queuedBytes += chunk.length;
    if (!this.holding && this.queuedBytes > this.highWaterBytes) {
      this.holding = true;
      this.ctx.hold(true);
    }
  }

  addEnd(at: number): void {
    this.enqueue(null, at);
  }

  /** Hands on everything now, in order. */
  flush(): void {
    this.cancelTimer();
    while (this.head < this.items.length && !this.dead) this.release(this.items[this.head++]!);
    this.reset();
  }

  destroy(): void {
    this.dead = true;
    this.cancelTimer();
    this.items = [];
    this.head = 0;
  }

  private enqueue(chunk: Buffer | null, at: number): void {
    const when = Math.max(at, this.lastAt);
    this.lastAt = when;
    if (this.size === 0 && when <= this.ctx.clock.now()) {
      this.release({ at: when, chunk });
      return;
    }
    this.items.push({ at: when, chunk });
    if (this.timer === undefined) this.schedule();
  }

  private pump = (): void => {
    this.timer = undefined;
    const now = this.ctx.clock.now();
    while (this.head < this.items.length && this.items[this.head]!.at <= now && !this.dead) {
      this.release(this.items[this.head++]!);
    }
    if (this.dead) return;
    if (this.head === this.items.length) this.reset();
    else {
      if (this.head > 1024) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      this.schedule();
    }
  };

  private schedule(): void {
    const next = this.items[this.head];
    if (!next) return;
    this.timer = this.ctx.clock.setTimeout(this.pump, Math.max(0, next.at - this.ctx.clock.now()));
  }

  private release(item: Item): void {
    if (item.chunk === null) {
      this.ctx.end();
      return;
    }
    this.queuedBytes -= item.chunk.length;
    if (this.holding && this.queuedBytes <= this.highWaterBytes / 2) {
      this.holding = false;
      this.ctx.hold(false);
    }
    this.ctx.push(item.chunk);
  }

  private reset(): void {
    this.items = [];
    this.head = 0;
    this.queuedBytes = 0;
    if (this.holding) {
      this.holding = false;
      this.ctx.hold(false);
    }
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) this.ctx.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
