/**
 * throughput: the most responses per second one generator core gets from a loopback target.
 *
 * Same target, same 50 connections, generator pinned to core 0 and target to core 1:
 *   - chaoskit's HttpLoad at an unreachable constant 1,000,000/s (what `--force` allows): the
 *     backlog fills at once and every completion immediately sends the next waiting arrival, so
 *     the engine is saturated; arrivals beyond the backlog are dropped and counted, which is part
 *     of the engine's real cost at such a rate.
 *   - autocannon@8 (closed model, one thread, as `autocannon -c 50 URL`).
 *   - wrk -t1 -c50 when installed (C, the ceiling for a generator on one core).
 *   - undici Pool.dispatch() in a closed loop: a reference for the engine's own overhead.
 * Fairness: each Node generator counts responses that *end* inside the same window (2 s of
 * warm-up, then 8 s) in its own process; engine and autocannon alternate over three rounds and
 * the median is compared. wrk has no warm-up option: its figure is over its whole run.
 */
import { spawn } from 'node:child_process';
import {
  awaitQuiet,
  canPin,
  fmt,
  GENERATOR_CORE,
  median,
  pinned,
  runWorker,
  SHORT,
  startLoadMeter,
  NICE,
  track,
  which,
  type BenchReport,
  type Row,
} from './lib/common.ts';
import { startFastTarget } from './lib/targets.ts';
import type { EngineArgs, EngineResult } from './workers/engine.ts';
import type { AutocannonArgs, AutocannonResult } from './workers/autocannon.ts';

const CONNECTIONS = 50;
const RATE = 1_000_000;
const WARMUP_MS = SHORT ? 1000 : 1500;
const MEASURE_MS = SHORT ? 4000 : 6000;
const ROUNDS = SHORT ? 1 : 5;
const END_MS = WARMUP_MS + MEASURE_MS;

async function engineOnce(url: string): Promise<{ rps: number; r: EngineResult }> {
  const args: EngineArgs = {
    url,
    phases: [{ kind: 'constant', rate: RATE, duration: END_MS }],
    connections: CONNECTIONS,
    maxBacklog: 10_000,
    timeoutMs: 5000,
    window: [WARMUP_MS, END_MS],
    stopAtMs: END_MS + 50,
  };
  const r = await runWorker<EngineResult>('engine', args, {
    core: GENERATOR_CORE,
    deadlineMs: END_MS + 30_000,
  });
  return { rps: (r.windowOk / r.windowMs) * 1000, r };
}

async function autocannonOnce(url: string): Promise<{ rps: number; r: AutocannonResult }> {
  const args: AutocannonArgs = {
    url,
    connections: CONNECTIONS,
    durationS: END_MS / 1000,
    window: [WARMUP_MS, END_MS],
  };
  const r = await runWorker<AutocannonResult>('autocannon', args, {
    core: GENERATOR_CORE,
    deadlineMs: END_MS + 30_000,
  });
  return { rps: (r.windowOk / r.windowMs) * 1000, r };
}

async function undiciOnce(url: string): Promise<number> {
  const r = await runWorker<{ windowMs: number; windowCompleted: number }>(
    'undici-dispatch',
    { url, connections: CONNECTIONS, durationMs: END_MS, window: [WARMUP_MS, END_MS] },
    { core: GENERATOR_CORE, deadlineMs: END_MS + 30_000 },
  );
  return (r.windowCompleted / r.windowMs) * 1000;
}

