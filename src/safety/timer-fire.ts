/**
 * A fault's self-reverting timer fires (src/safety/timer-main.mjs, at its deadline): the last
 * revert layer. Arming the timer and finding live ones: src/targets/self-revert.ts.
 */
import { Ledger } from './ledger.ts';
import { revertFault } from './revert.ts';

/**
 * The timer's deadline has passed: revert the fault if the ledger still has it open. Retries
 * for a minute (a Docker engine that is briefly away), then gives up (exit 4; `chaos status`
 * shows it). Returns the exit code.
 */
export async function fireTimer(dir: string, runId: string, faultId: string): Promise<number> {
  const ledger = new Ledger(dir);
  const until = Date.now() + 60_000;
  for (;;) {
    const f = ledger.open(runId).find((x) => x.faultId === faultId);
    if (!f) return 0;
    try {
      await revertFault(ledger, f, 'timer');
      return 0;
    } catch {
      if (Date.now() > until) return 4;
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }
}
