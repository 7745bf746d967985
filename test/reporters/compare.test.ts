/**
 * src/compare.ts: run-to-run deltas and regressions on synthetic runs scored by the real scorer,
 * and the statistical rule on synthetic timelines with seeded noise (docs/ci.md "Regressions").
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ALPHA,
  compareResults,
  DEFAULT_TOLERANCES,
  HistogramError,
  MIN_ERROR_RATE_RATIO,
  MIN_REQUESTS,
  MIN_SECONDS,
} from '../../src/compare.ts';
import { encode, newHistogram, recordMs } from '../../src/core/hist.ts';
import type { RunResult } from '../../src/result.ts';
import { PACKAGE_ROOT } from '../../src/core/paths.ts';
import { partitionRun, type SecondSpec } from './synthetic.ts';

const TEMPLATE = partitionRun();

const healthy = (ms: number): SecondSpec => ({ ok: 100, failed: 0, ms });
const built = new Map<string, RunResult>();
/** The reference run: a 10 s partition from 20 s, recovering 3 s after it ends (a fresh copy). */
function base(over: { ms?: number; faultMs?: number; recoverAt?: number } = {}): RunResult {
  const key = JSON.stringify(over);
  if (!built.has(key))
    built.set(
      key,
      partitionRun({
        at: (t) =>
          t >= 20 && t < (over.recoverAt ?? 33)
            ? { ok: 40, failed: 60, ms: over.faultMs ?? 120 }
            : healthy(over.ms ?? 20),
      }),
    );
  return structuredClone(built.get(key)!);
}

/** A copy of `r` whose second t holds exactly the latencies `values(t)` (ms). */
function withLatency(r: RunResult, values: (t: number) => number[]): RunResult {
  return {
    ...r,
    timeline: r.timeline.map((s) => {
      const h = newHistogram();
      for (const v of values(s.t)) recordMs(h, v);
      return { ...s, hist: h.totalCount ? encode(h) : null };
    }),
  };
}

/** Seeded PRNG (mulberry32) with a standard normal draw. */
function rng(seed: number): { u: () => number; n: () => number } {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const n = () => Math.sqrt(-2 * Math.log(u() || 1e-12)) * Math.cos(2 * Math.PI * u());
  return { u, n };
}

/**
 * Seconds the way a busy machine serves them: each second's level wandering lognormally by
 * ~20%, one second in ten with a pause that makes 3% of its requests 5-10x slower, 100 requests
 * a second spread lognormally. Drawn once into a pool of encoded seconds per phase kind and
 * factor (encoding is the slow part), from which each noisy run draws its seconds.
 */
const POOL = 300;
const pools = new Map<string, string[]>();
function pool(levelMs: number): string[] {
  const key = String(levelMs);
  if (!pools.has(key)) {
    const { u, n } = rng(levelMs * 1000);
    pools.set(
      key,
      Array.from({ length: POOL }, () => {
        const level = levelMs * Math.exp(0.2 * n());
        const pause = u() < 0.1 ? 5 + 5 * u() : 1;
        const h = newHistogram();
        for (let i = 0; i < 100; i++) recordMs(h, level * Math.exp(0.4 * n()) * (u() < 0.03 ? pause : 1));
        return encode(h);
      }),
    );
  }
  return pools.get(key)!;
}

/** A run with TEMPLATE's phases and counts whose seconds are drawn from the pools. */
function noisy(seed: number, factor = 1): RunResult {
  const { u } = rng(seed);
  return {
    ...TEMPLATE,
    timeline: TEMPLATE.timeline.map((s) => {
      const p = pool((s.t >= 20 && s.t < 33 ? 120 : 20) * factor);
      return { ...s, hist: p[Math.floor(u() * POOL)]! };
    }),
  };
}

