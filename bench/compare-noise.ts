/**
 * compare-noise: does `chaos compare` tell an unchanged rerun from a planted slowdown?
 *
 *   npx tsx bench/compare-noise.ts [--scenario constant-baseline] [--time-scale 0.5] [--runs 10]
 *                                  [--slowdown 2] [--work-ms 20] [--seed 7] [--quiet-wait 30]
 *                                  [--keep DIR] [--reuse DIR]
 *
 * Runs a built-in scenario on the demo system once as the reference, then `--runs` times
 * unchanged and `--runs` times with CHAOSKIT_DEMO_SLOWDOWN (the demo api answers that many times
 * slower), alternating the two so that whatever else this machine is doing falls on both alike.
 * Each rerun is compared with the reference by the real CLI (`chaos compare REF NEW --format
 * json`). Expected: 0 unchanged reruns flagged, every slowed one flagged; exit 1 otherwise.
 *
 * The demo's dependency takes `--work-ms` per request in every run
 * (CHAOSKIT_DEMO_DEPENDENCY_WORK_MS; the demo's own default is 1 ms): a service whose own time
 * is most of what the load generator measures, so that a 2x slower service is about 2x slower
 * end to end. With 1 ms, doubling the api adds ~1.5 ms to ~5 ms of loopback and generator
 * overhead, under compare's 2 ms floor, and is rightly not flagged.
 *
 * Before each run it waits (up to --quiet-wait seconds) for the machine to be quiet; BENCH_NICE=N runs the
 * CLI at that niceness (see bench/lib/common.ts). Each run's saturated seconds are printed:
 * compare leaves those seconds out, so a run on a busy machine may be "not judged".
 *
 * Every run is `node bin/chaos.mjs run` with the demo on free loopback ports and its own
 * temporary state directory, killed by its PID when it overruns its deadline. `--keep DIR`
 * keeps the runs; `--reuse DIR` compares the runs kept there again without running anything.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Comparison } from '../src/compare.ts';
import type { RunResult } from '../src/result.ts';
import { DEMO_PORT_VARS } from '../src/demo/ports.ts';
import { CLI_BIN, PACKAGE_ROOT } from '../src/core/paths.ts';
import { awaitQuiet, freePort, killAll, NICE, stopChild, track } from './lib/common.ts';

const { values: opt } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'constant-baseline' },
    'time-scale': { type: 'string', default: '0.5' },
    runs: { type: 'string', default: '10' },
    slowdown: { type: 'string', default: '2' },
    seed: { type: 'string', default: '7' },
    'work-ms': { type: 'string', default: '20' },
    'quiet-wait': { type: 'string', default: '30' },
    keep: { type: 'string' },
    reuse: { type: 'string' },
  },
});
const RUNS = Number(opt.runs);
const TIME_SCALE = Number(opt['time-scale']);
if (!(Number.isInteger(RUNS) && RUNS >= 1 && RUNS <= 50)) throw new Error('--runs must be 1 to 50');
if (!(TIME_SCALE > 0 && TIME_SCALE <= 1)) throw new Error('--time-scale must be in (0, 1]');
/** Far beyond any built-in scenario at these scales plus the demo's start-up. */
const RUN_DEADLINE_MS = 240_000;

interface Proc {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv, deadlineMs: number): Promise<Proc> {
  const [cmd, argv] =
    NICE !== null && Number.isInteger(NICE)
      ? ['nice', ['-n', String(NICE), process.execPath, CLI_BIN, ...args]]
      : [process.execPath, [CLI_BIN, ...args]];
  const child = track(
    spawn(cmd, argv, {
      cwd: PACKAGE_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let stdout = '',
    stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const t = setTimeout(() => void stopChild(child, 10_000), deadlineMs);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    }),
  );
}

