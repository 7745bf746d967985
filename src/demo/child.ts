/**
 * Runs the demo system in a child process (`chaos demo --supervised`), so the load generator's
 * CPU is its own. The child leads its own process group, so the demo and everything it started
 * (the api process, the inference service) can be stopped together, and it exits by itself when
 * its parent goes away (the IPC channel closes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { InputError } from '../core/errors.ts';
import { CLI_BIN } from '../core/paths.ts';

export interface DemoChild {
  pid: number;
  stop(): Promise<void>;
}

/** Generous: a loaded 2-core CI machine needs a while to start three Node processes and warm them. */
export const DEMO_START_TIMEOUT_MS = 60_000;

function killGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, sig);
  } catch {
    // the group is gone already
  }
}

export async function startDemoChild(
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = DEMO_START_TIMEOUT_MS,
  signal?: AbortSignal,
): Promise<DemoChild> {
  const child: ChildProcess = spawn(process.execPath, [CLI_BIN, 'demo', '--supervised'], {
    env,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  // The demo never keeps its parent alive: when the parent exits, the IPC channel closes and the
  // demo stops itself (src/cli/commands/demo.ts).
  child.unref();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  (child.channel as unknown as { unref?: () => void } | undefined)?.unref?.();
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        reject(new InputError(`the demo system did not start within ${timeoutMs / 1000}s\n${stderr}`));
      }, timeoutMs);
      child.once('message', (m: { ready?: boolean }) => {
        clearTimeout(t);
        if (m.ready) resolve();
      });
      // A run stopped during set-up: nothing of the demo is needed any more, and nothing was applied.
      signal?.addEventListener('abort', () => {
        clearTimeout(t);
        reject(new InputError('the demo system start was abandoned: the run was stopped'));
      });
      child.once('exit', (code) => {
        clearTimeout(t);
        const msg = stderr
          .trim()
          .split('\n')
          .filter((l) => !l.startsWith('    at '))
          .join('\n')
          // The demo is a chaos process: its message already says "chaos: ", and so will ours.
          .replace(/^chaos: /, '');
        reject(new InputError(msg || `the demo system exited with code ${code} before it was ready`));
      });
    });
  } catch (err) {
    // Leave nothing behind: the supervisor and whatever it had started, and our end of its pipes.
    killGroup(child, 'SIGKILL');
    child.stderr?.destroy();
    if (child.connected) child.disconnect();
    throw err;
  }
  return {
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        // Close our end of the IPC channel first: an open channel keeps the child's event loop
        // alive after it stopped its servers, and it would sit there until the SIGKILL below.
        if (child.connected) child.disconnect();
        child.kill('SIGTERM');
        const t = setTimeout(() => killGroup(child, 'SIGKILL'), 5_000);
        await exited;
        clearTimeout(t);
      }
      // Anything of the demo's that outlived its supervisor goes too.
      killGroup(child, 'SIGKILL');
      child.stderr?.destroy();
    },
  };
}
