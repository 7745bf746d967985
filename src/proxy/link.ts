/**
 * One direction of a proxied connection: bytes from `src` through a chain of stages to `dst`.
 *
 *   src ──pipe──────────────────────────────> dst        (no stages: the fast path)
 *   src ──data──> stage 0 ──> stage 1 ──> ... ──> dst    (toxics present)
 *
 * The link switches between the two as toxics are added and removed, on open connections too.
 * A removed stage first hands on what it holds, so no byte is lost or reordered. Backpressure:
 * the source is paused while the destination wants a drain or any stage asks for a hold.
 */
import type { Socket } from 'node:net';
import type { Clock, Stage, StageContext } from './types.ts';

export interface LinkOwner {
  readonly clock: Clock;
  readonly random: () => number;
  /** Called by a stage's ctx.close(); `from` is the link the stage sits in. */
  close(from: Link): void;
  reset(): void;
}

interface Entry {
  readonly key: string;
  stage: Stage;
  removed: boolean;
}

const NOOP_STAGE: Stage = { write() {}, end() {}, flush() {}, destroy() {} };

export class Link {
  private entries: Entry[] = [];
  private readonly holds = new Set<object>();
  private readonly dstHold = {};
  private mode: 'idle' | 'pipe' | 'chain' = 'idle';
  private started = false;
  private cutOff = false;
  private dead = false;

  constructor(
    private readonly src: Socket,
    private readonly dst: Socket,
    private readonly owner: LinkOwner,
  ) {}

  get stageCount(): number {
    return this.entries.length;
  }

  start(): void {
    this.started = true;
    this.src.on('end', this.onEnd);
    this.dst.on('drain', this.onDrain);
    this.applyMode();
  }

  has(key: string): boolean {
    return this.entries.some((e) => e.key === key);
  }

  /** Inserts a stage (at the end unless `index` is given). */
  add(key: string, make: (ctx: StageContext) => Stage, index = this.entries.length): void {
    if (this.dead) return;
    const entry: Entry = { key, stage: NOOP_STAGE, removed: false };
    this.entries.splice(index, 0, entry);
    entry.stage = make(this.contextFor(entry));
    this.applyMode();
  }

  /** Removes a stage after it has handed on what it holds. */
  remove(key: string): void {
    this.take(key, 'removed');
    this.applyMode();
  }

  /** Swaps a stage for a new one in the same place (or just drops it when `make` is undefined). */
  replace(key: string, make: ((ctx: StageContext) => Stage) | undefined): void {
    const index = this.take(key, 'replaced');
    if (make) this.add(key, make, index === -1 ? this.entries.length : index);
    else this.applyMode();
  }

  private take(key: string, reason: 'removed' | 'replaced'): number {
    const index = this.entries.findIndex((e) => e.key === key);
    if (index === -1) return -1;
    const entry = this.entries[index]!;
    entry.stage.flush(reason);
    entry.removed = true;
    this.entries = this.entries.filter((e) => e !== entry);
    this.holds.delete(entry);
    return Math.min(index, this.entries.length);
  }

  /** Stops taking data from the source and ends the destination after what is queued. */
  cut(): void {
    if (this.cutOff || this.dead) return;
    this.cutOff = true;
    if (this.mode === 'pipe') this.src.unpipe(this.dst);
    this.src.off('data', this.onData);
    this.deliverEnd(0);
  }

  destroy(): void {
    if (this.dead) return;
    this.dead = true;
    for (const e of this.entries) e.stage.destroy();
    this.entries = [];
    if (this.mode === 'pipe') this.src.unpipe(this.dst);
    this.src.off('data', this.onData);
    this.src.off('end', this.onEnd);
    this.dst.off('drain', this.onDrain);
  }

  private contextFor(entry: Entry): StageContext {
    const next = (): number => this.entries.indexOf(entry) + 1;
    return {
      clock: this.owner.clock,
      random: this.owner.random,
      push: (chunk) => {
        if (!entry.removed) this.deliver(next(), chunk);
      },
      end: () => {
        if (!entry.removed) this.deliverEnd(next());
      },
      close: () => {
        if (entry.removed || this.dead) return;
        this.cutOff = true;
        this.deliverEnd(next());
        this.owner.close(this);
      },
      reset: () => this.owner.reset(),
      hold: (on) => this.setHold(entry, on),
    };
  }

  private applyMode(): void {
    if (!this.started || this.dead || this.cutOff) return;
    if (this.entries.length === 0) {
      if (this.mode === 'pipe') return;
      this.src.off('data', this.onData);
      this.holds.clear();
      this.mode = 'pipe';
      this.src.pipe(this.dst, { end: false });
      return;
    }
    if (this.mode !== 'chain') {
      if (this.mode === 'pipe') this.src.unpipe(this.dst);
      this.mode = 'chain';
      this.src.on('data', this.onData);
    }
    this.updateFlow();
  }

  private deliver(index: number, chunk: Buffer): void {
    if (this.dead) return;
    const entry = this.entries[index];
    if (entry) return entry.stage.write(chunk);
    if (this.dst.destroyed || this.dst.writableEnded) return;
    if (!this.dst.write(chunk)) this.setHold(this.dstHold, true);
  }

  private deliverEnd(index: number): void {
    if (this.dead) return;
    const entry = this.entries[index];
    if (entry) return entry.stage.end();
    if (!this.dst.destroyed && !this.dst.writableEnded) this.dst.end();
  }

  private setHold(token: object, on: boolean): void {
    if (on) this.holds.add(token);
    else this.holds.delete(token);
    if (this.mode === 'chain') this.updateFlow();
  }

  private updateFlow(): void {
    if (this.holds.size > 0) this.src.pause();
    else this.src.resume();
  }

  private readonly onData = (chunk: Buffer): void => {
    if (!this.cutOff) this.deliver(0, chunk);
  };

  private readonly onEnd = (): void => {
    if (!this.cutOff) this.deliverEnd(0);
  };

  private readonly onDrain = (): void => this.setHold(this.dstHold, false);
}
