/** src/compare.ts: run-to-run deltas and regressions on synthetic runs scored by the real scorer. */
import { describe, expect, it } from 'vitest';
import { compareResults } from '../../src/compare.ts';
import type { RunResult } from '../../src/result.ts';
import { partitionRun, type SecondSpec } from './synthetic.ts';

const healthy = (ms: number): SecondSpec => ({ ok: 100, failed: 0, ms });
/** The reference run: a 10 s partition from 20 s, recovering 3 s after it ends. */
const base = (over: { ms?: number; faultMs?: number; recoverAt?: number } = {}): RunResult =>
  partitionRun({
    at: (t) =>
      t >= 20 && t < (over.recoverAt ?? 33)
        ? { ok: 40, failed: 60, ms: over.faultMs ?? 120 }
        : healthy(over.ms ?? 20),
  });

describe('compareResults', () => {
  it('identical runs: every delta is zero and nothing regressed', () => {
    const c = compareResults(base(), base());
    expect(c.regressed).toBe(false);
    expect(c.regressions).toEqual([]);
    expect(c.warnings).toEqual([]);
    expect(c.score).toEqual({ old: c.score.old, new: c.score.old, delta: 0, regressed: false });
    expect(c.p99.map((p) => p.scope)).toEqual(['all', 'baseline', 'fault', 'recovery']);
    expect(c.p99.every((p) => p.deltaMs === 0 && p.change === 0)).toBe(true);
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
    expect(c.objectives.every((o) => o.delta === 0 && !o.regressed)).toBe(true);
  });

  it('a planted regression: p99 doubled and the score 20 points lower are both flagged', () => {
    const old = base();
    const slow = base({ ms: 40, faultMs: 240 });
    slow.verdict = { ...slow.verdict!, score: old.verdict!.score - 20 };
    const c = compareResults(old, slow);
    expect(c.regressed).toBe(true);
    expect(c.score.delta).toBe(-20);
    expect(c.regressions.map((r) => r.kind).sort()).toEqual(['p99', 'p99', 'p99', 'p99', 'score']);
    expect(c.regressions.find((r) => r.kind === 'score')!.message).toBe(
      'resilience score fell 20 points (83.9 → 63.9), more than the 5 allowed',
    );
    for (const p of c.p99) {
      expect(p.change, p.scope).toBeCloseTo(1, 1);
      expect(p.regressed, p.scope).toBe(true);
    }
    expect(c.regressions.find((r) => r.kind === 'p99')!.message).toMatch(
      /^p99 latency over the whole run rose 100(\.\d)?% \(\d+ms → \d+ms\), more than the 20% allowed$/,
    );
    const lat = c.objectives.find((o) => o.phase === 'baseline' && o.name === 'latency p99 ≤ 250ms')!;
    expect(lat.worse).toBe(true);
    expect(lat.delta).toBeGreaterThan(20);
  });

  it('tolerances decide: the same change passes with wider ones', () => {
    const slow = base({ ms: 40 });
    slow.verdict = { ...slow.verdict!, score: base().verdict!.score - 20 };
    const c = compareResults(base(), slow, { maxScoreDrop: 25, maxP99Increase: 1.5 });
    expect(c.regressions).toEqual([]);
    expect(c.tolerances).toEqual({ maxScoreDrop: 25, maxP99Increase: 1.5, maxTtrIncreaseMs: 2000 });
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
    expect(never.regressions.map((r) => r.kind)).toContain('verdict'); // pass → fail
  });

  it('a gating objective that passed before and is missed now is a regression; a non-gating one is only a delta', () => {
    // No recovery objective and no budget: recovery-phase rows gate.
    const run = (after: SecondSpec) =>
      partitionRun({
        slo: { recovery: null, budget: false },
        at: (t) => (t >= 20 && t < 30 ? { ok: 40, failed: 60, ms: 120 } : t >= 30 ? after : healthy(20)),
      });
    const old = run(healthy(20));
    const worse = run({ ok: 97, failed: 3, ms: 20 });
    expect(old.verdict!.status).toBe('pass');
    const c = compareResults(old, worse);
    const rows = c.objectives.filter((o) => o.regressed);
    expect(rows.every((o) => o.phase === 'recovery' && o.gating)).toBe(true);
    expect(rows.map((o) => o.name).sort()).toEqual(['availability ≥ 99%', 'error rate ≤ 1%']);
    expect(c.regressions.filter((r) => r.kind === 'objective').map((r) => r.message)).toContainEqual(
      expect.stringMatching(/^recovery: error rate ≤ 1% is now missed \(0% → [\d.]+%, target ≤ 1%\)$/),
    );
    const fault = c.objectives.find((o) => o.phase === 'fault' && o.name.startsWith('availability'))!;
    expect(fault.regressed).toBe(false);
  });

  it('few requests make a p99 change low-confidence: shown, never flagged', () => {
    const tiny = (ms: number) => partitionRun({ at: () => ({ ok: 1, failed: 0, ms }) });
    const c = compareResults(tiny(10), tiny(50));
    expect(c.p99.every((p) => p.lowConfidence)).toBe(true);
    expect(c.regressions.filter((r) => r.kind === 'p99')).toEqual([]);
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
