/**
 * Shared bench plumbing: worker processes pinned to a core, free ports, result tables.
 *
 * Every worker is a child process with a hard deadline: it is killed (by its own PID) when it
 * overruns, so no bench can run forever. Workers print one `RESULT {json}` line on stdout.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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

/**
 * BENCH_NICE=N (e.g. -10, needs root for a negative value): run generators and targets at that
 * niceness. For shared machines where other work cannot be stopped: it makes the bench's pinned
 * processes win their cores most of the time (and slows everything else while it runs).
 */
export const NICE = process.env.BENCH_NICE ? Number(process.env.BENCH_NICE) : null;

/** Command prefix that pins a process to one core (and renices it under BENCH_NICE). */
export function pinned(core: number, cmd: string, args: readonly string[]): [string, string[]] {
  const [c, a]: [string, string[]] = canPin()
    ? ['taskset', ['-c', String(core), cmd, ...args]]
    : [cmd, [...args]];
  return NICE !== null && Number.isInteger(NICE) ? ['nice', ['-n', String(NICE), c, ...a]] : [c, a];
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
  opts: { core: number; deadlineMs: number; nodeArgs?: string[]; cwd?: string; script?: string },
): Promise<T> {
  const script = opts.script ?? fileURLToPath(new URL(`../workers/${name}.ts`, import.meta.url));
  const [cmd, argv] = pinned(opts.core, process.execPath, [
    ...(opts.nodeArgs ?? []),
    '--import',
    TSX_IMPORT,
    script,
  ]);
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
  if (timedOut)
    throw new Error(
      `worker ${name} overran its ${opts.deadlineMs} ms deadline and was killed\n${err.slice(-2000)}`,
    );
  if (!line) throw new Error(`worker ${name} exited with ${code} and no result\n${err.slice(-4000)}`);
  return JSON.parse(line.slice('RESULT '.length)) as T;
}

// ---- other load on the machine -------------------------------------------------------------------

const CLK_TCK = 100; // USER_HZ on Linux

/** Busy jiffies of the whole machine (all cores), or null off Linux. */
function machineBusy(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    return f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
  } catch {
    return null;
  }
}

/** utime+stime and parent of every process, from /proc (Linux). */
function processTable(): Map<number, { ppid: number; jiffies: number }> {
  const out = new Map<number, { ppid: number; jiffies: number }>();
  let names: string[] = [];
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const s = readFileSync(`/proc/${n}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out.set(Number(n), { ppid: Number(f[1]), jiffies: Number(f[11]) + Number(f[12]) });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function pidJiffies(pid: number): number | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return null;
  }
}

export interface LoadSummary {
  /** CPU used by processes that are not this bench's, in % of one core, averaged since start. */
  foreignPctOfCore: number;
  machineBusyPctOfCore: number;
  seconds: number;
  /** The same, between two wall-clock times (Date.now() ms) inside the metered span. */
  foreignPctBetween(fromMs: number, toMs: number): number;
}

export interface LoadMeter {
  stop(): LoadSummary | null;
}

/**
 * Measures CPU that other processes on the machine used while a bench ran: machine busy time
 * minus the bench's own processes (this one and all its descendants). Sampled every 250 ms (the
 * process tree is re-read every 2 s); a child's last partial interval before it exits is
 * missed, so "other" is slightly overstated.
 */
export function startLoadMeter(): LoadMeter {
  const m0 = machineBusy();
  if (m0 === null) return { stop: () => null };
  const t0 = performance.now();
  /** Our processes: jiffies when first seen (0 for those born after the start) and lately. */
  const seen = new Map<number, { first: number; now: number }>();
  const samples: { at: number; machine: number; ours: number }[] = [];
  let initial = true;
  const rescan = () => {
    const table = processTable();
    const ours = new Set<number>([process.pid]);
    // Parents almost always have lower PIDs, but walk until nothing changes to be sure.
    for (let changed = true; changed;) {
      changed = false;
      for (const [pid, p] of table) {
        if (!ours.has(pid) && ours.has(p.ppid)) {
          ours.add(pid);
          changed = true;
        }
      }
    }
    for (const pid of ours) {
      const j = table.get(pid)?.jiffies;
      if (j === undefined) continue;
      const e = seen.get(pid);
      if (e) e.now = j;
      // Processes already running at start count from then; later ones from their birth.
      else seen.set(pid, { first: initial ? j : 0, now: j });
    }
    initial = false;
  };
  let tick = 0;
  const sample = () => {
    if (tick++ % 8 === 0) rescan();
    else {
      for (const [pid, e] of seen) {
        const j = pidJiffies(pid);
        if (j !== null) e.now = j;
      }
    }
    let ours = 0;
    for (const e of seen.values()) ours += e.now - e.first;
    samples.push({ at: Date.now(), machine: (machineBusy() ?? m0) - m0, ours });
  };
  sample();
  const timer = setInterval(sample, 250);
  timer.unref();
  const pct = (
    a: { at: number; machine: number; ours: number },
    b: { at: number; machine: number; ours: number },
  ) =>
    b.at > a.at
      ? Math.max(0, ((b.machine - a.machine - (b.ours - a.ours)) / CLK_TCK / ((b.at - a.at) / 1000)) * 100)
      : 0;
  return {
    stop() {
      clearInterval(timer);
      rescan();
      sample();
      const seconds = (performance.now() - t0) / 1000;
      const first = samples[0]!;
      const last = samples.at(-1)!;
      return {
        foreignPctOfCore: pct(first, last),
        machineBusyPctOfCore: (last.machine / CLK_TCK / seconds) * 100,
        seconds,
        foreignPctBetween(fromMs, toMs) {
          const a = [...samples].reverse().find((x) => x.at <= fromMs) ?? first;
          const b = samples.find((x) => x.at >= toMs) ?? last;
          return pct(a, b);
        },
      };
    },
  };
}

/**
 * Waits (at most `maxWaitMs`) for a second in which the machine is nearly idle (< 15% of one
 * core busy), so a bench does not start inside someone else's burst. Returns the last busy %.
 */
export async function awaitQuiet(maxWaitMs: number): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  let busy = Number.NaN;
  while (Date.now() < deadline) {
    const a = machineBusy();
    if (a === null) return Number.NaN;
    await sleep(1000);
    busy = (((machineBusy() ?? a) - a) / CLK_TCK) * 100;
    if (busy < 15) break;
  }
  return busy;
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
  const head: Row = {
    measure: 'measure',
    ours: 'chaoskit',
    peer: 'peer',
    ratio: 'ratio',
    target: 'target',
    verdict: 'info',
  };
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
  ms: (n: number | null | undefined) =>
    n == null || !Number.isFinite(n) ? '—' : `${n < 10 ? n.toFixed(2) : n.toFixed(0)} ms`,
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

/** Environment variables that move the demo system to free loopback ports (runs side by side). */
export async function demoEnv(): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const n of [
    'API',
    'DEPENDENCY',
    'HOP',
    'PROXY_API',
    'INFERENCE',
    'INFERENCE_UPSTREAM',
    'INFERENCE_HTTP',
    'INFERENCE_HTTP_UPSTREAM',
  ])
    env[`CHAOSKIT_DEMO_${n}_PORT`] = String(await freePort());
  return env;
}