/** wrk -t1 -c50 for the same total time (whole seconds); a number, or why there is none. */
async function wrkOnce(url: string): Promise<number | string> {
  const bin = which('wrk');
  if (!bin) return 'wrk not installed';
  const seconds = Math.ceil(END_MS / 1000);
  const [cmd, args] = pinned(GENERATOR_CORE, bin, ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, `${url}/`]);
  const child = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const killer = setTimeout(
    () => {
      try {
        if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
    seconds * 1000 + 20_000,
  );
  await new Promise((r) => child.once('exit', r));
  clearTimeout(killer);
  const m = /Requests\/sec:\s*([\d.]+)/.exec(out);
  return m ? Number(m[1]) : `wrk failed: ${out.trim().split('\n').at(-1) ?? ''}`;
}

export async function throughput(): Promise<BenchReport> {
  const target = await startFastTarget();
  const engine: number[] = [];
  const ac: number[] = [];
  const pairRatios: number[] = [];
  const foreign: number[] = [];
  const engineRuns: EngineResult[] = [];
  const acRuns: AutocannonResult[] = [];
  let wrk: number | string = 'wrk not run';
  let undici = Number.NaN;
  try {
    for (let i = 0; i < ROUNDS; i++) {
      // Each round is a back-to-back pair; other load on the machine drifts slowly, so a pair's
      // ratio is steadier than a ratio of separate medians. Who goes first alternates.
      if (NICE === null) await awaitQuiet(5000);
      const meter = startLoadMeter();
      let e = 0;
      let a = 0;
      for (const who of i % 2 === 0 ? ['engine', 'ac'] : ['ac', 'engine']) {
        if (who === 'engine') {
          const { rps, r } = await engineOnce(target.url);
          e = rps;
          engineRuns.push(r);
        } else {
          const { rps, r } = await autocannonOnce(target.url);
          a = rps;
          acRuns.push(r);
        }
      }
      engine.push(e);
      ac.push(a);
      pairRatios.push(e / a);
      foreign.push(meter.stop()?.foreignPctOfCore ?? Number.NaN);
    }
    undici = await undiciOnce(target.url);
    wrk = await wrkOnce(target.url);
  } finally {
    await target.stop();
  }
  const ours = median(engine);
  const peer = median(ac);
  const ratio = median(pairRatios);
  const rows: Row[] = [
    {
      measure: `responses/s, ${CONNECTIONS} conns (median of ${ROUNDS} pairs)`,
      ours: fmt.int(ours),
      peer: `${fmt.int(peer)} (autocannon)`,
      ratio: `${ratio.toFixed(2)}× (median pair)`,
      target: '≥ 1.00× autocannon',
      verdict: ratio >= 1 ? 'PASS' : 'MISS',
    },
    {
      measure: 'responses/s vs wrk -t1',
      ours: fmt.int(ours),
      peer: typeof wrk === 'string' ? wrk : `${fmt.int(wrk)} (wrk)`,
      ratio: typeof wrk === 'string' ? '—' : fmt.ratio(ours, wrk),
      target: 'report only',
      verdict: 'info',
    },
    {
      measure: 'responses/s vs raw undici Pool.dispatch loop',
      ours: fmt.int(ours),
      peer: `${fmt.int(undici)} (undici)`,
      ratio: fmt.ratio(ours, undici),
      target: 'report only',
      verdict: 'info',
    },
  ];
  return {
    name: 'throughput',
    title: 'saturated responses per second, one generator core',
    notes: [
      `target: ${target.describe}; generators on core ${GENERATOR_CORE}${canPin() ? '' : ' (NOT pinned: taskset missing or < 2 cores)'}`,
      `window: responses ending between ${WARMUP_MS / 1000} s and ${END_MS / 1000} s of each run; engine at constant ${fmt.int(RATE)}/s, backlog 10,000`,
      `pairs (engine / autocannon = ratio; other processes' CPU): ${engine
        .map(
          (e, i) =>
            `${fmt.int(e)} / ${fmt.int(ac[i]!)} = ${pairRatios[i]!.toFixed(2)} (${foreign[i]!.toFixed(0)}%)`,
        )
        .join('; ')}`,
    ],
    rows,
    data: {
      target: target.kind,
      connections: CONNECTIONS,
      rate: RATE,
      windowMs: MEASURE_MS,
      engine,
      autocannon: ac,
      pairRatios,
      foreignCpuPctPerPair: foreign,
      wrk,
      undici,
      engineRuns: engineRuns.map((r) => ({ ...r, timeline: undefined, generator: undefined })),
      autocannonRuns: acRuns.map((r) => ({ ...r, perSecond: undefined })),
    },
  };
}
