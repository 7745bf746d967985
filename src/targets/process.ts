/**
 * Driver for process targets: processes named by `match`, `argv` or a PID file, read from /proc.
 * Every pick is recorded with its start time so a recycled PID is never signalled.
 *
 * Picks cannot hit bystanders. Never eligible, whatever the target says:
 *   - chaoskit's own processes by whatever path they were started (the CLI by `node bin/chaos.mjs`,
 *     `npx chaos`, a `sh -c` wrapper; the guard, holders and timers, which carry
 *     CHAOSKIT_PROCESS in their environment), and every ancestor of one (npm, sh, the shell);
 *   - this process and its ancestors, PID 1, kernel threads, zombies;
 *   - other users' processes, unless the target says `anyUser: true`.
 * The demo system's api (`chaos demo-api`) is a deliberate target and stays eligible.
 *
 * `match` is matched against the arguments as a whole, not as a substring of the command line:
 *   `match: my-api --port 8080`  whole arguments, in order (a word without `/` also matches a
 *                                path's last part: `server.js` matches `/srv/app/server.js`)
 *   `match: '/node .+ --port \d+/'`  a regular expression over the arguments joined by spaces,
 *                                anchored at both ends
 *   `argv: [node, server.js]`    an exact prefix of the arguments (the first also by its name)
 * and `expect` (1 by default, or `any`) is how many processes must match.
 */
import { readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { basename, isAbsolute, resolve } from 'node:path';
import type { Target } from '../scenario/schema.ts';
import { pick } from './pick.ts';
import type { ApplyContext } from './types.ts';

export interface ProcessRef {
  pid: number;
  startTime: number;
  command: string;
}

export type ProcessTarget = Extract<Target, { kind: 'process' }>;
/** The fields that pick processes (a target, or what a restart recipe kept of it). */
export type ProcessSelector = Pick<ProcessTarget, 'match' | 'argv' | 'pidFile' | 'anyUser' | 'expect'>;

/** Set in the environment of every process chaoskit starts as its own machinery (guard, holders, timers). */
export const CHAOSKIT_PROCESS_ENV = 'CHAOSKIT_PROCESS';

/** The environment for one of chaoskit's own child processes: carries the mark that keeps it off every pick. */
export function markedEnv(role: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, [CHAOSKIT_PROCESS_ENV]: role };
}

/** The environment for what is NOT chaoskit's (a restart command): the mark removed. */
export function unmarkedEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env = { ...base };
  delete env[CHAOSKIT_PROCESS_ENV];
  return env;
}

const PF_KTHREAD = 0x00200000;

interface Stat {
  state: string;
  ppid: number;
  flags: number;
  startTime: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; fields after its closing paren are plain.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0]!, ppid: Number(rest[1]), flags: Number(rest[6]), startTime: Number(rest[19]) };
  } catch {
    return undefined;
  }
}

/** Start time in clock ticks since boot (/proc/PID/stat field 22), or undefined if gone. */
export function processStartTime(pid: number): number | undefined {
  return readStat(pid)?.startTime;
}

/**
 * Live processes (PID and start time) whose command line carries `--mark MARK`, the way
 * chaoskit's detached helpers (resource holders, self-reverting timers) are marked; `program`,
 * when given, must also appear in it.
 */
export function processesWithMark(mark: string, program?: string): { pid: number; startTime: number }[] {
  const out: { pid: number; startTime: number }[] = [];
  const needle = `\0--mark\0${mark}\0`;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if ((program !== undefined && !cmd.includes(program)) || !`\0${cmd}`.includes(needle)) continue;
    const st = processStartTime(Number(d));
    if (st !== undefined) out.push({ pid: Number(d), startTime: st });
  }
  return out;
}

function argvOf(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const argv = raw.split('\0');
    if (argv.at(-1) === '') argv.pop();
    return argv;
  } catch {
    return undefined;
  }
}

const commandOf = (argv: readonly string[]) => argv.join(' ').trim();

/** The same process as recorded (same PID and the same start time)? */
export function isSameProcess(ref: { pid: number; startTime: number }): boolean {
  return processStartTime(ref.pid) === ref.startTime;
}

/** The entry files that make a process chaoskit's own. */
const ENTRY = /(?:^|\/)(?:bin\/chaos\.mjs|src\/stress\/holder-main\.mjs|src\/safety\/timer-main\.mjs)$/;

/**
 * Is `pid` one of chaoskit's own processes? Marked in its environment (readable for our own
 * processes), or running one of chaoskit's entry files, however it was reached (a relative
 * path, an npm `.bin/chaos` link). The demo's api (`chaos demo-api`) is a target, not machinery.
 */
export function isChaoskitProcess(pid: number, argv = argvOf(pid)): boolean {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8');
    if (`\0${env}`.includes(`\0${CHAOSKIT_PROCESS_ENV}=`)) return true;
  } catch {
    // another user's process, or gone: the command line decides
  }
  if (!argv) return false;
  // The script node runs sits among the first few arguments (after options such as --import tsx).
  for (let i = 0; i < Math.min(argv.length, 6); i++)
    if (!argv[i]!.startsWith('-') && entryFile(pid, argv[i]!)) return argv[i + 1] !== 'demo-api';
  return false;
}

