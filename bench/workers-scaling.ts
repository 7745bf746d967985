/**
 * workers-scaling: what `--workers N` and `--runners N` buy, and what they cost.
 *
 *   1. Throughput: `chaos run` at an unreachable constant rate (--force) against nginx (one
 *      process, pinned to the target core), 50 connections in all, with one process, --workers 1
 *      and --workers 2; responses per second over the seconds after the first. The ratio
 *      workers 2 / workers 1 is the figure; on this 2-core machine the generators and nginx share
 *      the cores, so it cannot approach 2 (docs/benchmarks.md says what a bigger machine shows).
 *   2. Merge exactness: the same seed at a reachable rate against nginx with one process,
 *      --workers 1, 2, 3 and 2 local `chaos runner`s: per-second `requested` must be identical;
 *      merged p50/p99 beside the single process's (a real target: timing differs run to run; the
 *      exact equality of merged percentiles on a deterministic target is test/scale/engine.test.ts).
 *   3. Coordinator overhead: this process is the coordinator of 2 local runners; its CPU per
 *      runner-second shipped and the bytes per second on the wire per runner.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from '../src/core/hist.ts';
import type { RunResult } from '../src/result.ts';
import { runScenario } from '../src/run.ts';
import { loadScenario } from '../src/input/load.ts';
import { CLI_BIN } from '../src/core/paths.ts';
import { Coordinator } from '../src/scale/coordinator.ts';
import { scaleEngineDef } from '../src/scale/setup.ts';
import { fmt, freePort, median, SHORT, track, type BenchReport, type Row } from './lib/common.ts';
import { startNginx, startFastTarget, type Target } from './lib/targets.ts';

const UNREACHABLE = 200_000;
const THROUGHPUT_S = SHORT ? 5 : 8;
const ROUNDS = SHORT ? 1 : 3;
const EXACT_RATE = 800;
const EXACT_S = SHORT ? 4 : 8;
const OVERHEAD_RATE = 2_000;
const OVERHEAD_S = SHORT ? 5 : 10;

function scenario(dir: string, url: string, rate: number, seconds: number): string {
  writeFileSync(join(dir, 'env.yaml'), `targets:\n  web: { kind: http, url: "${url}", health: / }\n`);
  writeFileSync(join(dir, 'slo.yaml'), 'services:\n  web:\n    availability: 1%\n');
  const file = join(dir, `s-${rate}.yaml`);
  writeFileSync(
    file,
    `name: bench-scale
environment: ./env.yaml
slo: slo.yaml
load:
  target: web
  connections: 50
  maxBacklog: 10000
  pattern: [{ kind: constant, rate: ${rate}, duration: ${seconds}s }]
`,
  );
  return file;
}

/** `chaos run` as a child process (killed after its deadline); the result it wrote. */
function chaos(
  args: string[],
  out: string,
  deadlineMs: number,
  env: NodeJS.ProcessEnv = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(process.execPath, [CLI_BIN, ...args, '--out', out, '--quiet', '--reporter', 'json'], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, ...env },
      }),
    );
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
    const t = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
    child.once('exit', (code) => {
      clearTimeout(t);
      try {
        resolve(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResult);
      } catch {
        reject(new Error(`chaos ${args.join(' ')} exited ${code} without results\n${err}`));
      }
    });
  });
}

function okPerSecond(r: RunResult): number {
  // The first second holds the start (connections, JIT): the rate after it is the steady one.
  const tl = r.timeline.slice(1, Math.floor(r.ranMs / 1000));
  return tl.reduce((n, s) => n + s.ok, 0) / Math.max(1, tl.length);
}

const requested = (r: RunResult) => {
  const out = r.timeline.map((s) => s.requested);
  while (out.length > 0 && out[out.length - 1] === 0) out.pop();
  return out;
};
const pct = (r: RunResult, p: number) =>
  r.totals.hist ? decode(r.totals.hist).getValueAtPercentile(p) / 1000 : NaN;

