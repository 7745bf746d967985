/**
 * Running runs, one JSON file each in <state>/runs/, with a heartbeat file whose modification
 * time the runner bumps every second. `chaos status` and `chaos emergency-stop` find runs here;
 * the guard watches one. A run that begins to stop says so (`stopping` in its run file), so
 * emergency-stop waits for it instead of killing it.
 *
 * Nothing here follows a symbolic link; the heartbeat needs no disk space (it only sets a time),
 * so a full disk cannot make a healthy runner look dead.
 */
import {
  closeSync,
  constants,
  readdirSync,
  readFileSync,
  openSync,
  rmSync,
  statSync,
  utimesSync,
} from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../core/errors.ts';
import { processStartTime } from '../targets/process.ts';
import { describeIoError, ensureStateDir, NOFOLLOW, writeStateFile } from './state.ts';

export interface RunInfo {
  runId: string;
  pid: number;
  startTime: number;
  guardPid: number | null;
  scenario: string;
  startedAt: string;
  /** Set by the runner as soon as it begins to stop (markStopping): it is reverting and writing its results. */
  stopping?: { at: string; reason: string };
}

export const HEARTBEAT_MS = 1000;
/** The guard acts when the runner is dead or its heartbeat is older than this. */
export const HEARTBEAT_TTL_MS = 3000;

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const runFile = (dir: string, id: string) => join(dir, 'runs', `${id}.json`);
const beatFile = (dir: string, id: string) => join(dir, 'runs', `${id}.hb`);
export const stopFile = (dir: string, id: string) => join(dir, 'runs', `${id}.stop`);

/**
 * Registers a run (the state directory is checked and must be writable first). A run file that
 * cannot be written is an InputError naming the path, and no partial file is left.
 */
export function registerRun(dir: string, info: RunInfo): void {
  ensureStateDir(dir);
  try {
    writeStateFile(runFile(dir, info.runId), JSON.stringify(info));
    writeStateFile(beatFile(dir, info.runId), '');
  } catch (err) {
    unregisterRun(dir, info.runId);
    throw new InputError(
      `cannot register the run in ${join(dir, 'runs')}: ${describeIoError(err)}; nothing was started`,
    );
  }
}

/** Rewrites the run file; false when it could not be written (a full disk: the run goes on). */
export function updateRun(dir: string, info: RunInfo): boolean {
  try {
    writeStateFile(runFile(dir, info.runId), JSON.stringify(info));
    return true;
  } catch {
    return false;
  }
}

/**
 * The runner calls this as soon as it begins to stop (signal, stop condition, emergency stop,
 * end of load): emergency-stop then waits for it while it keeps heart-beating. Never throws.
 */
export function markStopping(dir: string, runId: string, reason: string): boolean {
  const info = readRun(dir, runId);
  if (!info) return false;
  if (info.stopping) return true;
  return updateRun(dir, { ...info, stopping: { at: new Date().toISOString(), reason } });
}

/** Bumps the heartbeat's time (no data written, so no space needed). Never throws; false when it failed. */
export function heartbeat(dir: string, runId: string): boolean {
  const now = new Date();
  try {
    utimesSync(beatFile(dir, runId), now, now);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false;
    try {
      writeStateFile(beatFile(dir, runId), '');
      return true;
    } catch {
      return false;
    }
  }
}

export function unregisterRun(dir: string, runId: string): void {
  for (const f of [runFile(dir, runId), beatFile(dir, runId), stopFile(dir, runId)])
    rmSync(f, { force: true });
}

function readNoFollow(path: string): string {
  const fd = openSync(path, constants.O_RDONLY | NOFOLLOW);
  try {
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

export function readRun(dir: string, runId: string): RunInfo | null {
  if (!RUN_ID.test(runId)) return null;
  try {
    const info = JSON.parse(readNoFollow(runFile(dir, runId))) as RunInfo;
    const ok =
      info &&
      info.runId === runId &&
      Number.isInteger(info.pid) &&
      info.pid > 1 &&
      Number.isFinite(info.startTime) &&
      (info.guardPid === null || Number.isInteger(info.guardPid));
    return ok ? info : null;
  } catch {
    return null;
  }
}

export function lastHeartbeatMs(dir: string, runId: string): number | null {
  try {
    return statSync(beatFile(dir, runId)).mtimeMs;
  } catch {
    return null;
  }
}

export function isRunAlive(info: RunInfo): boolean {
  return processStartTime(info.pid) === info.startTime;
}

/** Is the run alive and heart-beating within the TTL? */
export function isRunHealthy(dir: string, info: RunInfo, now = Date.now()): boolean {
  const beat = lastHeartbeatMs(dir, info.runId);
  return isRunAlive(info) && beat !== null && now - beat <= HEARTBEAT_TTL_MS;
}

export function listRuns(dir: string): RunInfo[] {
  let names: string[];
  try {
    names = readdirSync(join(dir, 'runs'));
  } catch {
    return [];
  }
  return names
    .filter((f) => f.endsWith('.json'))
    .map((f) => readRun(dir, f.replace(/\.json$/, '')))
    .filter((r): r is RunInfo => r !== null);
}

/** Leaves a note asking the run to stop; false when it could not be written (the signal still goes). */
export function requestStop(dir: string, runId: string, reason: string): boolean {
  try {
    writeStateFile(stopFile(dir, runId), reason);
    return true;
  } catch {
    return false;
  }
}

export function stopRequested(dir: string, runId: string): string | null {
  try {
    return readNoFollow(stopFile(dir, runId)) || 'emergency stop';
  } catch {
    return null;
  }
}
