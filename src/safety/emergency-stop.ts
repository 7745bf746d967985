/**
 * `chaos emergency-stop`: from any shell, stop every running run and revert every open fault.
 *
 *   note + SIGTERM to each live runner ──┐
 *   revert every open ledger entry, newest first (idempotent; races with runners are harmless)
 *   wait for runners to exit (SIGKILL after a grace period; their guards then find nothing open)
 */
import { Ledger } from './ledger.ts';
import { revertOpenFaults } from './revert.ts';
import { isRunAlive, listRuns, requestStop, unregisterRun } from './runs.ts';

export interface EmergencyReport {
  runsStopped: number;
  reverted: number;
  remaining: number;
  elapsedMs: number;
}

export class EmergencyStop {
  constructor(
    private readonly dir: string,
    private readonly graceMs = 5_000,
  ) {}

  async run(print: (line: string) => void): Promise<EmergencyReport> {
    const t0 = performance.now();
    const ledger = new Ledger(this.dir);
    const runs = listRuns(this.dir);
    const live = runs.filter(isRunAlive);
    for (const r of runs.filter((x) => !isRunAlive(x))) unregisterRun(this.dir, r.runId);
    for (const r of live) {
      requestStop(this.dir, r.runId, 'emergency stop');
      try {
        process.kill(r.pid, 'SIGTERM');
        print(`stopping run ${r.runId} (${r.scenario}, pid ${r.pid})`);
      } catch {
        // it exited between the check and the signal
      }
    }
    const open = ledger.open();
    const report = await revertOpenFaults(ledger, open, 'emergency-stop');
    for (const { fault, outcome, note } of report.reverted) {
      print(
        `reverted ${fault.runId}/${fault.faultId} ${fault.type} on ${fault.target}${outcome === 'already-gone' ? ' (already gone)' : ''}: ${fault.description}${note ? ` (${note})` : ''}`,
      );
    }
    for (const { fault, error } of report.failed) {
      print(
        `could NOT revert ${fault.runId}/${fault.faultId} ${fault.type} on ${fault.target}: ${error}\n  run by hand: ${fault.manualRevert}`,
      );
    }
    // Give runners a moment to finish their own cleanup, then make sure they are gone.
    const deadline = performance.now() + this.graceMs;
    while (live.some(isRunAlive) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const r of live.filter(isRunAlive)) {
      print(`run ${r.runId} did not stop within ${this.graceMs / 1000}s; sending SIGKILL`);
      try {
        process.kill(r.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    const remaining = ledger.open();
    const elapsedMs = performance.now() - t0;
    if (live.length === 0 && open.length === 0) print('nothing to do: no running runs and no open faults');
    else
      print(
        `done in ${Math.round(elapsedMs)}ms: ${live.length} run(s) stopped, ${report.reverted.length} fault(s) reverted, ${remaining.length} still open`,
      );
    return {
      runsStopped: live.length,
      reverted: report.reverted.length,
      remaining: remaining.length,
      elapsedMs,
    };
  }
}
