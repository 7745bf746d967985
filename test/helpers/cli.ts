/** Drives the real CLI (bin/chaos.mjs) as a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { CLI_BIN, PACKAGE_ROOT } from '../../src/core/paths.ts';
import { DEMO_PORT_VARS } from '../../src/demo/ports.ts';
import { tempDir } from './files.ts';
import { freePorts } from './ports.ts';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function startCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    cwd: PACKAGE_ROOT,
    env: { ...process.env, CHAOSKIT_STATE_DIR: env.CHAOSKIT_STATE_DIR ?? tempDir('chaoskit-state-'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

export async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
): Promise<CliResult> {
  const { child, done } = startCli(args, env);
  const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    return await done;
  } finally {
    clearTimeout(t);
  }
}

export { freePort, freePorts } from './ports.ts';

/** Environment variables that move the demo system to free ports, so tests can run side by side. */
export async function demoEnv(): Promise<NodeJS.ProcessEnv> {
  const vars = Object.values(DEMO_PORT_VARS);
  const ports = await freePorts(vars.length);
  return Object.fromEntries(vars.map((v, i) => [v, String(ports[i])]));
}

export const SCENARIOS = join(PACKAGE_ROOT, 'scenarios');
