/**
 * Reconciling the ledger with the world: an open fault that no live run owns is checked against
 * what is really in effect, and closed in the ledger when it is gone (a toxic expired by lease:
 * `reverted` by `lease`; a holder past its deadline, a paused process running again, a removed
 * fill file: by `expired`), so `chaos status` and emergency-stop show only what is really open.
 * Faults of healthy runs are theirs to revert and are left alone.
 */
import { faultEffect, type Effect } from '../targets/revert.ts';
import type { Ledger, OpenFault } from './ledger.ts';
import { revertFault } from './revert.ts';
import { isRunHealthy, listRuns } from './runs.ts';

export interface Reconciled {
  /** Open faults whose run is alive and heart-beating. */
  owned: OpenFault[];
  /** Open faults no live run owns, with what was found. */
  orphaned: { fault: OpenFault; effect: Effect }[];
  /** Found gone and recorded closed now. */
  closed: { fault: OpenFault; by: 'lease' | 'expired' }[];
}

const withTimeout = <T>(p: Promise<T>, ms: number, fallback: T): Promise<T> =>
  new Promise((resolve) => {
    const t = setTimeout(() => resolve(fallback), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      () => (clearTimeout(t), resolve(fallback)),
    );
  });

export async function reconcile(ledger: Ledger, opts: { record?: boolean } = {}): Promise<Reconciled> {
  const dir = ledger.dir;
  const healthy = new Set(
    listRuns(dir)
      .filter((r) => isRunHealthy(dir, r))
      .map((r) => r.runId),
  );
  const out: Reconciled = { owned: [], orphaned: [], closed: [] };
  for (const fault of ledger.open()) {
    if (healthy.has(fault.runId)) {
      out.owned.push(fault);
      continue;
    }
    const effect = await withTimeout(faultEffect(fault.recipe), 5_000, 'unknown' as Effect);
    if (effect === 'gone' && opts.record !== false) {
      const by = fault.recipe.driver === 'proxy' ? 'lease' : 'expired';
      try {
        // Through the same lock and re-check as every revert: a writer reverting it right now wins.
        await revertFault(ledger, fault, by, {
          attempts: 1,
          lockWaitMs: 5_000,
          revert: async () => 'already-gone',
        });
        out.closed.push({ fault, by });
        continue;
      } catch {
        // Could not record it (a full disk): still shown as open, with what was found.
      }
    }
    out.orphaned.push({ fault, effect });
  }
  return out;
}