describe('compareResults', () => {
  it('identical runs: every delta is zero and nothing regressed', () => {
    const c = compareResults(base(), base());
    expect(c.regressed).toBe(false);
    expect(c.regressions).toEqual([]);
    expect(c.warnings).toEqual([]);
    expect(c.score).toEqual({ old: c.score.old, new: c.score.old, delta: 0, regressed: false });
    expect(c.latency.map((l) => `${l.phase} ${l.stat}`)).toEqual([
      'baseline p50',
      'baseline p99',
      'fault p50',
      'fault p99',
      'recovery p50',
      'recovery p99',
    ]);
    expect(c.latency.every((l) => l.deltaMs === 0 && l.ratio === 1 && l.pValue! >= 0.5)).toBe(true);
    expect(c.errors.map((e) => [e.phase, e.delta, e.regressed])).toEqual([
      ['baseline', 0, false],
      ['fault', 0, false],
      ['recovery', 0, false],
    ]);
    expect(c.errors.every((e) => e.pValue! >= 0.5)).toBe(true);
    expect(c.ttr).toEqual([
      {
        fault: 'f1',
        oldMs: 3000,
        newMs: 3000,
        present: { old: true, new: true },
        deltaMs: 0,
        regressed: false,
      },
    ]);
    expect(c.objectives.length).toBe(base().verdict!.objectives.length);
    expect(c.objectives.every((o) => o.delta === 0 && !o.nowMissed)).toBe(true);
  });

  it('a planted regression: latency doubled in every phase and the score 20 points lower are all flagged', () => {
    const old = base();
    const slow = base({ ms: 40, faultMs: 240 });
    slow.verdict = { ...slow.verdict!, score: old.verdict!.score - 20 };
    const c = compareResults(old, slow);
    expect(c.regressed).toBe(true);
    expect(c.score.delta).toBe(-20);
    expect(c.regressions.map((r) => r.kind).sort()).toEqual([...Array<string>(6).fill('latency'), 'score']);
    expect(c.regressions.find((r) => r.kind === 'score')!.message).toBe(
      'resilience score fell 20 points (83.9 → 63.9), more than the 5 allowed',
    );
    for (const l of c.latency) {
      expect(l.ratio, `${l.phase} ${l.stat}`).toBeCloseTo(2, 1);
      expect(l.regressed, `${l.phase} ${l.stat}`).toBe(true);
    }
    expect(c.regressions.filter((r) => r.kind === 'latency')[0]!.message).toBe(
      'baseline: p50 latency rose 2x, from 18ms to 36ms (median of the per-second p50s over 20 and 20 seconds; p < 0.001), more than the 50% and 2ms allowed',
    );
    const lat = c.objectives.find((o) => o.phase === 'baseline' && o.name === 'latency p99 ≤ 250ms')!;
    expect(lat.worse).toBe(true);
    expect(lat.delta).toBeGreaterThan(20);
  });

  it('tolerances decide: the same change passes with wider ones', () => {
    const slow = base({ ms: 40 });
    slow.verdict = { ...slow.verdict!, score: base().verdict!.score - 20 };
    const c = compareResults(base(), slow, { maxScoreDrop: 25, maxLatencyIncrease: 1.5 });
    expect(c.regressions).toEqual([]);
    expect(c.tolerances).toEqual({
      maxScoreDrop: 25,
      maxLatencyIncrease: 1.5,
      latencyFloorMs: 2,
      maxErrorRateIncrease: 0.01,
      maxTtrIncreaseMs: 2000,
    });
    // The floor: p50 18 ms → 36 ms and p99 28 ms → 56 ms are 2x, but not when rises up to 30 ms are allowed.
    expect(compareResults(base(), slow, { maxScoreDrop: 25, latencyFloorMs: 30 }).regressions).toEqual([]);
  });

  it('a slower recovery beyond the TTR tolerance, and one that no longer recovers, are regressions', () => {
    const slower = compareResults(base(), base({ recoverAt: 37 }));
    expect(slower.ttr[0]).toMatchObject({ oldMs: 3000, newMs: 7000, deltaMs: 4000, regressed: true });
    expect(slower.regressions.find((r) => r.kind === 'ttr')!.message).toBe(
      'f1: time to recover grew 4s (3s → 7s), more than the 2s allowed',
    );
    expect(compareResults(base(), base({ recoverAt: 34 })).ttr[0]!.regressed).toBe(false);

    const never = compareResults(base(), base({ recoverAt: 60 }));
    expect(never.ttr[0]).toMatchObject({ oldMs: 3000, newMs: null, regressed: true });
    expect(never.regressions.map((r) => r.message)).toContain(
      'f1: recovered in 3s before, did not recover now',
    );
    expect(never.warnings).toContainEqual(expect.stringMatching(/^the verdict went from pass to fail: /));
  });

  it('a gating objective met before and missed now is said, but is not a regression on its own', () => {
    // No fault: p99 238 ms → 266 ms against an objective of 250 ms, a flip at the edge (1.12x).
    const run = (ms: number) => partitionRun({ faults: [], at: () => healthy(ms) });
    const old = run(170);
    const now = run(190);
    const c = compareResults(old, now);
    expect(c.objectives.filter((o) => o.nowMissed).map((o) => `${o.phase}: ${o.name}`)).toEqual([
      'baseline: latency p99 ≤ 250ms',
    ]);
    expect(c.regressions).toEqual([]);
    // Without faults the baseline is the experiment: its miss fails the new run (exit 1 on its own).
    expect(c.warnings).toEqual([
      'the verdict went from pass to fail: baseline: latency p99 ≤ 250ms missed (266ms vs ≤ 250ms)',
      'baseline: latency p99 ≤ 250ms is now missed (238ms → 266ms, target ≤ 250ms)',
    ]);
  });

  it('warns when the runs are not comparable one to one', () => {
    const other = base();
    other.scenario.name = 'other';
    other.timeScale = 0.1;
    expect(compareResults(base(), other).warnings).toEqual([
      'the runs are of different scenarios: partition and other',
      'the runs used different time scales (1 and 0.1): times and rates are not comparable one to one',
    ]);
  });
});

