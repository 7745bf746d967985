/**
 * Reverting faults from the ledger: ONE function, `revertFault`, that every reverter uses (the
 * runner's fault runner, the guard, emergency-stop, the self-reverting timers, reconciliation).
 *
 *   per-fault lock (O_EXCL file in <state>/locks) ──> still open in the ledger? ──no──> reverted-by-other
 *        │ (another writer holds it: wait, then look again)          │ yes
 *        ▼                                                           ▼
 *   release the lock <── ledger: reverted | revert-failed <── recipe check, revert (retried)
 *
 * One writer reverts a given fault at a time; "already gone" after another writer's revert is
 * success, and a failure is recorded only if nobody else closed the fault meanwhile.
 */
import { closeSync, constants, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { revertRecipe, type RevertOutcome } from '../targets/revert.ts';
import { processStartTime } from '../targets/process.ts';
import type { RevertRecipe, TargetIo } from '../targets/types.ts';
import { LedgerWriteError, type Ledger, type LedgerRevertBy, type OpenFault } from './ledger.ts';
import { obsoleteTimers } from '../targets/self-revert.ts';
import { NOFOLLOW, writeNew } from './state.ts';

export type RevertFaultOutcome = 'reverted' | 'already-gone' | 'reverted-by-other';

export interface FaultToRevert {
  runId: string;
  faultId: string;
  recipe: RevertRecipe;
}

export interface RevertFaultOptions {
  attempts?: number;
  backoffMs?: number;
  /** How long to wait for another writer that holds this fault's lock (default 60 s). */
  lockWaitMs?: number;
  io?: TargetIo;
  /** The revert itself; `revertRecipe` by default (tests inject a slow or failing one). */
  revert?: (recipe: RevertRecipe, onNote: (note: string) => void) => Promise<RevertOutcome>;
}

/** A revert that failed: recorded as `revert-failed` (unless the ledger could not be written). */
export class FaultRevertError extends Error {}

/** Tries a recipe a few times with a short backoff; returns the outcome or throws the last error. */
export async function revertWithRetry(
  recipe: RevertRecipe,
  attempts = 3,
  backoffMs = 200,
  onNote?: (note: string) => void,
  io?: TargetIo,
): Promise<RevertOutcome> {
  let last: unknown;
  const seen = new Set<string>(); // a retried recipe notes the same thing again
  const note = (n: string) => void (seen.has(n) || (seen.add(n), onNote?.(n)));
  for (let i = 0; i < attempts; i++) {
    try {
      return await revertRecipe(recipe, { onNote: note, ...(io ? { io } : {}) });
    } catch (err) {
      last = err;
      if (i < attempts - 1) await sleep(backoffMs * (i + 1));
    }
  }
  throw last;
}

/**
 * Reverts one fault and records the outcome in the ledger, as the only writer for that fault
 * at that moment. Returns `reverted-by-other` when another writer closed it first (before or
 * during this call). Throws FaultRevertError after recording `revert-failed`, or
 * LedgerWriteError (exit 4) when the record cannot be made durable.
 */
export async function revertFault(
  ledger: Ledger,
  f: FaultToRevert,
  by: LedgerRevertBy,
  opts: RevertFaultOptions = {},
): Promise<{ outcome: RevertFaultOutcome; notes: string[] }> {
  const notes: string[] = [];
  const lock = await acquireLock(ledger.dir, f, opts.lockWaitMs ?? 60_000);
  try {
    // Only what the ledger says is open is reverted; a fault with no record at all (a caller
    // holding a recipe the ledger never took) is reverted too.
    const closedBy = () => ledger.revertedBy(f.runId, f.faultId);
    if (closedBy()) return { outcome: 'reverted-by-other', notes };
    const attempts = opts.attempts ?? 3;
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      try {
        const outcome = opts.revert
          ? await opts.revert(f.recipe, (n) => notes.includes(n) || notes.push(n))
          : await revertRecipe(f.recipe, {
              onNote: (n) => notes.includes(n) || notes.push(n),
              ...(opts.io ? { io: opts.io } : {}),
            });
        ledger.append({ event: 'reverted', runId: f.runId, faultId: f.faultId, by, outcome });
        obsoleteTimers(f.runId, f.faultId);
        return { outcome, notes };
      } catch (err) {
        if (err instanceof LedgerWriteError) throw err;
        last = err;
        // Someone without the lock (an older runner) may have closed it meanwhile: that is success.
        if (closedBy()) return { outcome: 'reverted-by-other', notes };
        if (i < attempts - 1) await sleep((opts.backoffMs ?? 200) * (i + 1));
      }
    }
    if (closedBy()) return { outcome: 'reverted-by-other', notes };
    const error = (last as Error)?.message ?? String(last);
    ledger.append({ event: 'revert-failed', runId: f.runId, faultId: f.faultId, by, error });
    throw new FaultRevertError(error, { cause: last });
  } finally {
    lock.release();
  }
}

