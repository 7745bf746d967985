/**
 * The fault ledger: an append-only, fsync'ed JSON-lines file shared by every run on the machine.
 *
 *   intent (with revert recipe) ──apply──> applied ──revert──> reverted | revert-failed
 *
 * `intent` is written BEFORE a fault is applied, so a crash at any point leaves a record from
 * which the fault can be undone. A fault is open while its latest event is not `reverted`.
 * A torn last line (a crash mid-write) is skipped when reading.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { RevertRecipe } from '../targets/types.ts';
import { ensureStateDir } from './state.ts';

export type RevertLayer = 'schedule' | 'runner-exit' | 'guard' | 'lease' | 'emergency-stop';

export type LedgerEvent =
  | {
      event: 'intent';
      runId: string;
      faultId: string;
      type: string;
      target: string;
      recipe: RevertRecipe;
      description: string;
      manualRevert: string;
    }
  | { event: 'applied'; runId: string; faultId: string }
  | {
      event: 'reverted';
      runId: string;
      faultId: string;
      by: RevertLayer;
      outcome: 'reverted' | 'already-gone';
    }
  | { event: 'revert-failed'; runId: string; faultId: string; by: RevertLayer; error: string };

export type LedgerEntry = LedgerEvent & { ts: string };

export interface OpenFault {
  runId: string;
  faultId: string;
  type: string;
  target: string;
  recipe: RevertRecipe;
  description: string;
  manualRevert: string;
  applied: boolean;
  lastError: string | null;
  /** Position of the intent in the ledger: reverts go in reverse order of this. */
  seq: number;
}

export class Ledger {
  readonly file: string;

  constructor(dir: string) {
    ensureStateDir(dir);
    this.file = join(dir, 'ledger.jsonl');
  }

  append(e: LedgerEvent): void {
    const line = `${JSON.stringify({ ts: new Date().toISOString(), ...e })}\n`;
    // O_APPEND keeps concurrent writers (runner, guard, emergency-stop) from overwriting each other.
    const fd = openSync(this.file, 'a+', 0o600);
    try {
      // After a torn last line (a writer died mid-line) start a fresh line, or this entry is lost with it.
      writeSync(fd, endsMidLine(fd) ? `\n${line}` : line);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  read(): LedgerEntry[] {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: LedgerEntry[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as LedgerEntry);
      } catch {
        // A torn line from a crash mid-write: its fault, if any, has an intent earlier or none at all.
      }
    }
    return out;
  }

  /**
   * Faults possibly in effect, oldest first; optionally only one run's. A fault is open while its
   * latest event is not `reverted`: an apply that lands after another layer's revert (an
   * emergency stop racing an apply in flight) opens it again.
   */
  open(runId?: string): OpenFault[] {
    const byKey = new Map<string, OpenFault>();
    const closed = new Set<string>();
    this.read().forEach((e, seq) => {
      if (runId && e.runId !== runId) return;
      const key = `${e.runId}/${e.faultId}`;
      if (e.event === 'intent') {
        closed.delete(key);
        byKey.set(key, {
          runId: e.runId,
          faultId: e.faultId,
          type: e.type,
          target: e.target,
          recipe: e.recipe,
          description: e.description,
          manualRevert: e.manualRevert,
          applied: false,
          lastError: null,
          seq,
        });
        return;
      }
      if (e.event === 'reverted') {
        closed.add(key);
        return;
      }
      const f = byKey.get(key);
      if (!f) return; // no intent, no recipe: nothing anyone could revert
      closed.delete(key);
      if (e.event === 'applied') f.applied = true;
      else if (e.event === 'revert-failed') f.lastError = e.error;
    });
    return [...byKey.entries()]
      .filter(([key]) => !closed.has(key))
      .map(([, f]) => f)
      .sort((a, b) => a.seq - b.seq);
  }
}

/** Does the file end without a newline (a torn last line)? */
function endsMidLine(fd: number): boolean {
  const { size } = fstatSync(fd);
  if (size === 0) return false;
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  return last[0] !== 0x0a;
}
