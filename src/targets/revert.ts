/**
 * Reverting from a recipe alone (no memory of how the fault was applied), so the runner, the
 * guard and `chaos emergency-stop` all undo faults the same way. Idempotent: a fault that is
 * already gone counts as reverted.
 */
import { rm } from 'node:fs/promises';
import { holderManualRevert, killHolders } from './holder.ts';
import { manualRevert as proxyManual, revertProxy } from './proxy.ts';
import { findProcesses, isSameProcess, runRestart, signal, waitHealthy } from './process.ts';
import { dockerManualRevert, dockerOf, revertDocker } from './docker.ts';
import { execOf, netnsManualRevert } from './netns.ts';
import { goneNote, revertNetnsCmd } from './netns-revert.ts';
import type { RevertRecipe, TargetIo } from './types.ts';

export type RevertOutcome = 'reverted' | 'already-gone';

export interface RevertOptions {
  /** Hears notes worth recording (a container removed by hand: "target gone"). */
  onNote?: (note: string) => void;
  /** Injected shell executor and Docker API (tests); the real ones when absent. */
  io?: TargetIo;
}

export async function revertRecipe(r: RevertRecipe, o: RevertOptions = {}): Promise<RevertOutcome> {
  switch (r.driver) {
    case 'docker':
    case 'netns-cmd': {
      const docker = dockerOf(o.io);
      const res =
        r.driver === 'docker'
          ? await revertDocker(r, docker)
          : await revertNetnsCmd(r, execOf(o.io), goneNote(docker));
      for (const n of res.notes) o.onNote?.(n);
      return res.outcome;
    }
    case 'proxy':
      return revertProxy(r);
    case 'process':
      return r.action === 'continue' ? continueProcesses(r.processes) : ensureRestarted(r);
    case 'holder':
      return killHolders(r.mark);
    case 'file':
      return removeFile(r.path);
  }
}

async function removeFile(path: string): Promise<RevertOutcome> {
  try {
    await rm(path);
    return 'reverted';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'already-gone';
    throw err;
  }
}

/** What a person would run by hand when the revert fails. */
export function manualRevertFor(r: RevertRecipe): string {
  switch (r.driver) {
    case 'proxy':
      return proxyManual(r);
    case 'process':
      return r.action === 'continue'
        ? r.processes.map((p) => `kill -CONT ${p.pid}`).join('; ')
        : (r.restart ?? `start the process matching ${JSON.stringify(r.match ?? r.pidFile)} again`);
    case 'holder':
      return holderManualRevert(r.mark);
    case 'file':
      return `rm -f '${r.path}'`;
    case 'docker':
      return dockerManualRevert(r);
    case 'netns-cmd':
      return netnsManualRevert(r);
  }
}

async function continueProcesses(
  list: { pid: number; startTime: number; command: string }[],
): Promise<RevertOutcome> {
  let any = false;
  for (const p of list) {
    if (!isSameProcess(p)) continue; // exited or PID recycled: nothing of ours to continue
    if (!signal(p, 'SIGCONT')) throw new Error(`could not send SIGCONT to pid ${p.pid}`);
    any = true;
  }
  return any ? 'reverted' : 'already-gone';
}

async function ensureRestarted(r: Extract<RevertRecipe, { action: 'restart' }>): Promise<RevertOutcome> {
  const target = {
    kind: 'process' as const,
    ...(r.match ? { match: r.match } : {}),
    ...(r.pidFile ? { pidFile: r.pidFile } : {}),
  };
  const killed = new Set(r.killed.map((k) => `${k.pid}:${k.startTime}`));
  const running = () => {
    try {
      return findProcesses(target).filter((p) => !killed.has(`${p.pid}:${p.startTime}`));
    } catch {
      return [];
    }
  };
  // A supervisor may already have brought it back.
  const deadline = performance.now() + 3_000;
  while (running().length === 0 && performance.now() < deadline)
    await new Promise((res) => setTimeout(res, 100));
  if (running().length > 0) {
    if (r.health && (await waitHealthy(r.health, 30_000)) === null)
      throw new Error(`the process is running but ${r.health} is not healthy`);
    return 'reverted';
  }
  if (!r.restart) {
    throw new Error(
      `the process matching ${JSON.stringify(r.match ?? r.pidFile)} is not running and the environment gives no restart command`,
    );
  }
  runRestart(r.restart);
  if (r.health) {
    if ((await waitHealthy(r.health, 30_000)) === null)
      throw new Error(`ran "${r.restart}" but ${r.health} did not become healthy within 30s`);
  }
  return 'reverted';
}