function entryFile(pid: number, arg: string): boolean {
  if (ENTRY.test(arg) || /(?:^|\/)\.bin\/chaos$/.test(arg)) return true;
  if (!/chaos|holder-main|timer-main/.test(basename(arg))) return false;
  try {
    const cwd = readlinkSync(`/proc/${pid}/cwd`);
    return ENTRY.test(realpathSync(isAbsolute(arg) ? arg : resolve(cwd, arg)));
  } catch {
    return false;
  }
}

interface ProcEntry {
  pid: number;
  ppid: number;
  startTime: number;
  uid: number;
  argv: string[];
  kernel: boolean;
  zombie: boolean;
}

function scan(): Map<number, ProcEntry> {
  const out = new Map<number, ProcEntry>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    const st = readStat(pid);
    const argv = argvOf(pid);
    let uid: number;
    try {
      uid = statSync(`/proc/${pid}`).uid;
    } catch {
      continue;
    }
    if (!st || !argv) continue;
    out.set(pid, {
      pid,
      ppid: st.ppid,
      startTime: st.startTime,
      uid,
      argv,
      kernel: (st.flags & PF_KTHREAD) !== 0 || pid === 2 || st.ppid === 2,
      zombie: st.state === 'Z' || st.state === 'X',
    });
  }
  return out;
}

function ancestorsOf(pid: number, ppidOf: (pid: number) => number | undefined): number[] {
  const out: number[] = [];
  for (let p = ppidOf(pid), guard = 0; p !== undefined && p > 0 && guard < 4096; p = ppidOf(p), guard++)
    out.push(p);
  return out;
}

/** PIDs never to be signalled, with why: this process and its ancestors, chaoskit's processes and theirs. */
function protectedSet(procs: Map<number, ProcEntry>): Map<number, string> {
  const why = new Map<number, string>();
  const ppidOf = (p: number) => procs.get(p)?.ppid ?? readStat(p)?.ppid;
  why.set(process.pid, 'this chaoskit process');
  for (const a of ancestorsOf(process.pid, ppidOf))
    if (!why.has(a)) why.set(a, 'an ancestor of this chaoskit process');
  for (const p of procs.values()) {
    if (why.has(p.pid) || p.zombie || p.kernel) continue;
    if (!isChaoskitProcess(p.pid, p.argv)) continue;
    why.set(p.pid, 'a chaoskit process');
    for (const a of ancestorsOf(p.pid, ppidOf))
      if (!why.has(a)) why.set(a, `an ancestor of chaoskit process ${p.pid}`);
  }
  return why;
}

/** Compiles a target's selection into a test over a process's arguments. */
export function argvMatcher(t: ProcessSelector): ((argv: readonly string[]) => boolean) | null {
  const same = (want: string, got: string | undefined) =>
    got !== undefined && (got === want || (!want.includes('/') && basename(got) === want));
  if (t.argv) {
    const want = t.argv;
    return (argv) =>
      argv.length >= want.length && want.every((w, i) => (i === 0 ? same(w, argv[0]) : argv[i] === w));
  }
  if (t.match === undefined) return null;
  const m = t.match.trim();
  const re = /^\/(.+)\/([imsu]*)$/.exec(m);
  if (re) {
    const rx = new RegExp(`^(?:${re[1]})$`, re[2]);
    return (argv) => rx.test(argv.join(' '));
  }
  const words = m.split(/\s+/).filter(Boolean);
  if (words.length === 0) return () => false;
  return (argv) => {
    for (let i = 0; i + words.length <= argv.length; i++)
      if (words.every((w, k) => same(w, argv[i + k]))) return true;
    return false;
  };
}

export interface ProcessPreview {
  /** The eligible matches, sorted by PID. */
  refs: ProcessRef[];
  pids: number[];
  commands: string[];
  /** Matching processes that are never picked, and why. */
  excluded: { pid: number; command: string; why: string }[];
  /** Why a fault on this target cannot run as planned (too many or too few matches), or null. */
  problem: string | null;
}

const describeExpect = (e: ProcessSelector['expect']) => (e === 'any' ? 'at least 1' : String(e ?? 1));

/**
 * What a fault on this target would pick right now, and whether that fits `expect`. For
 * `chaos plan`/`--dry-run` and the preflight; the problem lists every PID and command line.
 */
