/**
 * Holder processes for resource faults (CPU, memory, GPU): a detached child that takes the
 * resource and keeps it until it is killed or its own deadline passes. It carries the fault's
 * ownership mark on its command line, so the revert recipe is known before it starts
 * (`--mark chaoskit:<run>:<fault>`) and reverting kills exactly the processes with that mark.
 * It runs a small plain-JavaScript entry, not the CLI, so it holds the resource soon after the
 * fault's start (see the start-up figures in docs/architecture.md, "Threat model and revert layers").
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../core/paths.ts';
import { markedEnv, processesWithMark, processStartTime } from './process.ts';

/** The holder's own entry (no TypeScript loader, no CLI). */
export const HOLDER_MAIN = join(PACKAGE_ROOT, 'src', 'stress', 'holder-main.mjs');

export type HolderKind = 'cpu' | 'memory' | 'gpu-memory' | 'gpu-stress';

/** Starts a holder and waits until it reports that it holds the resource. */
export async function startHolder(
  kind: HolderKind,
  mark: string,
  maxMs: number,
  args: string[],
  timeoutMs = 30_000,
): Promise<number> {
  const child = spawn(
    process.execPath,
    [HOLDER_MAIN, kind, '--mark', mark, '--max-ms', String(Math.round(maxMs)), ...args],
    {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: markedEnv('holder'),
    },
  );
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`the ${kind} holder did not report ready within ${timeoutMs / 1000}s`)),
        timeoutMs,
      );
      child.once('message', (m: { ready?: boolean; error?: string }) => {
        clearTimeout(t);
        if (m.ready) resolve();
        else reject(new Error(m.error ?? `the ${kind} holder failed`));
      });
      child.once('exit', (code, sig) => {
        clearTimeout(t);
        reject(
          new Error(
            `the ${kind} holder exited (${sig ?? `code ${code}`}) before it was ready: ${stderr.trim().split('\n').pop() ?? ''}`,
          ),
        );
      });
    });
  } catch (err) {
    // Gone before the caller hears of the failure: a holder that reported an error may still be
    // exiting, and nothing may be left that the caller thinks was never started.
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGKILL');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000).unref())]);
    }
    throw err;
  }
  child.disconnect();
  child.stderr!.destroy();
  child.unref();
  return child.pid!;
}

/** PIDs (with start times) of live processes whose command line carries the mark. */
export function holdersWithMark(mark: string): { pid: number; startTime: number }[] {
  return processesWithMark(mark);
}

/** Kills every holder with the mark and waits until they are gone. */
export async function killHolders(mark: string, waitMs = 5_000): Promise<'reverted' | 'already-gone'> {
  const found = holdersWithMark(mark);
  if (found.length === 0) return 'already-gone';
  for (const h of found) {
    try {
      process.kill(h.pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  const deadline = performance.now() + waitMs;
  while (performance.now() < deadline) {
    if (found.every((h) => processStartTime(h.pid) !== h.startTime || isZombie(h.pid))) return 'reverted';
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`holder process(es) ${found.map((h) => h.pid).join(', ')} with mark ${mark} did not exit`);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

export function holderManualRevert(mark: string): string {
  return `pkill -KILL -f -- '--mark ${mark}'`;
}
