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

export async function runGuard(dir: string, runId: string, pollMs = 250): Promise<'run-ended' | 'reverted'> {
  for (;;) {
    const info = readRun(dir, runId);
    if (!info) return 'run-ended';
    const beat = lastHeartbeatMs(dir, runId);
    const stale = beat === null || Date.now() - beat > HEARTBEAT_TTL_MS;
    if (!isRunAlive(info) || stale) {
      const ledger = new Ledger(dir);
      await revertOpenFaults(ledger, ledger.open(runId), 'guard');
      if (!isRunAlive(info)) unregisterRun(dir, runId);
      return 'reverted';
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