async function run(dir: string, slowdown: number): Promise<void> {
  const busy = await awaitQuiet(Number(opt['quiet-wait']) * 1000);
  const started = Date.now();
  const args = ['run', opt.scenario, '--time-scale', String(TIME_SCALE), '--seed', opt.seed];
  // Free ports are picked before the demo binds them; another process on this machine may take
  // one in between ("is in use"): try again with new ones.
  for (let attempt = 1; ; attempt++) {
    const env: NodeJS.ProcessEnv = {
      CHAOSKIT_DEMO_SLOWDOWN: String(slowdown),
      CHAOSKIT_DEMO_DEPENDENCY_WORK_MS: opt['work-ms'],
    };
    for (const v of Object.values(DEMO_PORT_VARS)) env[v] = String(await freePort());
    const state = mkdtempSync(join(tmpdir(), 'chaoskit-compare-noise-'));
    env.CHAOSKIT_STATE_DIR = state;
    rmSync(join(dir, 'results.json'), { force: true });
    const r = await cli([...args, '--out', dir, '--reporter', 'json', '--quiet'], env, RUN_DEADLINE_MS);
    rmSync(state, { recursive: true, force: true });
    if (existsSync(join(dir, 'results.json'))) {
      process.stdout.write(`exit ${r.code}, `);
      break;
    }
    if (attempt < 3 && /is in use/.test(r.stderr)) continue;
    throw new Error(`chaos run wrote no results (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
  }
  const result = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RunResult;
  const saturated = result.timeline.filter((s) => s.generator?.saturated).length;
  process.stdout.write(
    `${((Date.now() - started) / 1000).toFixed(0)}s, generator saturated in ${saturated} of ${result.timeline.length} s` +
      ` (machine ${Number.isNaN(busy) ? '?' : busy.toFixed(0)}% busy before)\n`,
  );
}

const x = (v: number | null) => (v === null ? '–' : `×${v.toFixed(2)}`);
const pv = (v: number | null) =>
  v === null ? ' (not judged)' : v < 0.001 ? ' p<.001' : ` p=${v.toFixed(3).replace(/^0/, '')}`;

async function main(): Promise<void> {
  const root = opt.reuse ?? opt.keep ?? mkdtempSync(join(tmpdir(), 'chaoskit-compare-noise-'));
  mkdirSync(root, { recursive: true });
  const ref = join(root, 'reference');
  const reruns: { name: string; slowed: boolean }[] = [];
  for (let i = 1; i <= RUNS; i++)
    reruns.push({ name: `unchanged-${i}`, slowed: false }, { name: `slowed-${i}`, slowed: true });
  console.log(
    opt.reuse
      ? `compare-noise: comparing the runs kept in ${root} again`
      : `compare-noise: ${opt.scenario} at --time-scale ${TIME_SCALE}, seed ${opt.seed}, dependency work ${opt['work-ms']} ms: ` +
          `a reference run, ${RUNS} unchanged reruns and ${RUNS} with CHAOSKIT_DEMO_SLOWDOWN=${opt.slowdown}, alternating; runs in ${root}`,
  );
  if (!opt.reuse) {
    process.stdout.write('reference ');
    await run(ref, 1);
    for (const r of reruns) {
      process.stdout.write(`${r.name} `);
      await run(join(root, r.name), r.slowed ? Number(opt.slowdown) : 1);
    }
  }

  const flagged = { unchanged: 0, slowed: 0 };
  const ratios = { unchanged: [] as number[], slowed: [] as number[] };
  console.log('\nrerun          compare  latency per phase (ratio of medians of per-second p50 / p99)');
  for (const r of reruns) {
    const c = await cli(
      ['compare', join(ref, 'results.json'), join(root, r.name, 'results.json'), '--format', 'json'],
      {},
      60_000,
    );
    if (c.code !== 0 && c.code !== 1) throw new Error(`chaos compare exited ${c.code}: ${c.stderr}`);
    const cmp = JSON.parse(c.stdout) as Comparison;
    const kind = r.slowed ? 'slowed' : 'unchanged';
    if (cmp.regressed) flagged[kind]++;
    const cells = cmp.latency.map((l) => `${l.phase} ${l.stat} ${x(l.ratio)}${pv(l.pValue)}`);
    for (const l of cmp.latency)
      if (l.stat === 'p50' && l.ratio !== null && !l.lowConfidence) ratios[kind].push(l.ratio);
    console.log(
      `${r.name.padEnd(14)} ${(cmp.regressed ? 'FLAGGED' : 'ok').padEnd(8)} ${cells.join(', ')}` +
        (cmp.regressed ? `\n${cmp.regressions.map((g) => `               ✗ ${g.message}`).join('\n')}` : ''),
    );
  }
  const range = (a: number[]) =>
    a.length
      ? `judged p50 ratios ${Math.min(...a).toFixed(2)}–${Math.max(...a).toFixed(2)}`
      : 'no p50 judged';
  console.log(
    `\nunchanged: ${flagged.unchanged} of ${RUNS} flagged (${range(ratios.unchanged)}); ` +
      `slowed: ${flagged.slowed} of ${RUNS} flagged (${range(ratios.slowed)})`,
  );
  if (!opt.keep && !opt.reuse) rmSync(root, { recursive: true, force: true });
  process.exitCode = flagged.unchanged === 0 && flagged.slowed === RUNS ? 0 : 1;
}

process.on('SIGINT', () => {
  killAll();
  process.exit(130);
});
process.on('exit', killAll);
await main();
