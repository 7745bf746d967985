/**
 * Driver for process targets: processes named by PID file or by a command-line substring.
 * Every pick is recorded with its start time (from /proc) so a recycled PID is never signalled.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import type { Target } from '../scenario/schema.ts';

export interface ProcessRef {
  pid: number;
  startTime: number;
  command: string;
}

type ProcessTarget = Extract<Target, { kind: 'process' }>;

/** Start time in clock ticks since boot (/proc/PID/stat field 22), or undefined if gone. */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; fields after its closing paren are plain.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[19]);
  } catch {
    return undefined;
  }
}

function cmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return undefined;
  }
}

/** The same process as recorded (same PID and the same start time)? */
export function isSameProcess(ref: { pid: number; startTime: number }): boolean {
  return processStartTime(ref.pid) === ref.startTime;
}

export function findProcesses(t: ProcessTarget): ProcessRef[] {
  const out: ProcessRef[] = [];
  const self = new Set([process.pid, process.ppid]);
  if (t.pidFile) {
    const pid = Number(readFileSync(t.pidFile, 'utf8').trim());
    const st = processStartTime(pid);
    if (st !== undefined) out.push({ pid, startTime: st, command: cmdline(pid) ?? '' });
    return out;
  }
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    if (self.has(pid)) continue;
    const cmd = cmdline(pid);
    if (!cmd || !cmd.includes(t.match!) || isChaoskitMachinery(cmd)) continue;
    const st = processStartTime(pid);
    if (st !== undefined) out.push({ pid, startTime: st, command: cmd });
  }
  return out.sort((a, b) => a.pid - b.pid);
}

/**
 * chaoskit's own runner, guards, holders, proxy and demo supervisor are never fault targets, even
 * when a broad `match` (say `node`) would catch them: a fault must not take down its own safety net.
 * The demo's api (`demo-api`) is a real target and stays eligible.
 */
const MACHINERY = new Set(['run', '_guard', '_hold', 'proxy', 'demo', 'emergency-stop', 'status', 'suite']);
function isChaoskitMachinery(cmd: string): boolean {
  const m = /bin\/chaos\.mjs (\S+)/.exec(cmd);
  return m !== null && MACHINERY.has(m[1]!);
}

export function signal(ref: ProcessRef, sig: NodeJS.Signals): boolean {
  if (!isSameProcess(ref)) return false;
  try {
    process.kill(ref.pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Polls a health URL until it answers 2xx; returns the ms it took, or null on timeout. */
export async function waitHealthy(url: string, timeoutMs: number): Promise<number | null> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(500) });
      await r.body?.cancel();
      if (r.ok) return performance.now() - start;
    } catch {
      // still down
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}

/** Runs the environment's restart command detached (it may start a long-lived service). */
export function runRestart(command: string): void {
  const child = spawn('/bin/sh', ['-c', command], { detached: true, stdio: 'ignore' });
  child.unref();
}