describe("latency judged against the runs' own noise", () => {
  it('noisy but equal runs are never flagged (150 seeds)', () => {
    let flagged = 0;
    for (let seed = 1; seed <= 150; seed++)
      if (compareResults(noisy(seed), noisy(seed + 10_000)).regressed) flagged++;
    expect(flagged).toBe(0);
  });

  it('a 2x slowdown under the same noise is flagged every time (150 seeds)', () => {
    let flagged = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const c = compareResults(noisy(seed), noisy(seed + 10_000, 2));
      const base = c.latency.find((l) => l.phase === 'baseline' && l.stat === 'p50')!;
      if (base.regressed) flagged++;
      expect(c.regressions.every((r) => r.kind === 'latency')).toBe(true);
    }
    expect(flagged).toBe(150);
  });

  it('a 12x p50 rise with an unchanged p99 is flagged', () => {
    // Old: most requests take 2 ms, 2% take 30 ms. New: most take 24 ms, the same 2% 30 ms.
    const second = (typical: number) => (t: number) =>
      Array.from({ length: 100 }, (_, i) => (i < 98 ? typical * (1 + ((t + i) % 5) / 100) : 30));
    const old = withLatency(TEMPLATE, second(2));
    const now = withLatency(TEMPLATE, second(24));
    const c = compareResults(old, now);
    const p99 = c.latency.find((l) => l.phase === 'baseline' && l.stat === 'p99')!;
    expect(p99.ratio).toBe(1);
    expect(p99.regressed).toBe(false);
    expect(c.regressions.map((r) => r.message)).toEqual([
      'baseline: p50 latency rose 12x, from 2.04ms to 24ms (median of the per-second p50s over 20 and 20 seconds; p < 0.001), more than the 50% and 2ms allowed',
      'fault: p50 latency rose 12x, from 2.04ms to 24ms (median of the per-second p50s over 10 and 10 seconds; p < 0.001), more than the 50% and 2ms allowed',
      'recovery: p50 latency rose 12x, from 2.04ms to 24ms (median of the per-second p50s over 30 and 30 seconds; p < 0.001), more than the 50% and 2ms allowed',
    ]);
  });

  it('a rise below the minimum effect is not flagged, however significant', () => {
    const c = compareResults(
      noisy(3),
      withLatency(TEMPLATE, () => Array(100).fill(27)),
    );
    const p50 = c.latency.find((l) => l.phase === 'baseline' && l.stat === 'p50')!;
    expect(p50.pValue).toBeLessThan(ALPHA);
    expect(p50.ratio).toBeLessThan(1.5);
    expect(p50.regressed).toBe(false);
    // A sub-millisecond service doubling its latency is below the 2 ms floor.
    const fast = compareResults(
      withLatency(TEMPLATE, () => Array(100).fill(0.4)),
      withLatency(TEMPLATE, () => Array(100).fill(0.8)),
    );
    expect(fast.latency.every((l) => l.ratio === 2 && l.pValue! < 0.001 && !l.regressed)).toBe(true);
  });

  it('a phase with fewer than 8 seconds is low confidence: said so, never flagged', () => {
    // A 3 s partition: the fault phase has 3 seconds; the new run is 10x slower in it.
    const short = (faultMs: number) =>
      partitionRun({
        at: (t) => (t >= 20 && t < 23 ? { ok: 40, failed: 60, ms: faultMs } : healthy(20)),
        faults: [{ appliedAtMs: 20_000, revertedAtMs: 23_000, plannedStartMs: 20_000, plannedEndMs: 23_000 }],
      });
    const c = compareResults(short(100), short(1000));
    const fault = c.latency.filter((l) => l.phase === 'fault');
    expect(fault.map((l) => [l.lowConfidence, l.pValue, l.regressed, Math.round(l.ratio!)])).toEqual([
      [true, null, false, 10],
      [true, null, false, 10],
    ]);
    expect(c.regressions.filter((r) => r.kind === 'latency')).toEqual([]);
    expect(c.warnings).toEqual([
      'fault: latency not judged (low confidence): 3 and 3 seconds with requests, at least 8 on each side are needed',
    ]);
  });

  it('seconds in which the load generator was saturated give no latency sample, and it says so', () => {
    const old = base();
    const now = base({ ms: 40 });
    now.timeline = now.timeline.map((s) => ({ ...s, generator: { ...s.generator!, saturated: s.t < 20 } }));
    const c = compareResults(old, now);
    expect(c.latency.find((l) => l.phase === 'baseline')!.new.seconds).toBe(0);
    expect(c.regressions.map((r) => r.message)).not.toContainEqual(expect.stringMatching(/^baseline:/));
    expect(c.warnings).toEqual([
      "baseline: the new run's load generator was saturated in 20 seconds: their latency is left out",
      'baseline: latency not judged (low confidence): 20 and 0 seconds with requests, at least 8 on each side are needed',
    ]);
  });
});