export async function workersScaling(): Promise<BenchReport> {
  const rows: Row[] = [];
  const notes: string[] = [];
  const data: Record<string, unknown> = {};
  const nginx = await startNginx();
  const target: Target = nginx ?? (await startFastTarget());
  notes.push(
    `target: ${target.describe}${nginx ? '' : ' (nginx is not installed: apt-get install nginx-light)'}; this machine has 2 cores, shared by the target and the generators`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'chaoskit-bench-scale-'));
  try {
    // ---- 1. throughput ------------------------------------------------------------------------
    const fast = scenario(dir, target.url, UNREACHABLE, THROUGHPUT_S);
    // Rounds alternate who goes first; the medians and the median of the pair ratios are reported
    // (other load drifts slowly, so a back-to-back pair is fairer than two separate medians).
    const samples: Record<string, number[]> = { 'one process': [], '--workers 1': [], '--workers 2': [] };
    const pairRatios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order: [string, string[]][] = [
        ['one process', []],
        ['--workers 1', ['--workers', '1']],
        ['--workers 2', ['--workers', '2']],
      ];
      if (round % 2 === 1) order.reverse();
      const got: Record<string, number> = {};
      for (const [label, extra] of order) {
        const out = mkdtempSync(join(dir, 'out-'));
        const r = await chaos(
          ['run', fast, '--force', '--seed', '1', ...extra],
          out,
          THROUGHPUT_S * 1000 + 60_000,
        );
        got[label] = okPerSecond(r);
        samples[label]!.push(got[label]);
      }
      pairRatios.push(got['--workers 2']! / got['--workers 1']!);
    }
    const tput = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
    data.throughput = { samples, pairRatios };
    notes.push(
      `throughput: ${ROUNDS} round(s) of ${THROUGHPUT_S} s each; --workers 2 / --workers 1 per round: ${pairRatios.map((x) => x.toFixed(2)).join(', ')}`,
    );
    rows.push(
      {
        measure: 'responses/s, --workers 2 vs --workers 1 (unreachable rate)',
        ours: fmt.int(tput['--workers 2']!),
        peer: fmt.int(tput['--workers 1']!),
        ratio: `${median(pairRatios).toFixed(2)}×`,
        target: 'info (2 cores shared with the target)',
        verdict: 'info',
      },
      {
        measure: 'responses/s, --workers 1 vs one process',
        ours: fmt.int(tput['--workers 1']!),
        peer: fmt.int(tput['one process']!),
        ratio: fmt.ratio(tput['--workers 1']!, tput['one process']!),
        target: 'info (cost of the coordinator hop)',
        verdict: 'info',
      },
    );

    // ---- 2. merge exactness ---------------------------------------------------------------------
    const steady = scenario(dir, target.url, EXACT_RATE, EXACT_S);
    const runs: Record<string, RunResult> = {};
    for (const [label, extra] of [
      ['one process', []],
      ['--workers 1', ['--workers', '1']],
      ['--workers 2', ['--workers', '2']],
      ['--workers 3', ['--workers', '3']],
    ] as [string, string[]][]) {
      runs[label] = await chaos(
        ['run', steady, '--seed', '3', ...extra],
        mkdtempSync(join(dir, 'out-')),
        120_000,
      );
    }
    const port = await freePort();
    const out = mkdtempSync(join(dir, 'out-'));
    const coord = chaos(
      ['run', steady, '--seed', '3', '--runners', '2', '--listen', `127.0.0.1:${port}`],
      out,
      120_000,
    );
    const runners = [0, 1].map((i) =>
      track(
        spawn(
          process.execPath,
          [CLI_BIN, 'runner', '--coordinator', `http://127.0.0.1:${port}`, '--index', String(i)],
          { stdio: 'ignore' },
        ),
      ),
    );
    runs['--runners 2'] = await coord;
    for (const c of runners) if (c.exitCode === null) c.kill('SIGKILL');
    const base = requested(runs['one process']!);
    for (const [label, r] of Object.entries(runs)) {
      if (label === 'one process') continue;
      const same = JSON.stringify(requested(r)) === JSON.stringify(base);
      rows.push({
        measure: `per-second requested, ${label} vs one process (${base.length} s)`,
        ours: same ? 'identical' : JSON.stringify(requested(r)),
        peer: `${base.reduce((a, b) => a + b, 0)} arrivals`,
        ratio: same ? '1.00×' : 'differs',
        target: 'identical',
        verdict: same ? 'PASS' : 'MISS',
      });
      rows.push({
        measure: `p50 / p99, ${label} vs one process (real target)`,
        ours: `${fmt.ms(pct(r, 50))} / ${fmt.ms(pct(r, 99))}`,
        peer: `${fmt.ms(pct(runs['one process']!, 50))} / ${fmt.ms(pct(runs['one process']!, 99))}`,
        ratio: fmt.ratio(pct(r, 99), pct(runs['one process']!, 99)),
        target: 'info',
        verdict: 'info',
      });
    }
    data.exactness = Object.fromEntries(
      Object.entries(runs).map(([k, r]) => [
        k,
        { requested: requested(r), p50: pct(r, 50), p99: pct(r, 99) },
      ]),
    );

    // ---- 3. coordinator overhead ----------------------------------------------------------------
    const busy = scenario(dir, target.url, OVERHEAD_RATE, OVERHEAD_S);
    const c = await Coordinator.listen({
      host: '127.0.0.1',
      port: 0,
      token: null,
      count: 2,
      kind: 'runners',
      log: () => {},
    });
    const kids = [0, 1].map((i) =>
      track(
        spawn(process.execPath, [CLI_BIN, 'runner', '--coordinator', c.url, '--index', String(i)], {
          stdio: 'ignore',
        }),
      ),
    );
    let abort = (_: string) => {};
    const def = scaleEngineDef('http', {
      kind: 'runners',
      count: 2,
      onLoss: 'abort',
      seed: 1,
      timeScale: 1,
      force: false,
      links: () => c.admitted(60_000),
      abortRun: (why) => abort(why),
      runId: () => 'bench',
      log: () => {},
    });
    const state = mkdtempSync(join(dir, 'state-'));
    const handle = runScenario(loadScenario(busy), {
      engineDef: def,
      seed: 1,
      guard: false,
      hostSamples: false,
      stateDir: state,
    });
    abort = (why) => handle.abort(why);
    let cpu0 = process.cpuUsage();
    let wire0 = c.wire();
    handle.once('started', () => {
      cpu0 = process.cpuUsage();
      wire0 = c.wire();
    });
    const r = await handle.result;
    const cpu = process.cpuUsage(cpu0);
    const wire = c.wire();
    await c.close();
    for (const k of kids) if (k.exitCode === null) k.kill('SIGKILL');
    const seconds = r.ranMs / 1000;
    const runnerSeconds = r.runners!.reduce((n, x) => n + x.secondsReceived, 0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const inPerRunner = (wire.bytesIn - wire0.bytesIn) / seconds / 2;
    const outPerRunner = (wire.bytesOut - wire0.bytesOut) / seconds / 2;
    data.overhead = { seconds, runnerSeconds, cpuMs, inPerRunner, outPerRunner, rate: OVERHEAD_RATE };
    rows.push(
      {
        measure: `coordinator CPU per runner-second shipped (2 runners, ${fmt.int(OVERHEAD_RATE)}/s)`,
        ours: `${(cpuMs / runnerSeconds).toFixed(1)} ms`,
        peer: `${fmt.pct((cpuMs / (seconds * 1000)) * 100)} of a core in all`,
        ratio: '—',
        target: 'info',
        verdict: 'info',
      },
      {
        measure: 'bytes/s on the wire per runner (runner → coordinator / back)',
        ours: `${fmt.int(inPerRunner)} / ${fmt.int(outPerRunner)}`,
        peer: '—',
        ratio: '—',
        target: 'info',
        verdict: 'info',
      },
    );
  } finally {
    await target.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    name: 'workers-scaling',
    title: '--workers and --runners: throughput, merge exactness, coordinator cost',
    notes,
    rows,
    data,
  };
}
