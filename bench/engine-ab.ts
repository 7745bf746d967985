/**
 * engine-ab: the engine of this tree against the engine of an older commit, in the same run
 * (issue 12: the rebuilt runner must not be slower, less accurate or laggier than the one before).
 *
 * BENCH_OLD names a checkout of the older commit with its dependencies installed (e.g.
 * `git worktree add /tmp/chaoskit-old 9019bc9 && ln -s $PWD/node_modules /tmp/chaoskit-old/`); each
 * side's own bench/workers/engine.ts runs its own src/ against the same fast target, pinned to the
 * generator core, alternating old and new over several rounds:
 *   - throughput: an unreachable 1,000,000/s on 50 connections, responses ending in the window;
 *   - steady 5,000/s: seconds within ±1% of the requested rate, and send lag p99 over every request.
 * Ratios are new/old of the per-round medians. Without BENCH_OLD the bench says so and measures nothing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, GENERATOR_CORE, median, runWorker, SHORT, type BenchReport, type Row } from './lib/common.ts';
import { startFastTarget } from './lib/targets.ts';
import type { EngineArgs, EngineResult } from './workers/engine.ts';

const ROUNDS = SHORT ? 1 : 5;
const THROUGHPUT_MS = SHORT ? 5_000 : 7_500;
const STEADY_MS = SHORT ? 8_000 : 20_000;

async function once(script: string | undefined, args: EngineArgs, deadlineMs: number): Promise<EngineResult> {
  return runWorker<EngineResult>('engine', args, {
    core: GENERATOR_CORE,
    deadlineMs,
    ...(script ? { script, cwd: join(script, '..', '..', '..') } : {}),
  });
}

function withinPct(r: EngineResult): number {
  const secs = r.timeline.filter((s) => s.requested > 0);
  const ok = secs.filter((s) => Math.abs(s.sent - s.requested) <= s.requested * 0.01);
  return secs.length ? (100 * ok.length) / secs.length : Number.NaN;
}

export async function engineAb(): Promise<BenchReport> {
  const old = process.env.BENCH_OLD;
  const oldScript = old ? join(old, 'bench', 'workers', 'engine.ts') : '';
  if (!old || !existsSync(oldScript))
    return {
      name: 'engine-ab',
      title: 'this engine against an older commit’s, same run',
      notes: [
        'skipped: set BENCH_OLD to a checkout of the older commit with node_modules (see the file header)',
      ],
      rows: [],
      data: {},
    };
  const target = await startFastTarget();
  const side = {
    old: { rps: [] as number[], within: [] as number[], lag: [] as number[] },
    new: { rps: [] as number[], within: [] as number[], lag: [] as number[] },
  };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const which of round % 2 === 0 ? (['old', 'new'] as const) : (['new', 'old'] as const)) {
        const script = which === 'old' ? oldScript : undefined;
        const t = await once(
          script,
          {
            url: target.url,
            phases: [{ kind: 'constant', rate: 1_000_000, duration: THROUGHPUT_MS }],
            connections: 50,
            maxBacklog: 10_000,
            timeoutMs: 5000,
            window: [1500, THROUGHPUT_MS],
            stopAtMs: THROUGHPUT_MS + 50,
          },
          THROUGHPUT_MS + 30_000,
        );
        side[which].rps.push((t.windowOk / t.windowMs) * 1000);
        const s = await once(
          script,
          {
            url: target.url,
            phases: [{ kind: 'constant', rate: 5000, duration: STEADY_MS }],
            connections: 50,
            maxBacklog: 10_000,
            timeoutMs: 5000,
          },
          STEADY_MS + 30_000,
        );
        side[which].within.push(withinPct(s));
        side[which].lag.push(s.sendLagMs.p99);
      }
    }
  } finally {
    await target.stop();
  }
  const m = (xs: number[]) => median(xs);
  // Runs on this machine dip to ~65% now and then whichever engine runs (a shared VM): the ratio
  // of the two medians moves with how many dips each side drew. Each round's old and new run back
  // to back, so the median of the per-round ratios is the steadier figure; both are reported.
  const paired = m(side.new.rps.map((x, i) => x / side.old.rps[i]!));
  const rows: Row[] = [
    {
      measure: 'throughput at 1,000,000/s, 50 connections (responses/s)',
      ours: fmt.int(m(side.new.rps)),
      peer: `${fmt.int(m(side.old.rps))} (old)`,
      ratio: `${fmt.ratio(m(side.new.rps), m(side.old.rps))} (medians), ${paired.toFixed(2)}× (per round)`,
      target: '≥ 0.95× the old engine, per round',
      verdict: paired >= 0.95 ? 'PASS' : 'MISS',
    },
    {
      measure: 'seconds within ±1% of 5,000/s',
      ours: fmt.pct(m(side.new.within)),
      peer: `${fmt.pct(m(side.old.within))} (old)`,
      ratio: fmt.ratio(m(side.new.within), m(side.old.within)),
      target: 'not fewer than the old engine (−2 points)',
      verdict: m(side.new.within) >= m(side.old.within) - 2 ? 'PASS' : 'MISS',
    },
    {
      measure: 'send lag p99 at 5,000/s',
      ours: fmt.ms(m(side.new.lag)),
      peer: `${fmt.ms(m(side.old.lag))} (old)`,
      ratio: fmt.ratio(m(side.new.lag), m(side.old.lag)),
      target: '≤ the old engine + 0.5 ms',
      verdict: m(side.new.lag) <= m(side.old.lag) + 0.5 ? 'PASS' : 'MISS',
    },
  ];
  return {
    name: 'engine-ab',
    title: `this engine against ${old}'s, same run, ${ROUNDS} alternating round(s)`,
    notes: [
      `old tree: ${old}; target: ${target.describe}`,
      'each figure is the median over the rounds; ratios are new/old',
      `responses/s per round, old: ${side.old.rps.map((x) => fmt.int(x)).join(', ')}; new: ${side.new.rps.map((x) => fmt.int(x)).join(', ')}`,
    ],
    rows,
    data: side,
  };
}
