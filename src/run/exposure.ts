/**
 * Fault windows as the measurements see them, for attribution by exposure: a request belongs to
 * the fault phase when a fault was in effect at any moment of its life (from its intended send
 * time to its end), not only when it was sent during one. A fault is in effect from the moment
 * its apply begins (the ledger's intent is written just before) until its revert has finished.
 *
 *   baseline: exposed to no fault, ended before the first fault began
 *   fault:    exposed to at least one fault (the key names which)
 *   recovery: exposed to no fault, ended after the first fault began
 *
 * The per-second `activeFaults` of the timeline stay by wall time (for the charts).
 */
import type { Exposure, PhaseName } from '../metrics/store.ts';

interface Window {
  id: string;
  startMs: number;
  /** Infinity while the fault is in effect. */
  endMs: number;
}

/** A change to the windows, as open() and close() made it (scale-out mirrors them to segments). */
export interface WindowChange {
  op: 'open' | 'close';
  id: string;
  atMs: number;
}

export class FaultWindows implements Exposure {
  private readonly wins: Window[] = [];
  private readonly keys = new Map<number, string>();
  private readonly listeners: ((c: WindowChange) => void)[] = [];
  firstStartMs = Number.POSITIVE_INFINITY;

  /** Hears every open() and close() after it took effect; replaying them in order rebuilds these windows. */
  listen(fn: (c: WindowChange) => void): void {
    this.listeners.push(fn);
  }

  private changed(c: WindowChange): void {
    for (const l of this.listeners) l(c);
  }

  /** A fault starts being applied at `atMs` (load clock). */
  open(id: string, atMs: number): void {
    const w = this.wins.find((x) => x.id === id);
    if (w) {
      w.endMs = Number.POSITIVE_INFINITY;
      this.changed({ op: 'open', id, atMs });
      return;
    }
    if (this.wins.length >= 31) {
      // Past 31 windows the bitmask would overflow: the oldest closed window gives its bit up.
      const i = this.wins.findIndex((x) => Number.isFinite(x.endMs));
      if (i >= 0) this.wins.splice(i, 1);
      this.keys.clear();
    }
    this.wins.push({ id, startMs: atMs, endMs: Number.POSITIVE_INFINITY });
    if (atMs < this.firstStartMs) this.firstStartMs = atMs;
    this.changed({ op: 'open', id, atMs });
  }

  /** The fault is no longer in effect from `atMs` (its revert finished, or its apply failed). */
  close(id: string, atMs: number): void {
    const w = this.wins.find((x) => x.id === id);
    if (w && !Number.isFinite(w.endMs)) {
      w.endMs = Math.max(w.startMs, atMs);
      this.changed({ op: 'close', id, atMs });
    }
  }

  /** Ids of the faults in effect now. */
  active(): string[] {
    return this.wins.filter((w) => !Number.isFinite(w.endMs)).map((w) => w.id);
  }

  key(fromMs: number, toMs: number): string {
    let mask = 0;
    const wins = this.wins;
    for (let i = 0; i < wins.length; i++) {
      const w = wins[i]!;
      if (w.startMs <= toMs && w.endMs >= fromMs) mask |= 1 << i;
    }
    if (mask === 0) return '';
    let k = this.keys.get(mask);
    if (k === undefined) {
      k = wins
        .filter((_, i) => mask & (1 << i))
        .map((w) => w.id)
        .join('+');
      this.keys.set(mask, k);
    }
    return k;
  }

  phase(key: string, endMs: number): PhaseName {
    if (key !== '') return 'fault';
    return endMs < this.firstStartMs ? 'baseline' : 'recovery';
  }
}