describe('error rate: two-proportion test, errors counted as coming in bursts', () => {
  const run = (recovery: (t: number) => SecondSpec) =>
    partitionRun({
      at: (t) => (t >= 20 && t < 30 ? { ok: 40, failed: 60, ms: 120 } : t >= 30 ? recovery(t) : healthy(20)),
    });

  it('a steady 3% of errors where there were none is flagged', () => {
    const c = compareResults(
      run(() => healthy(20)),
      run(() => ({ ok: 97, failed: 3, ms: 20 })),
    );
    expect(c.regressions.filter((r) => r.kind === 'errors').map((r) => r.message)).toEqual([
      'recovery: error rate rose from 0% to 3%, 3 points more (0 of 3000 and 90 of 3000 requests failed; p < 0.001), more than the 1 point and 1.5x allowed',
    ]);
  });

  it('one more bad second (2% → 4%) is within the noise of bursty errors: not flagged', () => {
    const c = compareResults(
      run((t) => (t === 30 ? { ok: 40, failed: 60, ms: 120 } : healthy(20))),
      run((t) => (t <= 31 ? { ok: 40, failed: 60, ms: 120 } : healthy(20))),
    );
    const rec = c.errors.find((e) => e.phase === 'recovery')!;
    expect([rec.old.rate, rec.new.rate]).toEqual([0.02, 0.04]);
    expect(rec.pValue).toBeGreaterThan(0.1);
    expect(rec.regressed).toBe(false);
  });

  it('few requests are low confidence: said so, never flagged', () => {
    // 2 requests a second for 30 s: 60 requests, all failing in the new run.
    const few = (failed: number) =>
      partitionRun({ seconds: 30, at: () => ({ ok: 2 - failed, failed, ms: 20 }), faults: [] });
    const c = compareResults(few(0), few(2));
    expect(c.errors).toEqual([
      {
        phase: 'baseline',
        old: { requests: 60, failed: 0, rate: 0 },
        new: { requests: 60, failed: 60, rate: 1 },
        delta: 1,
        pValue: null,
        lowConfidence: true,
        regressed: false,
      },
    ]);
    expect(c.warnings).toContain(
      'baseline: error rate not judged (low confidence): 60 and 60 requests, at least 100 on each side are needed',
    );
  });
});

describe('a histogram that does not decode', () => {
  it('is an input error naming the side and the field', () => {
    const bad = base();
    const cut = bad.timeline[12]!.hist!.slice(0, -4); // a histogram cut short
    bad.timeline[12] = { ...bad.timeline[12]!, hist: cut };
    expect(() => compareResults(base(), bad)).toThrow(HistogramError);
    expect(() => compareResults(base(), bad)).toThrow(
      "the new result's timeline.12.hist is not a valid latency histogram: unexpected end of file",
    );
  });
});

describe('docs/ci.md', () => {
  it('states the rule with the parameters the code has', () => {
    const doc = readFileSync(join(PACKAGE_ROOT, 'docs/ci.md'), 'utf8');
    const t = DEFAULT_TOLERANCES;
    for (const phrase of [
      `**p < ${ALPHA}**`,
      `**more than ${1 + t.maxLatencyIncrease}x**`,
      `**and more than ${t.latencyFloorMs} ms**`,
      `**more than ${t.maxErrorRateIncrease * 100} point and to at least ${MIN_ERROR_RATE_RATIO}x**`,
      `\`--max-latency-increase ${t.maxLatencyIncrease * 100}%\``,
      `\`--latency-floor ${t.latencyFloorMs}ms\``,
      `\`--max-error-rate-increase ${t.maxErrorRateIncrease * 100}%\``,
      `\`--max-score-drop ${t.maxScoreDrop}\``,
      `\`--max-ttr-increase ${t.maxTtrIncreaseMs / 1000}s\``,
      `fewer than ${MIN_SECONDS} seconds with requests`,
      `fewer than ${MIN_REQUESTS} requests`,
    ])
      expect(doc, phrase).toContain(phrase);
  });
});
