/**
 * memory: RSS growth of a real `chaos run` at 2,000/s for 5 minutes (BENCH_SHORT: 40 s).
 *
 * The run is a child process pinned to the generator core (bench/workers/memory.ts); it samples
 * its own process.memoryUsage() once a second. Growth = RSS at the last sample of the load minus
 * RSS after the warm-up (30 s; short: 10 s). A least-squares slope over the same span is shown
 * too, because one RSS sample can sit on either side of a GC.
 * No peer: autocannon keeps no per-second history, so its memory is not comparable.
 */
import { canPin, fmt, GENERATOR_CORE, runWorker, SHORT, type BenchReport } from './lib/common.ts';
import { startFastTarget } from './lib/targets.ts';
import type { MemoryArgs, MemoryResult, MemorySample } from './workers/memory.ts';

const RATE = 2000;
const DURATION_S = SHORT ? 40 : 300;
const WARMUP_S = SHORT ? 10 : 30;
const LIMIT_MB = 50;

function slopeMbPerMin(xs: readonly MemorySample[], key: 'rss' | 'heapUsed'): number {
  const n = xs.length;
  if (n < 2) return Number.NaN;
  const mx = xs.reduce((a, s) => a + s.t, 0) / n;
  const my = xs.reduce((a, s) => a + s[key], 0) / n;
  let num = 0;
  let den = 0;
  for (const s of xs) {
    num += (s.t - mx) * (s[key] - my);
    den += (s.t - mx) ** 2;
  }
  return ((num / den) * 60) / 1048576;
}

export async function memory(): Promise<BenchReport> {
  const target = await startFastTarget();
  let r: MemoryResult;
  try {
    const args: MemoryArgs = { url: target.url, rate: RATE, durationS: DURATION_S, connections: 64 };
    r = await runWorker<MemoryResult>('memory', args, {
      core: GENERATOR_CORE,
      deadlineMs: (DURATION_S + 90) * 1000,
    });
  } finally {
    await target.stop();
  }
  // The run's clock starts a little after the sampler's (module load, preflight): find the span
  // where load was running from the samples themselves.
  const during = r.samples.slice(0, -1); // the last sample is taken after the result is built
  const start = during.find((s) => s.t >= WARMUP_S) ?? during[0]!;
  const end = during.filter((s) => s.t <= start.t + (DURATION_S - WARMUP_S)).at(-1) ?? during.at(-1)!;
  const span = during.filter((s) => s.t >= start.t && s.t <= end.t);
  const growth = end.rss - start.rss;
  const maxRss = Math.max(...span.map((s) => s.rss));
  const pass = growth < LIMIT_MB * 1048576;
  return {
    name: 'memory',
    title: `RSS growth of a ${DURATION_S} s run at ${fmt.int(RATE)}/s`,
    notes: [
      `target: ${target.describe}; runner (src/run.ts) in a child process on core ${GENERATOR_CORE}${canPin() ? '' : ' (NOT pinned)'}`,
      `RSS after ${WARMUP_S} s warm-up ${fmt.mb(start.rss)} (t=${start.t.toFixed(0)} s) → ${fmt.mb(end.rss)} at t=${end.t.toFixed(0)} s; max ${fmt.mb(maxRss)}`,
      `run: ${r.status}, sent ${fmt.int(r.sent)}, ok ${fmt.int(r.ok)}, failed ${fmt.int(r.failed)}, dropped ${fmt.int(r.dropped)}, latency p99 ${fmt.ms(r.p99Ms)}`,
      ...r.warnings.map((w) => `run warning: ${w}`),
    ],
    rows: [
      {
        measure: `RSS growth after warm-up (${DURATION_S - WARMUP_S} s)`,
        ours: fmt.mb(growth),
        peer: 'n/a',
        ratio: '—',
        target: `< ${LIMIT_MB} MB`,
        verdict: pass ? 'PASS' : 'MISS',
      },
      {
        measure: 'RSS slope (least squares)',
        ours: `${slopeMbPerMin(span, 'rss').toFixed(2)} MB/min`,
        peer: 'n/a',
        ratio: '—',
        target: 'report only',
        verdict: 'info',
      },
      {
        measure: 'heapUsed growth / slope',
        ours: `${fmt.mb(end.heapUsed - start.heapUsed)} / ${slopeMbPerMin(span, 'heapUsed').toFixed(2)} MB/min`,
        peer: 'n/a',
        ratio: '—',
        target: 'report only',
        verdict: 'info',
      },
    ],
    data: { rate: RATE, durationS: DURATION_S, warmupS: WARMUP_S, growthBytes: growth, maxRss, ...r },
  };
}
