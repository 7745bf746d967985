/**
 * The guard: a detached process per run. If the runner dies or stops heart-beating, the guard
 * reverts that run's open faults and exits. When the run ends cleanly (its run file is gone),
 * the guard just exits. It never crashes on the way: a ledger it cannot write (a full disk) or
 * read for a moment is retried, and every open fault is still reverted.
 */
import { spawn } from 'node:child_process';
import { CLI_BIN } from '../core/paths.ts';
import { markedEnv } from '../targets/process.ts';
import { Ledger } from './ledger.ts';
import { revertOpenFaults } from './revert.ts';
import { HEARTBEAT_TTL_MS, isRunAlive, lastHeartbeatMs, readRun, unregisterRun } from './runs.ts';

export function spawnGuard(dir: string, runId: string): number {
  const child = spawn(process.execPath, [CLI_BIN, '_guard', runId], {
    detached: true,
    stdio: 'ignore',
    env: markedEnv('guard', { ...process.env, CHAOSKIT_STATE_DIR: dir }),
  });
  child.unref();
  return child.pid!;
}

/** How long the guard keeps retrying reverts that failed (a proxy that is briefly down). */
export const GUARD_RETRY_FOR_MS = 60_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runGuard(
  dir: string,
  runId: string,
  pollMs = 250,
  retryForMs = GUARD_RETRY_FOR_MS,
): Promise<'run-ended' | 'reverted'> {
  let reverted = false;
  for (;;) {
    try {
      const info = readRun(dir, runId);
      if (!info) return reverted ? 'reverted' : 'run-ended';
      const beat = lastHeartbeatMs(dir, runId);
      const alive = isRunAlive(info);
      const stale = beat === null || Date.now() - beat > HEARTBEAT_TTL_MS;
      if (!alive || stale) {
        await revertAll(dir, runId, retryForMs);
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
          await sleep(pollMs);
        }
      }
    } catch {
      // A state directory that cannot be read for a moment: look again at the next poll.
    }
    await sleep(pollMs);
  }
}

/** Reverts the run's open faults, retrying failures for a while; never throws. */
async function revertAll(dir: string, runId: string, retryForMs: number): Promise<void> {
  const until = Date.now() + retryForMs;
  for (;;) {
    let failed = 0;
    try {
      const ledger = new Ledger(dir);
      const report = await revertOpenFaults(ledger, ledger.open(runId), 'guard');
      failed = report.failed.length;
    } catch {
      failed = 1;
    }
    if (failed === 0 || Date.now() > until) return;
    await sleep(2_000);
  }
}
