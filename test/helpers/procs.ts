/**
 * Child processes for the safety and e2e tests: the CLI (`node bin/chaos.mjs ...`), the fault
 * proxy as its own process, small services. Everything listens on 127.0.0.1; ports are free
 * ephemeral ones. Call `killAll` from afterEach: it kills, by PID, only what was started here
 * (or adopted: processes the code under test started for us, like a run's guard).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLI_BIN, PACKAGE_ROOT } from '../../src/core/paths.ts';
import { processStartTime } from '../../src/targets/process.ts';

export { freePort } from './ports.ts';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value; rejects after `timeoutMs` with `what` in the message. */
export async function waitUntil<T>(
  fn: () => T | Promise<T>,
  timeoutMs: number,
  what: string,
  everyMs = 25,
): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (performance.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs}ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`,
      );
    }
    await sleep(everyMs);
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process we started, with its output collected. */
export class Proc {
  readonly pid: number;
  readonly startTime: number | undefined;
  stdout = '';
  stderr = '';
  exit: Exit | null = null;
  readonly exited: Promise<Exit>;

  constructor(
    readonly child: ChildProcess,
    readonly label: string,
  ) {
    if (child.pid === undefined) throw new Error(`could not start ${label}`);
    this.pid = child.pid;
    this.startTime = processStartTime(this.pid);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  get running(): boolean {
    return this.exit === null && this.child.exitCode === null && this.child.signalCode === null;
  }

  output(): string {
    return `--- ${this.label} stdout\n${this.stdout}--- ${this.label} stderr\n${this.stderr}`;
  }

  /** Sends a signal to this PID (only while it is still our child). */
  signal(sig: NodeJS.Signals): void {
    if (this.running) process.kill(this.pid, sig);
  }

  /** Waits for the exit, failing (with the output) after `timeoutMs`. */
  async wait(timeoutMs: number): Promise<Exit> {
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      t = setTimeout(
        () => reject(new Error(`${this.label} did not exit within ${timeoutMs}ms\n${this.output()}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(t);
    }
  }

  /** Waits until stdout+stderr match `re`. */
  async waitForOutput(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return waitUntil(
      () => {
        if (this.exit)
          throw new Error(`${this.label} exited (${JSON.stringify(this.exit)})\n${this.output()}`);
        return re.exec(this.stdout + this.stderr);
      },
      timeoutMs,
      `${re} in the output of ${this.label}`,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${this.output()}`);
    });
  }
}

const started: Proc[] = [];
const adopted: { pid: number; startTime: number }[] = [];

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  label?: string;
}

export function spawnProc(cmd: string, args: string[], opts: SpawnOptions = {}): Proc {
  const child = spawn(cmd, args, {
    cwd: opts.cwd ?? PACKAGE_ROOT,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p = new Proc(child, opts.label ?? [cmd, ...args].join(' '));
  started.push(p);
  return p;
}

/** The environment a CLI child sees: ours, with its own state directory and no colours. */
export function cliEnv(stateDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, CHAOSKIT_STATE_DIR: stateDir, NO_COLOR: '1', FORCE_COLOR: '0', ...extra };
}

/** `node bin/chaos.mjs ...args` with its own state directory. */
export function spawnCli(args: string[], stateDir: string, extraEnv: NodeJS.ProcessEnv = {}): Proc {
  return spawnProc(process.execPath, [CLI_BIN, ...args], {
    env: cliEnv(stateDir, extraEnv),
    label: `chaos ${args.join(' ')}`,
  });
}

/** Runs the CLI to completion; fails after `timeoutMs` (the child is killed in killAll). */
export async function runCli(
  args: string[],
  stateDir: string,
  timeoutMs = 20_000,
): Promise<{
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  proc: Proc;
}> {
  const t0 = performance.now();
  const p = spawnCli(args, stateDir);
  const exit = await p.wait(timeoutMs);
  return { ...exit, stdout: p.stdout, stderr: p.stderr, ms: performance.now() - t0, proc: p };
}

/** `chaos proxy` as its own process; `port` 0 lets it pick (the URL is read from its output). */
export async function startCliProxy(
  stateDir: string,
  port = 0,
): Promise<{ proc: Proc; url: string; port: number }> {
  const proc = spawnCli(['proxy', '--port', String(port)], stateDir);
  const m = await proc.waitForOutput(/fault proxy API on (http:\/\/127\.0\.0\.1:(\d+))/, 20_000);
  return { proc, url: m[1]!, port: Number(m[2]) };
}

/**
 * Tracks a process the code under test started on our behalf (a run's guard, a service brought
 * back by a restart command), so killAll can end it. Its start time guards against PID reuse.
 */
export function adopt(pid: number): void {
  const startTime = processStartTime(pid);
  if (startTime !== undefined && !adopted.some((a) => a.pid === pid && a.startTime === startTime))
    adopted.push({ pid, startTime });
}

/** afterEach: SIGKILL everything started or adopted here that still runs, by PID, and wait for it. */
export async function killAll(): Promise<void> {
  const procs = started.splice(0);
  for (const p of procs) {
    if (!p.running) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await Promise.all(procs.map((p) => Promise.race([p.exited, sleep(5_000)])));
  for (const a of adopted.splice(0)) {
    if (processStartTime(a.pid) !== a.startTime) continue; // exited (or the PID now belongs to someone else)
    try {
      process.kill(a.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** The state letter from /proc/PID/stat ('T' while stopped by SIGSTOP), or undefined if gone. */
export function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}
