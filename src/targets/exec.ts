/**
 * Shell commands (iptables, tc, nsenter, ip) go through an injected executor, so tests can
 * assert the exact command lines without root, and the real one never runs a shell: argv only.
 */
import { execFile } from 'node:child_process';

export interface ExecResult {
  /** Exit code; 127 when the program is not installed, 124 when it ran past its time. */
  code: number;
  stdout: string;
  stderr: string;
}

export type Executor = (argv: readonly string[], opts?: { timeoutMs?: number }) => Promise<ExecResult>;

const DEFAULT_TIMEOUT_MS = 15_000;

export const realExecutor: Executor = (argv, opts = {}) =>
  new Promise((resolve) => {
    const [cmd, ...args] = argv;
    if (!cmd) throw new Error('empty command');
    execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) return resolve({ code: 0, stdout, stderr });
        const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean };
        if (e.code === 'ENOENT')
          return resolve({ code: 127, stdout: '', stderr: `${cmd}: command not found` });
        if (e.killed) return resolve({ code: 124, stdout, stderr: `${stderr}${cmd}: timed out` });
        resolve({ code: typeof e.code === 'number' ? e.code : 1, stdout, stderr: stderr || e.message });
      },
    );
  });

/** Runs argv and returns stdout; throws with the command line and its stderr when it fails. */
export async function run(exec: Executor, argv: readonly string[]): Promise<string> {
  const r = await exec(argv);
  if (r.code !== 0)
    throw new Error(`${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** A command line as a person would type it (for manual revert hints). */
export function shellLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
