/** combineVerdicts (src/slo/combine.ts): a multi-stream run's verdict from its streams'. */
import { describe, expect, it } from 'vitest';
import type { Verdict } from '../../src/result.ts';
import { combineVerdicts } from '../../src/slo/combine.ts';
import { WEIGHTS } from '../../src/slo/score.ts';

function verdict(o: Partial<Verdict> = {}): Verdict {
  return {
    status: 'pass',
    pass: true,
    service: 'svc',
    score: 100,
    grade: 'A',
    subscores: { budget: null, recovery: 100, loss: 100, robustness: 100 },
    weights: WEIGHTS,
    objectives: [
      {
        name: 'availability ≥ 99%',
        phase: 'baseline',
        target: '≥ 99%',
        actual: '100%',
        actualValue: 1,
        pass: true,
        gating: true,
        lowConfidence: false,
        requests: 500,
      },
    ],
    recovery: [{ fault: 'f1', endMs: 20_000, ttrMs: 1_000, objectiveMs: 10_000, pass: true, note: null }],
    phases: [
      { name: 'baseline', seconds: [0, 1], requests: 100 },
      { name: 'fault', seconds: [2], requests: 50 },
      { name: 'recovery', seconds: [3], requests: 50 },
    ],
    budget: null,
    degradation: { baselineAvailability: 1, robustness: 1, lossS: 0, q: [1, 1, 1, 1] },
    reasons: [],
    ...o,
  };
}

describe('combineVerdicts', () => {
  it('one stream is its own verdict', () => {
    const v = verdict();
    expect(combineVerdicts([{ name: 'a', verdict: v }])).toBe(v);
  });

  it.each([
    [['pass', 'pass'], 'pass'],
    [['pass', 'fail'], 'fail'],
    [['fail', 'inconclusive'], 'inconclusive'],
    // A stream nothing judged keeps the run from passing: never PASS by omission.
    [['pass', 'not-scored'], 'not-scored'],
    [['not-scored', 'invalid'], 'invalid'],
    [['invalid', 'aborted'], 'aborted'],
  ] as const)('statuses %j → %s (the worst)', (statuses, expected) => {
    const v = combineVerdicts(
      statuses.map((status, i) => ({ name: `s${i}`, verdict: verdict({ status, pass: status === 'pass' }) })),
    );
    expect(v.status).toBe(expected);
    expect(v.pass).toBe(expected === 'pass');
  });

  it('the score is the lowest, objective rows are kept under their stream, phases add up', () => {
    const v = combineVerdicts([
      { name: 'browse', verdict: verdict({ score: 92, service: 'api' }) },
      {
        name: 'chat',
        verdict: verdict({
          score: 55,
          service: 'chat',
          subscores: { budget: 80, recovery: 40, loss: 90, robustness: 70 },
        }),
      },
    ]);
    expect(v.score).toBe(55);
    expect(v.grade).toBe('D');
    expect(v.service).toBe('api + chat');
    expect(v.subscores).toEqual({ budget: 80, recovery: 40, loss: 90, robustness: 70 });
    expect(v.objectives.map((o) => o.name)).toEqual(['browse/availability ≥ 99%', 'chat/availability ≥ 99%']);
    expect(v.phases).toEqual([
      { name: 'baseline', seconds: [0, 1], requests: 200 },
      { name: 'fault', seconds: [2], requests: 100 },
      { name: 'recovery', seconds: [3], requests: 100 },
    ]);
  });

  it('a fault is recovered from only when every stream recovered; the slowest time counts', () => {
    const row = (ttrMs: number | null, pass: boolean | null, note: string | null = null) => ({
      fault: 'f1',
      endMs: 20_000,
      ttrMs,
      objectiveMs: 10_000,
      pass,
      note,
    });
    const both = combineVerdicts([
      { name: 'a', verdict: verdict({ recovery: [row(1_000, true)] }) },
      { name: 'b', verdict: verdict({ recovery: [row(4_000, true)] }) },
    ]);
    expect(both.recovery).toEqual([row(4_000, true)]);
    const one = combineVerdicts([
      { name: 'a', verdict: verdict({ recovery: [row(1_000, true)] }) },
      { name: 'b', verdict: verdict({ recovery: [row(null, false, 'still failing at the end')] }) },
    ]);
    expect(one.recovery).toEqual([row(null, false, 'b: still failing at the end')]);
  });

  it('reasons every stream gives appear once; the rest under their stream', () => {
    const v = combineVerdicts([
      {
        name: 'a',
        verdict: verdict({ status: 'aborted', pass: false, reasons: ['aborted after 3s of 10s (SIGINT)'] }),
      },
      {
        name: 'b',
        verdict: verdict({
          status: 'aborted',
          pass: false,
          reasons: ['aborted after 3s of 10s (SIGINT)', 'fault: error rate ≤ 1% missed'],
        }),
      },
    ]);
    expect(v.reasons).toEqual([
      'aborted after 3s of 10s (SIGINT)',
      'stream a: ABORTED',
      'stream b: ABORTED',
      'stream b: fault: error rate ≤ 1% missed',
    ]);
  });
});
