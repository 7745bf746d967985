/**
 * Shared bench plumbing: worker processes pinned to a core, free ports, result tables.
 *
 * Every worker is a child process with a hard deadline: it is killed (by its own PID) when it
 * overruns, so no bench can run forever. Workers print one `RESULT {json}` line on stdout.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));

/** `--short` or BENCH_SHORT=1: shorter runs for a quick check (the docs record full-length runs). */
export const SHORT = process.env.BENCH_SHORT === '1' || process.argv.includes('--short');

export const GENERATOR_CORE = 0;
export const TARGET_CORE = 1;

let tasksetChecked: boolean | null = null;
/** Whether `taskset` exists and there are at least two cores to pin to. */
export function canPin(): boolean {
  if (tasksetChecked === null) {
    const r = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    tasksetChecked = r.status === 0 && cpus().length >= 2;
  }
  return tasksetChecked;
}

/** Command prefix that pins a process to one core, or nothing when pinning is impossible. */
export function pinned(core: number, cmd: string, args: readonly string[]): [string, string[]] {
  return canPin() ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, [...args]];
}

export function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() || null : null;
}

/** A free loopback port (the kernel picks it; there is a small race before the caller binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Children still running; killed by PID on exit or Ctrl-C. */
const live = new Set<ChildProcess>();

export function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

export function killAll(): void {
  for (const c of live) {
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  live.clear();
}

/** Stops a child by PID: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(c: ChildProcess, graceMs = 2000): Promise<void> {
  if (c.pid === undefined || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  try {
    process.kill(c.pid, 'SIGTERM');
  } catch {
    return;
  }
  const t = setTimeout(() => {
    try {
      if (c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, graceMs);
  await exited;
  clearTimeout(t);
}

const TSX_IMPORT = import.meta.resolve('tsx');

/**
 * Runs bench/workers/<name>.ts in its own Node process pinned to `core`, with `args` as JSON in
 * BENCH_ARGS, and returns the object it prints on its `RESULT ` line. Killed after `deadlineMs`.
 */
export async function runWorker<T>(
  name: string,
  args: unknown,
  opts: { core: number; deadlineMs: number; nodeArgs?: string[]; cwd?: string },
): Promise<T> {
  const script = fileURLToPath(new URL(`../workers/${name}.ts`, import.meta.url));
  const [cmd, argv] = pinned(opts.core, process.execPath, [...(opts.nodeArgs ?? []), '--import', TSX_IMPORT, script]);
  const child = track(
    spawn(cmd, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BENCH_ARGS: JSON.stringify(args) },
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    }),
  );
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    if (err.length > 100_000) err = err.slice(-50_000);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }, opts.deadlineMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (timedOut) throw new Error(`worker ${name} overran its ${opts.deadlineMs} ms deadline and was killed\n${err.slice(-2000)}`);
  if (!line) throw new Error(`worker ${name} exited with ${code} and no result\n${err.slice(-4000)}`);
  return JSON.parse(line.slice('RESULT '.length)) as T;
}

// ---- reporting -----------------------------------------------------------------------------------

export type Verdict = 'PASS' | 'MISS' | 'info';

export interface Row {
  measure: string;
  ours: string;
  peer: string;
  ratio: string;
  target: string;
  verdict: Verdict;
}

export interface BenchReport {
  name: string;
  title: string;
  /** Lines printed above the table: setup, how it was measured. */
  notes: string[];
  rows: Row[];
  /** Raw numbers, written to out/bench/<name>.json. */
  data: Record<string, unknown>;
}

export function printReport(r: BenchReport): void {
  const head: Row = { measure: 'measure', ours: 'chaoskit', peer: 'peer', ratio: 'ratio', target: 'target', verdict: 'info' };
  const cols = ['measure', 'ours', 'peer', 'ratio', 'target', 'verdict'] as const;
  const cell = (row: Row, c: (typeof cols)[number]) => (row === head && c === 'verdict' ? 'result' : row[c]);
  const width = cols.map((c) => Math.max(...[head, ...r.rows].map((row) => cell(row, c).length)));
  const line = (row: Row) => cols.map((c, i) => cell(row, c).padEnd(width[i]!)).join(' | ');
  console.log(`\n== ${r.name}: ${r.title}`);
  for (const n of r.notes) console.log(`   ${n}`);
  console.log(line(head));
  console.log(width.map((w) => '-'.repeat(w)).join('-|-'));
  for (const row of r.rows) console.log(line(row));
}

export const fmt = {
  int: (n: number) => Math.round(n).toLocaleString('en-US'),
  ms: (n: number | null | undefined) => (n == null || !Number.isFinite(n) ? '—' : `${n < 10 ? n.toFixed(2) : n.toFixed(0)} ms`),
  pct: (n: number) => `${n.toFixed(1)}%`,
  ratio: (a: number, b: number) => (b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}×` : '—'),
  mb: (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`,
};

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
