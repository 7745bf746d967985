/**
 * Later steps of sessions (and virtual users' next passes), waiting until they are due: a binary
 * min-heap by due time, ties in insertion order. One clock timer serves all of them (the
 * scheduler's loop wakes for the earliest), so thousands of thinking users cost no timers.
 */
import type { Session, User } from './sessions.ts';

export class Due {
  constructor(
    readonly dueMs: number,
    readonly seq: number,
    /** The step's profile (-1: a user's next pass, not a request). */
    readonly profile: number,
    readonly session: Session | null,
    readonly user: User | null,
  ) {}
}

export class DueQueue {
  private readonly heap: Due[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Due time of the earliest entry (Infinity when empty). */
  get nextMs(): number {
    return this.heap.length > 0 ? this.heap[0]!.dueMs : Number.POSITIVE_INFINITY;
  }

  push(dueMs: number, profile: number, session: Session | null, user: User | null): void {
    const h = this.heap;
    const x = new Due(dueMs, this.seq++, profile, session, user);
    let i = h.length;
    h.push(x);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(x, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = x;
  }

  pop(): Due | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && before(h[r]!, h[l]!) ? r : l;
      if (!before(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
    return top;
  }

  /** Empties the queue, visiting every entry. */
  drain(visit: (d: Due) => void): void {
    const all = this.heap.splice(0);
    for (const d of all) visit(d);
  }
}

const before = (a: Due, b: Due) => a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq);
