/**
 * builtins: every built-in scenario that runs on the demo system, at --time-scale 0.1, RUNS times
 * in a row (issue 12: 10). Time scale must never make a built-in fail by construction: each run
 * must end with the outcome its scenario is built for (exit 0), and every failure is listed with
 * its verdict's reasons so a flake can be told from a bug.
 * Scenarios that need Docker containers or a GPU are left out (they do not run on the demo).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR, demoEnv, SHORT, track, type BenchReport } from './lib/common.ts';

const RUNS = Number(process.env.BENCH_BUILTIN_RUNS ?? (SHORT ? 2 : 10));
const BIN = join(BENCH_DIR, '..', 'bin', 'chaos.mjs');
const DEMO_SCENARIOS = (process.env.BENCH_BUILTINS ?? '').split(',').filter(Boolean);
const DEFAULT = [
  'constant-baseline',
  'spike-with-partition',
  'ramp-with-latency',
  'sine-with-crash',
  'step-rollout-with-errors',
  'capacity',
  'ai-workload-mix',
  'grpc-spike-with-latency',
  'api-and-chat',
];

interface Outcome {
  scenario: string;
  code: number | null;
  status: string;
  reasons: string[];
  seconds: number;
}

async function runOnce(scenario: string): Promise<Outcome> {
  const out = mkdtempSync(join(tmpdir(), 'chaoskit-builtin-'));
  const env = {
    ...process.env,
    ...(await demoEnv()),
    CHAOSKIT_STATE_DIR: mkdtempSync(join(tmpdir(), 'chaoskit-builtin-state-')),
  };
  const t0 = performance.now();
  const child = track(
    spawn(
      process.execPath,
      [BIN, 'run', scenario, '--time-scale', '0.1', '--quiet', '--out', out, '--reporter', 'json'],
      { env, stdio: ['ignore', 'ignore', 'pipe'] },
    ),
  );
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  const killer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(killer);
  const file = join(out, 'results.json');
  if (!existsSync(file))
    return {
      scenario,
      code,
      status: 'no results',
      reasons: [stderr.trim().split('\n').pop() ?? ''],
      seconds: 0,
    };
  const r = JSON.parse(readFileSync(file, 'utf8')) as { verdict?: { status: string; reasons: string[] } };
  return {
    scenario,
    code,
    status: r.verdict?.status ?? 'unscored',
    reasons: r.verdict?.reasons ?? [],
    seconds: (performance.now() - t0) / 1000,
  };
}

export async function builtins(): Promise<BenchReport> {
  const list = DEMO_SCENARIOS.length ? DEMO_SCENARIOS : DEFAULT;
  const all: Outcome[] = [];
  for (const s of list)
    for (let i = 0; i < RUNS; i++) {
      const o = await runOnce(s);
      all.push(o);
      console.log(
        `   ${s} #${i + 1}: exit ${o.code} ${o.status} (${o.seconds.toFixed(0)} s)${o.code ? ` — ${o.reasons.join('; ')}` : ''}`,
      );
    }
  const rows = list.map((s) => {
    const runs = all.filter((o) => o.scenario === s);
    const passed = runs.filter((o) => o.code === 0).length;
    const firstBad = runs.find((o) => o.code !== 0);
    return {
      measure: s,
      ours: `${passed} of ${runs.length} exit 0`,
      peer: '—',
      ratio: firstBad ? `${firstBad.status}: ${firstBad.reasons[0] ?? ''}`.slice(0, 160) : 'every run passed',
      target: `${runs.length} of ${runs.length}`,
      verdict: (passed === runs.length ? 'PASS' : 'MISS') as 'PASS' | 'MISS',
    };
  });
  return {
    name: 'builtins',
    title: `every built-in demo scenario at --time-scale 0.1, ${RUNS} runs each`,
    notes: ['scenarios that need Docker containers or a GPU are not demo scenarios and are left out'],
    rows,
    data: { runs: all },
  };
}
