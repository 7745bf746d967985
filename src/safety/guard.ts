/**
 * The guard: a detached process per run. If the runner dies or stops heart-beating, the guard
 * reverts that run's open faults and exits. When the run ends cleanly (its run file is gone),
 * the guard just exits.
 */
import { spawn } from 'node:child_process';
import { CLI_BIN } from '../scenario/paths.ts';
import { Ledger } from './ledger.ts';
import { revertOpenFaults } from './revert.ts';
import { HEARTBEAT_TTL_MS, isRunAlive, lastHeartbeatMs, readRun, unregisterRun } from './runs.ts';

export function spawnGuard(dir: string, runId: string): number {
  const child = spawn(process.execPath, [CLI_BIN, '_guard', runId], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, CHAOSKIT_STATE_DIR: dir },
  });
  child.unref();
  return child.pid!;
}

/** How long the guard keeps retrying reverts that failed (a proxy that is briefly down). */
export const GUARD_RETRY_FOR_MS = 60_000;

export async function runGuard(dir: string, runId: string, pollMs = 250): Promise<'run-ended' | 'reverted'> {
  let reverted = false;
  for (;;) {
    const info = readRun(dir, runId);
    if (!info) return reverted ? 'reverted' : 'run-ended';
    const beat = lastHeartbeatMs(dir, runId);
    const alive = isRunAlive(info);
    const stale = beat === null || Date.now() - beat > HEARTBEAT_TTL_MS;
    if (!alive || stale) {
      const ledger = new Ledger(dir);
      let report = await revertOpenFaults(ledger, ledger.open(runId), 'guard');
      const until = Date.now() + GUARD_RETRY_FOR_MS;
      while (report.failed.length > 0 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 2_000));
        report = await revertOpenFaults(ledger, ledger.open(runId), 'guard');
      }
      reverted = true;
      if (!alive) {
        unregisterRun(dir, runId);
        return 'reverted';
      }
      // A runner that stalled but lives on may apply more faults: keep guarding it.
      while (
        readRun(dir, runId) &&
        isRunAlive(info) &&
        Date.now() - (lastHeartbeatMs(dir, runId) ?? 0) > HEARTBEAT_TTL_MS
      ) {
        await new Promise((r) => setTimeout(r, pollMs));
      }
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
