/**
 * Runs the demo system in a child process (`chaos demo --supervised`), so the load generator's
 * CPU is its own. The child exits when its parent goes away (the IPC channel closes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { InputError } from '../errors.ts';
import { CLI_BIN } from '../scenario/paths.ts';

export interface DemoChild {
  pid: number;
  stop(): Promise<void>;
}

export async function startDemoChild(env: NodeJS.ProcessEnv = process.env, timeoutMs = 20_000): Promise<DemoChild> {
  const child: ChildProcess = spawn(process.execPath, [CLI_BIN, 'demo', '--supervised'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new InputError(`the demo system did not start within ${timeoutMs / 1000}s\n${stderr}`));
    }, timeoutMs);
    child.once('message', (m: { ready?: boolean }) => {
      clearTimeout(t);
      if (m.ready) resolve();
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      const msg = stderr.trim().split('\n').filter((l) => !l.startsWith('    at ')).join('\n');
      reject(new InputError(msg || `the demo system exited with code ${code} before it was ready`));
    });
  });
  return {
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}
