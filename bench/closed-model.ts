/**
 * closed-model: 1,000 virtual users, each one request then 1 s of think time, held for 5 minutes
 * (BENCH_SHORT: 60 s), through a real `chaos run` in a child process pinned to the generator core
 * (bench/workers/closed.ts) against nginx (or the Node target) on core 1.
 *   - concurrency: each second's active users (time-weighted mean, results.json sessions.timeline)
 *     against the pattern's 1,000, over the seconds the count held (not the first and last);
 *   - memory: RSS at the end minus RSS after 30 s (short: 10 s), and its least-squares slope;
 *   - the request rate beside it: users / (think + answer time) is what a closed model can send.
 */
import { canPin, fmt, GENERATOR_CORE, runWorker, SHORT, type BenchReport } from './lib/common.ts';
import { startFastTarget } from './lib/targets.ts';
import type { ClosedArgs, ClosedResult } from './workers/closed.ts';

const USERS = 1000;
const THINK_MS = 1000;
const DURATION_S = SHORT ? 60 : 300;
const WARMUP_S = SHORT ? 10 : 30;
const TOLERANCE = 0.01;
const LIMIT_MB = 50;

export async function closedModel(): Promise<BenchReport> {
  const target = await startFastTarget();
  let r: ClosedResult;
  try {
    const args: ClosedArgs = {
      url: target.url,
      users: USERS,
      thinkMs: THINK_MS,
      durationS: DURATION_S,
      connections: USERS,
    };
    r = await runWorker<ClosedResult>('closed', args, {
      core: GENERATOR_CORE,
      deadlineMs: (DURATION_S + 120) * 1000,
    });
  } finally {
    await target.stop();
  }
  const held = r.sessions.filter((s, i) => i > 0 && i < DURATION_S - 1 && s.target === USERS);
  const worst = held.reduce((w, s) => Math.max(w, Math.abs(s.active.mean - USERS) / USERS), 0);
  const within = held.filter((s) => Math.abs(s.active.mean - USERS) <= USERS * TOLERANCE).length;
  const during = r.samples.slice(0, -1);
  const start = during.find((s) => s.t >= WARMUP_S) ?? during[0]!;
  const end = during.filter((s) => s.t <= start.t + (DURATION_S - WARMUP_S)).at(-1) ?? during.at(-1)!;
  const span = during.filter((s) => s.t >= start.t && s.t <= end.t);
  const n = span.length;
  const mx = span.reduce((a, s) => a + s.t, 0) / n;
  const my = span.reduce((a, s) => a + s.rss, 0) / n;
  const slope =
    (span.reduce((a, s) => a + (s.t - mx) * (s.rss - my), 0) /
      span.reduce((a, s) => a + (s.t - mx) ** 2, 0)) *
    (60 / 1048576);
  const growth = end.rss - start.rss;
  const steady = r.requestedBySecond.slice(2, DURATION_S - 1);
  const rate = steady.reduce((a, b) => a + b, 0) / Math.max(1, steady.length);
  return {
    name: 'closed-model',
    title: `${fmt.int(USERS)} virtual users with ${THINK_MS / 1000} s think for ${DURATION_S} s`,
    notes: [
      `target: ${target.describe}; runner (src/run.ts) in a child process on core ${GENERATOR_CORE}${canPin() ? '' : ' (NOT pinned)'}`,
      `run: ${r.status}, sent ${fmt.int(r.sent)}, ok ${fmt.int(r.ok)}, failed ${fmt.int(r.failed)}, dropped ${fmt.int(r.dropped)}, latency p99 ${fmt.ms(r.p99Ms)}`,
      `RSS after ${WARMUP_S} s ${fmt.mb(start.rss)} (t=${start.t.toFixed(0)} s) → ${fmt.mb(end.rss)} at t=${end.t.toFixed(0)} s`,
      ...r.warnings.map((w) => `run warning: ${w}`),
    ],
    rows: [
      {
        measure: `active users vs ${fmt.int(USERS)}: seconds within ±1% (${held.length} held seconds)`,
        ours: `${within}/${held.length}`,
        peer: 'n/a',
        ratio: '—',
        target: 'all',
        verdict: held.length > 0 && within === held.length ? 'PASS' : 'MISS',
      },
      {
        measure: 'worst second, distance from the pattern',
        ours: fmt.pct(100 * worst),
        peer: 'n/a',
        ratio: '—',
        target: '≤ 1%',
        verdict: worst <= TOLERANCE ? 'PASS' : 'MISS',
      },
      {
        measure: `RSS growth after warm-up (${DURATION_S - WARMUP_S} s)`,
        ours: fmt.mb(growth),
        peer: 'n/a',
        ratio: '—',
        target: `< ${LIMIT_MB} MB`,
        verdict: growth < LIMIT_MB * 1048576 ? 'PASS' : 'MISS',
      },
      {
        measure: 'RSS slope (least squares)',
        ours: `${slope.toFixed(2)} MB/min`,
        peer: 'n/a',
        ratio: '—',
        target: 'report only',
        verdict: 'info',
      },
      {
        measure: 'requests per second (users / (think + answer))',
        ours: fmt.int(rate),
        peer: `≤ ${fmt.int(USERS / (THINK_MS / 1000))}`,
        ratio: '—',
        target: 'report only',
        verdict: 'info',
      },
    ],
    data: {
      users: USERS,
      thinkMs: THINK_MS,
      durationS: DURATION_S,
      worst,
      within,
      growthBytes: growth,
      ...r,
    },
  };
}
