/**
 * `--workers N`: N child processes on this machine, each a `chaos runner` of a coordinator bound
 * to loopback with a one-time token. Child processes rather than worker threads: each has its
 * own event loop, its own CPU figure (a thread's would be the whole process's) and its own
 * crash, and a worker is exactly a runner, so one code path serves both (docs/scale-out.md has
 * the measurements). A worker whose coordinator dies stops by itself within 3 s, like any runner.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI_BIN } from '../core/paths.ts';

export interface Workers {
  /** Why a worker exited before the run ended (its last stderr lines), by index. */
  exits: Map<number, string>;
  /** Waits up to `graceMs` for the workers to exit on their own, then kills the rest (by PID). */
  stop(graceMs?: number): Promise<void>;
}

export function spawnWorkers(n: number, url: string, token: string, log: (line: string) => void): Workers {
  const exits = new Map<number, string>();
  const children: ChildProcess[] = [];
  for (let i = 0; i < n; i++) {
    const child = spawn(process.execPath, [CLI_BIN, 'runner', '--coordinator', url, '--index', String(i)], {
      env: { ...process.env, CHAOSKIT_TOKEN: token },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let tail = '';
    child.stderr!.on('data', (c: Buffer) => {
      tail = (tail + c.toString()).slice(-2000);
    });
    child.on('exit', (code, signal) => {
      const why = signal ? `killed by ${signal}` : `exit ${code}`;
      if (code !== 0) {
        const last = tail.trim().split('\n').slice(-3).join(' | ');
        exits.set(i, `${why}${last ? `: ${last}` : ''}`);
        log(`worker ${i} ended (${why})${last ? `: ${last}` : ''}`);
      }
    });
    children.push(child);
  }
  return {
    exits,
    async stop(graceMs = 3_000) {
      const alive = children.filter((c) => c.exitCode === null && c.signalCode === null);
      await Promise.race([
        Promise.all(alive.map((c) => new Promise((r) => c.once('exit', r)))),
        new Promise((r) => setTimeout(r, graceMs).unref()),
      ]);
      for (const c of alive) if (c.exitCode === null && c.signalCode === null && c.pid) c.kill('SIGKILL');
    },
  };
}