export interface RevertReport {
  /** `note`: what the driver noticed (e.g. "target gone: container web-1 no longer exists"). */
  reverted: { fault: OpenFault; outcome: RevertFaultOutcome; note?: string }[];
  failed: { fault: OpenFault; error: string }[];
}

/** Reverts open faults newest first, never stopping at a failure (a ledger that cannot be written included). */
export async function revertOpenFaults(
  ledger: Ledger,
  faults: readonly OpenFault[],
  by: LedgerRevertBy,
  opts: RevertFaultOptions = {},
): Promise<RevertReport> {
  const report: RevertReport = { reverted: [], failed: [] };
  for (const fault of [...faults].sort((a, b) => b.seq - a.seq)) {
    try {
      const { outcome, notes } = await revertFault(ledger, fault, by, opts);
      report.reverted.push({ fault, outcome, ...(notes.length ? { note: notes.join('; ') } : {}) });
    } catch (err) {
      report.failed.push({ fault, error: (err as Error).message });
    }
  }
  return report;
}

// ---- per-fault locks ----------------------------------------------------------------------------

const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');
export const lockPath = (dir: string, f: { runId: string; faultId: string }) =>
  join(dir, 'locks', `${safe(f.runId)}.${safe(f.faultId)}.lock`);

interface Holder {
  pid: number;
  startTime: number;
}

function readHolder(path: string): Holder | null | 'gone' {
  let text: string;
  try {
    const fd = openSync(path, constants.O_RDONLY | NOFOLLOW);
    try {
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : null;
  }
  const m = /^(\d+) (\d+)\n$/.exec(text);
  return m ? { pid: Number(m[1]), startTime: Number(m[2]) } : null;
}

/**
 * Takes the fault's lock (O_EXCL), waiting while a live writer holds it. A lock whose writer is
 * dead is taken over through a tombstone file named after that writer, so two waiters never
 * both remove it.
 */
async function acquireLock(
  dir: string,
  f: { runId: string; faultId: string },
  waitMs: number,
): Promise<{ release(): void }> {
  const path = lockPath(dir, f);
  const me = `${process.pid} ${processStartTime(process.pid) ?? 0}\n`;
  const deadline = performance.now() + waitMs;
  let unreadableSince: number | null = null;
  for (;;) {
    try {
      writeNew(path, me);
      return { release: () => rmSync(path, { force: true }) };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        // Cannot lock (a full disk): go on without, the ledger re-checks keep races harmless.
        return { release: () => {} };
      }
    }
    const holder = readHolder(path);
    if (holder === 'gone') continue;
    if (holder === null) {
      // Being written right now, or torn by a writer that died mid-write.
      unreadableSince ??= performance.now();
      if (performance.now() - unreadableSince > 2_000) rmSync(path, { force: true });
    } else if (processStartTime(holder.pid) !== holder.startTime) {
      takeOver(path, holder);
      continue;
    }
    if (performance.now() > deadline)
      throw new FaultRevertError(
        `fault ${f.runId}/${f.faultId} is being reverted by another process${holder ? ` (pid ${holder.pid})` : ''} for more than ${Math.round(waitMs / 1000)}s`,
      );
    await sleep(25);
  }
}

function takeOver(path: string, stale: Holder): void {
  const tomb = `${path}.takeover-${stale.pid}-${stale.startTime}`;
  try {
    writeNew(tomb, `${process.pid}\n`);
  } catch {
    // Another waiter is taking it over; a tombstone left by one that died is cleared after a while.
    try {
      if (Date.now() - statSync(tomb).mtimeMs > 5_000) rmSync(tomb, { force: true });
    } catch {
      // gone meanwhile
    }
    return;
  }
  try {
    const now = readHolder(path);
    if (now !== 'gone' && now !== null && now.pid === stale.pid && now.startTime === stale.startTime)
      rmSync(path, { force: true });
  } finally {
    rmSync(tomb, { force: true });
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
