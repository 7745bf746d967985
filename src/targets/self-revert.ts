/**
 * The last layer: a self-reverting timer created with each fault that has no lease of its own
 * (pause, disk-fill, docker and netns faults), for when the runner AND its guard are dead.
 *
 *   apply ──spawn──> timer-main.mjs (plain Node, detached, marked) ── sleeps, glancing at the ledger
 *                         │ the fault is closed ─────────────────────────> exits
 *                         │ window end + grace passes, fault still open ─> revertFault(…, 'timer'), exits
 *
 * The timer loads the TypeScript revert code (src/safety/timer-fire.ts) only when it fires, so it
 * costs a plain `node` start and a few MB while it waits. A normal revert (revertFault) also kills
 * it at once. The drivers arm it (docker, netns here; pause and disk-fill in faults/), so arming
 * and finding timers live with them; firing is the safety layer's (src/safety/timer-fire.ts).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT, stateDir } from '../core/paths.ts';
import { markedEnv, processesWithMark, processStartTime } from './process.ts';
import { ownershipMark, type ApplyContext } from './types.ts';

/** A timer fires this long after its fault's window should have ended. */
export const SELF_REVERT_GRACE_MS = 10_000;
export const TIMER_MAIN = join(PACKAGE_ROOT, 'src', 'safety', 'timer-main.mjs');

/**
 * Starts the fault's timer (before the fault is applied: the ledger already has its intent).
 * Returns its PID, or null where there is none (turned off, or a faked driver in tests).
 */
export function armSelfRevert(ctx: ApplyContext, graceMs = SELF_REVERT_GRACE_MS): number | null {
  if (ctx.selfRevert === false || ctx.io) return null;
  const at = Date.now() + ctx.durationMs + graceMs;
  const dir = ctx.stateDir ?? stateDir();
  const child = spawn(
    process.execPath,
    [
      TIMER_MAIN,
      '--state',
      dir,
      '--run',
      ctx.runId,
      '--fault',
      ctx.faultId,
      '--mark',
      ctx.mark,
      '--at',
      String(at),
    ],
    { detached: true, stdio: 'ignore', env: markedEnv('timer', { ...process.env, CHAOSKIT_STATE_DIR: dir }) },
  );
  child.on('error', () => {}); // could not start: the other layers remain
  child.unref();
  return child.pid ?? null;
}

/** Live timers of a fault (PID and start time). */
export function timersWithMark(mark: string): { pid: number; startTime: number }[] {
  return processesWithMark(mark, 'timer-main.mjs');
}

/** The fault is closed: its timers have nothing left to do (this process excepted, when it is one). */
export function obsoleteTimers(runId: string, faultId: string): void {
  for (const t of timersWithMark(ownershipMark(runId, faultId))) {
    if (t.pid === process.pid || processStartTime(t.pid) !== t.startTime) continue;
    try {
      process.kill(t.pid, 'SIGTERM');
    } catch {
      // exited meanwhile
    }
  }
}
