/** Drives the real CLI (bin/chaos.mjs) as a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { CLI_BIN, PACKAGE_ROOT } from '../../src/core/paths.ts';
import { tempDir } from './files.ts';

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

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * `n` distinct ports nothing listens on right now: all are held open until the last is chosen (one
 * after another, the kernel may hand out a port it just gave back).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, async () => {
      const s = net.createServer();
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      return s;
    }),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/** Environment variables that move the demo system to free ports, so tests can run side by side. */
export async function demoEnv(): Promise<NodeJS.ProcessEnv> {
  const vars = [
    'CHAOSKIT_DEMO_API_PORT',
    'CHAOSKIT_DEMO_DEPENDENCY_PORT',
    'CHAOSKIT_DEMO_HOP_PORT',
    'CHAOSKIT_DEMO_PROXY_API_PORT',
    'CHAOSKIT_DEMO_INFERENCE_PORT',
    'CHAOSKIT_DEMO_INFERENCE_UPSTREAM_PORT',
    'CHAOSKIT_DEMO_INFERENCE_HTTP_PORT',
    'CHAOSKIT_DEMO_INFERENCE_HTTP_UPSTREAM_PORT',
  ];
  const ports = await freePorts(vars.length);
  return Object.fromEntries(vars.map((v, i) => [v, String(ports[i])]));
}

export const SCENARIOS = join(PACKAGE_ROOT, 'scenarios');
