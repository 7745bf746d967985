/**
 * Running runs, one JSON file each in <state>/runs/, with a heartbeat file the runner rewrites
 * every second. `chaos status` and `chaos emergency-stop` find runs here; the guard watches one.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTime } from '../targets/process.ts';
import { ensureStateDir } from './state.ts';

export interface RunInfo {
  runId: string;
  pid: number;
  startTime: number;
  guardPid: number | null;
  scenario: string;
  startedAt: string;
  /** Set when the run began to stop (it is reverting and writing its results): wait for it. */
  stopping?: { at: string; reason: string };
}

export const HEARTBEAT_MS = 1000;
/** The guard acts when the runner is dead or its heartbeat is older than this. */
export const HEARTBEAT_TTL_MS = 3000;

const runFile = (dir: string, id: string) => join(dir, 'runs', `${id}.json`);
const beatFile = (dir: string, id: string) => join(dir, 'runs', `${id}.hb`);
export const stopFile = (dir: string, id: string) => join(dir, 'runs', `${id}.stop`);

export function registerRun(dir: string, info: RunInfo): void {
  ensureStateDir(dir);
  writeFileSync(runFile(dir, info.runId), JSON.stringify(info), { mode: 0o600 });
  heartbeat(dir, info.runId);
}

export function updateRun(dir: string, info: RunInfo): void {
  writeFileSync(runFile(dir, info.runId), JSON.stringify(info), { mode: 0o600 });
}

export function heartbeat(dir: string, runId: string): void {
  writeFileSync(beatFile(dir, runId), String(Date.now()));
}

export function unregisterRun(dir: string, runId: string): void {
  for (const f of [runFile(dir, runId), beatFile(dir, runId), stopFile(dir, runId)])
    rmSync(f, { force: true });
}

export function readRun(dir: string, runId: string): RunInfo | null {
  try {
    return JSON.parse(readFileSync(runFile(dir, runId), 'utf8')) as RunInfo;
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

export function listRuns(dir: string): RunInfo[] {
  const runs = join(dir, 'runs');
  if (!existsSync(runs)) return [];
  return readdirSync(runs)
    .filter((f) => f.endsWith('.json'))
    .map((f) => readRun(dir, f.replace(/\.json$/, '')))
    .filter((r): r is RunInfo => r !== null);
}

export function requestStop(dir: string, runId: string, reason: string): void {
  writeFileSync(stopFile(dir, runId), reason);
}

export function stopRequested(dir: string, runId: string): string | null {
  try {
    return readFileSync(stopFile(dir, runId), 'utf8') || 'emergency stop';
  } catch {
    return null;
  }
}
