/**
 * Reverting open faults from the ledger: newest first, retried, never stopping at the first
 * failure. Used by the runner, the guard and `chaos emergency-stop` alike.
 */
import { revertRecipe, type RevertOutcome } from '../targets/revert.ts';
import type { RevertRecipe } from '../targets/types.ts';
import type { Ledger, OpenFault, RevertLayer } from './ledger.ts';

export interface RevertReport {
  /** `note`: what the driver noticed (e.g. "target gone: container web-1 no longer exists"). */
  reverted: { fault: OpenFault; outcome: RevertOutcome; note?: string }[];
  failed: { fault: OpenFault; error: string }[];
}

/** Tries a recipe a few times with a short backoff; returns the outcome or throws the last error. */
export async function revertWithRetry(
  recipe: RevertRecipe,
  attempts = 3,
  backoffMs = 200,
  onNote?: (note: string) => void,
): Promise<RevertOutcome> {
  let last: unknown;
  const seen = new Set<string>(); // a retried recipe notes the same thing again
  const note = (n: string) => void (seen.has(n) || (seen.add(n), onNote?.(n)));
  for (let i = 0; i < attempts; i++) {
    try {
      return await revertRecipe(recipe, { onNote: note });
    } catch (err) {
      last = err;
      if (i < attempts - 1) await new Promise((r) => setTimeout(r, backoffMs * (i + 1)));
    }
  }
  throw last;
}

export async function revertOpenFaults(
  ledger: Ledger,
  faults: readonly OpenFault[],
  by: RevertLayer,
): Promise<RevertReport> {
  const report: RevertReport = { reverted: [], failed: [] };
  for (const fault of [...faults].sort((a, b) => b.seq - a.seq)) {
    try {
      const notes: string[] = [];
      const outcome = await revertWithRetry(fault.recipe, 3, 200, (n) => notes.push(n));
      ledger.append({ event: 'reverted', runId: fault.runId, faultId: fault.faultId, by, outcome });
      report.reverted.push({ fault, outcome, ...(notes.length ? { note: notes.join('; ') } : {}) });
    } catch (err) {
      const error = (err as Error).message;
      ledger.append({ event: 'revert-failed', runId: fault.runId, faultId: fault.faultId, by, error });
      report.failed.push({ fault, error });
    }
  }
  return report;
}