export function previewProcessTarget(t: ProcessSelector, label = 'process target'): ProcessPreview {
  const procs = scan();
  const prot = protectedSet(procs);
  const me = typeof process.getuid === 'function' ? process.getuid() : null;
  const refs: ProcessRef[] = [];
  const excluded: ProcessPreview['excluded'] = [];
  const consider = (p: ProcEntry) => {
    const command = commandOf(p.argv);
    const why =
      p.pid === 1
        ? 'PID 1'
        : p.kernel
          ? 'a kernel thread'
          : p.zombie
            ? 'a zombie'
            : (prot.get(p.pid) ??
              (me !== null && p.uid !== me && !t.anyUser
                ? `owned by uid ${p.uid} (set anyUser: true to allow)`
                : null));
    if (why) excluded.push({ pid: p.pid, command, why });
    else refs.push({ pid: p.pid, startTime: p.startTime, command });
  };
  if (t.pidFile) {
    let pid: number;
    try {
      pid = Number(readFileSync(t.pidFile, 'utf8').trim());
    } catch (err) {
      return finish([], [], `${label}: cannot read pidFile ${t.pidFile}: ${(err as Error).message}`);
    }
    const p = procs.get(pid);
    if (!Number.isInteger(pid) || pid <= 0)
      return finish([], [], `${label}: pidFile ${t.pidFile} does not hold a PID`);
    if (p) consider(p);
    return finish(refs, excluded, null);
  }
  const test = argvMatcher(t);
  if (!test) return finish([], [], `${label}: names no match, argv or pidFile`);
  for (const p of procs.values()) if (p.argv.length > 0 && test(p.argv)) consider(p);
  refs.sort((a, b) => a.pid - b.pid);
  return finish(refs, excluded, null);

  function finish(r: ProcessRef[], ex: ProcessPreview['excluded'], early: string | null): ProcessPreview {
    let problem = early;
    const want = t.expect ?? 1;
    const fits = want === 'any' ? r.length >= 1 : r.length === want;
    if (!problem && !fits) {
      const what = t.pidFile
        ? `pidFile ${t.pidFile}`
        : t.argv
          ? `argv ${JSON.stringify(t.argv)}`
          : `match ${JSON.stringify(t.match)}`;
      const list = r.map((x) => `\n    pid ${x.pid}: ${x.command}`).join('');
      const skipped = ex.map((x) => `\n    pid ${x.pid} (not eligible: ${x.why}): ${x.command}`).join('');
      problem =
        `${label}: ${what} picks ${r.length} process${r.length === 1 ? '' : 'es'}, expected ${describeExpect(want)}` +
        `${list}${skipped}` +
        (r.length > (want === 'any' ? Infinity : want)
          ? '\n  narrow match (whole arguments, e.g. "my-api --port 8080"), use argv or pidFile, or set expect'
          : '');
    }
    return {
      refs: r,
      pids: r.map((x) => x.pid),
      commands: r.map((x) => x.command),
      excluded: ex,
      problem,
    };
  }
}

/** The eligible processes the target matches right now (possibly none, possibly more than expected). */
export function findProcesses(t: ProcessSelector): ProcessRef[] {
  return previewProcessTarget(t).refs;
}

/**
 * Sends a signal to exactly the recorded process. Refuses (false) a recycled PID, PID 1, this
 * process or its ancestors, and chaoskit's own processes, whatever put the PID in front of it.
 */
export function signal(ref: ProcessRef, sig: NodeJS.Signals): boolean {
  if (!isSameProcess(ref) || ref.pid <= 1 || ref.pid === process.pid) return false;
  if (ancestorsOf(process.pid, (p) => readStat(p)?.ppid).includes(ref.pid)) return false;
  if (isChaoskitProcess(ref.pid)) return false;
  try {
    process.kill(ref.pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Polls a health URL until it answers 2xx; returns the ms it took, or null on timeout. */
export async function waitHealthy(url: string, timeoutMs: number): Promise<number | null> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(500) });
      await r.body?.cancel();
      if (r.ok) return performance.now() - start;
    } catch {
      // still down
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}

/**
 * Runs the environment's restart command detached (it may start a long-lived service), without
 * chaoskit's process mark: what it starts is the user's service, a target like any other.
 */
export function runRestart(command: string): void {
  const child = spawn('/bin/sh', ['-c', command], { detached: true, stdio: 'ignore', env: unmarkedEnv() });
  child.unref();
}

/**
 * A process fault's preflight: a problem when the target picks more processes than `expect`, or
 * a different number, or only processes that are never picked. Finding none at all is left to
 * apply time, where it is an error: the process may be one the run itself starts (the demo
 * system's api).
 */
export function processPreflight(t: ProcessSelector): string | null {
  const p = previewProcessTarget(t);
  return p.problem && (p.refs.length > 0 || p.excluded.length > 0) ? p.problem : null;
}

/**
 * The processes a process fault acts on: the target's eligible matches, which must fit
 * `expect` (else it throws, listing them), then `count`/`percent` of them by the seeded PRNG.
 */
export function pickProcesses(ctx: ApplyContext): ProcessRef[] {
  if (ctx.target.kind !== 'process') throw new Error(`target ${ctx.targetName} is not a process target`);
  const p = previewProcessTarget(ctx.target, `target ${ctx.targetName}`);
  if (p.problem) throw new Error(p.problem);
  return pick(p.refs, ctx.pick, ctx.prng);
}
