import { describe, expect, it } from 'vitest';
import { encode, newHistogram, recordMs } from '../../src/core/hist.ts';
import { SCHEMA_VERSION, type RunResult, type TimelineSecond } from '../../src/result.ts';
import { objectivesFor, type ServiceObjectives } from '../../src/slo/objectives.ts';
import { fractionWithin, score } from '../../src/slo/score.ts';
import { parseThreshold } from '../../src/slo/threshold.ts';

/** One second of a synthetic timeline: `ok` and `failed` requests, all with latency `ms`. */
function sec(t: number, ok: number, failed: number, ms = 10): TimelineSecond {
  const h = newHistogram();
  for (let i = 0; i < ok + failed; i++) recordMs(h, ms);
  return {
    t,
    requested: ok + failed,
    sent: ok + failed,
    achieved: ok + failed,
    dropped: 0,
    droppedStall: 0,
    notSent: 0,
    ok,
    failed,
    cancelled: 0,
    errors: failed ? { http_5xx: failed } : {},
    status: {},
    latencyMs: null,
    serviceMs: null,
    sendLagMs: null,
    backlogMax: 0,
    inflightMax: 0,
    generator: null,
    activeFaults: [],
    byFaults: {},
    phases: {},
    hist: ok + failed ? encode(h) : null,
    failedHist: null,
  };
}

function result(timeline: TimelineSecond[], fault: { at: number; end: number } | null): RunResult {
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'chaoskit', version: 't' },
    runId: 'r',
    seed: 1,
    scenario: { name: 't', description: '', file: 't.yaml' },
    environment: { file: 'e', demo: false, targets: {} },
    timeScale: 1,
    startedAt: '',
    endedAt: '',
    ranMs: timeline.length * 1000,
    status: 'completed',
    abort: null,
    plan: {
      durationMs: timeline.length * 1000,
      expectedRequests: 0,
      peakRate: 100,
      arrivals: 'even',
      phases: [],
    },
    load: {
      target: 'api',
      url: '',
      connections: 1,
      timeoutMs: 1000,
      streamTimeoutMs: 120_000,
      engine: 'http',
    },
    totals: {
      requested: 0,
      sent: 0,
      achieved: 0,
      ok: 0,
      failed: 0,
      dropped: 0,
      droppedStall: 0,
      notSent: 0,
      cancelled: 0,
      errors: {},
      latencyMs: null,
      serviceMs: null,
      saturatedSeconds: 0,
      hist: null,
    },
    timeline,
    faults: fault
      ? [
          {
            id: 'f1',
            type: 'partition',
            target: 'x',
            plannedStartMs: fault.at,
            plannedEndMs: fault.end,
            status: 'reverted',
            applyStartedAtMs: fault.at,
            appliedAtMs: fault.at,
            applyLagMs: 0,
            toleranceMs: 1000,
            late: false,
            revertedAtMs: fault.end,
            revertedBy: 'schedule',
            description: '',
            error: null,
            manualRevert: null,
            observations: [],
            params: {},
          },
        ]
      : [],
    host: [],
    warnings: [],
  };
}

const SLO: ServiceObjectives = objectivesFor(
  {
    file: 'slo.yaml',
    services: {
      api: {
        availability: 0.99,
        latency: { p99: 100 },
        recovery: 10_000,
        holdFor: 3000,
        budget: { period: 30 * 86_400_000, maxSpend: 0.05 },
        thresholds: [],
      },
    },
    openslo: [],
  },
  'api',
);

/** 10 s healthy, a 10 s fault at 50% availability, 4 more seconds at 50%, then 16 s healthy. */
function handTimeline(): TimelineSecond[] {
  return Array.from({ length: 40 }, (_, t) => (t >= 10 && t < 24 ? sec(t, 50, 50) : sec(t, 100, 0)));
}

describe('score: hand-computed timelines', () => {
  it('a fault at 50% availability for 10 s that recovers 4 s after its end', () => {
    const v = score(result(handTimeline(), { at: 10_000, end: 20_000 }), SLO);
    // Phases: 0–9 baseline, 10–19 fault, 20–39 recovery.
    expect(v.phases.map((p) => [p.name, p.seconds.length, p.requests])).toEqual([
      ['baseline', 10, 1000],
      ['fault', 10, 1000],
      ['recovery', 20, 2000],
    ]);
    // TTR: seconds 20–23 still at 50%; 24, 25, 26 hold (holdFor 3 s) → 24 s − 20 s = 4 s.
    expect(v.recovery).toEqual([
      { fault: 'f1', endMs: 20_000, ttrMs: 4000, objectiveMs: 10_000, pass: true, note: null },
    ]);
    // Q = 0.5 in 14 seconds → loss 7 s of full-outage equivalent; robustness 0.5.
    expect(v.degradation.lossS).toBe(7);
    expect(v.degradation.robustness).toBe(0.5);
    // Budget: 700 bad of 4000; expected in 30 d = 100/s × 2,592,000 s; allowed 1% → burned 700/2,592,000.
    expect(v.budget!.badEvents).toBe(700);
    expect(v.budget!.expectedEventsInPeriod).toBe(259_200_000);
    expect(v.budget!.burned).toBeCloseTo(700 / 2_592_000, 12);
    expect(v.budget!.peakBurnRate).toBe(50); // 50% bad in a 5 s window against 1% allowed
    // Sub-scores: budget 100·(1 − 0.00027006/0.05) = 99.46; recovery 100; loss 100·(1 − 7/30) = 76.67; robustness 50.
    expect(v.subscores).toEqual({ budget: 99.5, recovery: 100, loss: 76.7, robustness: 50 });
    // 0.3·99.4599 + 0.3·100 + 0.2·76.6667 + 0.2·50 = 85.17
    expect(v.score).toBe(85.2);
    expect(v.grade).toBe('B');
    expect(v.status).toBe('pass');
    const faultAvail = v.objectives.find((o) => o.phase === 'fault' && o.name.startsWith('availability'))!;
    expect(faultAvail).toMatchObject({ actualValue: 0.5, pass: false, gating: false });
    const recAvail = v.objectives.find((o) => o.phase === 'recovery' && o.name.startsWith('availability'))!;
    expect(recAvail.actualValue).toBeCloseTo(0.9, 9);
  });

  it('a fault that never recovers fails the run with a recovery sub-score of 0', () => {
    const tl = Array.from({ length: 30 }, (_, t) => (t >= 10 ? sec(t, 50, 50) : sec(t, 100, 0)));
    const v = score(result(tl, { at: 10_000, end: 20_000 }), SLO);
    expect(v.recovery[0]!.ttrMs).toBeNull();
    expect(v.subscores.recovery).toBe(0);
    expect(v.status).toBe('fail');
    expect(v.reasons).toContain('f1: did not recover, objective 10s');
  });

  it('recovery slower than the objective scores objective/TTR and fails', () => {
    const tl = Array.from({ length: 60 }, (_, t) => (t >= 10 && t < 40 ? sec(t, 50, 50) : sec(t, 100, 0)));
    const v = score(result(tl, { at: 10_000, end: 20_000 }), SLO);
    expect(v.recovery[0]!.ttrMs).toBe(20_000);
    expect(v.subscores.recovery).toBe(50);
    expect(v.status).toBe('fail');
  });

  it('a baseline that already misses the SLO makes the run inconclusive, not failed', () => {
    const tl = Array.from({ length: 30 }, (_, t) => sec(t, 95, 5));
    const v = score(result(tl, { at: 10_000, end: 15_000 }), SLO);
    expect(v.status).toBe('inconclusive');
    expect(v.pass).toBe(false);
    expect(v.reasons[0]).toMatch(/^baseline already misses availability ≥ 99%/);
  });

  it('latency objectives use merged histograms per phase', () => {
    const tl = Array.from({ length: 20 }, (_, t) => sec(t, 100, 0, t >= 10 ? 300 : 10));
    const v = score(result(tl, { at: 10_000, end: 20_000 }), SLO);
    const base = v.objectives.find((o) => o.phase === 'baseline' && o.name === 'latency p99 ≤ 100ms')!;
    const fault = v.objectives.find((o) => o.phase === 'fault' && o.name === 'latency p99 ≤ 100ms')!;
    expect(base.actualValue).toBeCloseTo(10, 1);
    expect(base.pass).toBe(true);
    expect(fault.actualValue).toBeCloseTo(300, 0);
    expect(fault.pass).toBe(false);
  });

  it('windows with too few requests are low-confidence', () => {
    const tl = Array.from({ length: 20 }, (_, t) => sec(t, 4, 0));
    const v = score(result(tl, null), SLO);
    expect(v.objectives.every((o) => o.lowConfidence)).toBe(true);
    expect(v.phases[0]!.requests).toBe(80);
  });

  it('no faults: only baseline rows; score from the objectives that pass', () => {
    const v = score(
      result(
        Array.from({ length: 5 }, (_, t) => sec(t, 100, 0)),
        null,
      ),
      SLO,
    );
    expect(new Set(v.objectives.map((o) => o.phase))).toEqual(new Set(['baseline']));
    expect(v.recovery).toEqual([]);
    expect(v.status).toBe('pass');
  });
});

describe('thresholds: k6 grammar plus windows', () => {
  it.each([
    ['p(95)<500', { stat: { kind: 'percentile', p: 95 }, op: '<', value: 500 }],
    ['p(99.9)<=1s', { stat: { kind: 'percentile', p: 99.9 }, op: '<=', value: 1000 }],
    ['rate<0.01', { stat: { kind: 'rate' }, op: '<', value: 0.01 }],
    ['avg<200', { stat: { kind: 'avg' }, op: '<', value: 200 }],
    ['med<150', { stat: { kind: 'med' }, op: '<', value: 150 }],
    ['max<2000', { stat: { kind: 'max' }, op: '<', value: 2000 }],
    ['p(95)<500 over 10s', { stat: { kind: 'percentile', p: 95 }, op: '<', value: 500, windowMs: 10_000 }],
  ])('%s', (text, expected) => expect(parseThreshold(text)).toMatchObject(expected));

  it.each([
    ['p(0)<5', 'percentile 0 is outside (0, 100]'],
    ['p(101)<5', 'percentile 101 is outside (0, 100]'],
    ['rate<2', 'rate thresholds compare a fraction 0..1, got 2'],
    ['p(95)<500 over 0.5s', 'expected a window of at least 1s after "over", got "0.5s"'],
    [
      'fast please',
      'expected a threshold like p(95)<500, rate<0.01, avg<200, max<2s or p(99)<300 over 10s, got "fast please"',
    ],
  ])('rejects %s', (text, msg) => expect(parseThreshold(text)).toBe(msg));

  it('a windowed threshold catches a short bad stretch that the whole-run figure hides', () => {
    const tl = Array.from({ length: 60 }, (_, t) => sec(t, 100, 0, t >= 30 && t < 33 ? 800 : 10));
    const so = objectivesFor(
      {
        file: 's',
        services: { api: { holdFor: 10_000, thresholds: ['p(95)<500', 'p(95)<500 over 5s'] } },
        openslo: [],
      },
      'api',
    );
    const v = score(result(tl, null), so);
    expect(v.objectives.map((o) => [o.name, o.pass])).toEqual([
      ['threshold p(95)<500', true],
      ['threshold p(95)<500 over 5s', false],
    ]);
  });
});

describe('OpenSLO v1 mapping', () => {
  it('ratioMetric → good/total; thresholdMetric → fraction of requests within the value; Timeslices', () => {
    const so = objectivesFor(
      {
        file: 's',
        services: {},
        openslo: [
          {
            apiVersion: 'openslo/v1',
            kind: 'SLO',
            metadata: { name: 'avail' },
            spec: {
              service: 'api',
              budgetingMethod: 'Occurrences',
              indicator: { spec: { ratioMetric: {} } },
              objectives: [{ target: 0.99 }],
            },
          },
          {
            apiVersion: 'openslo/v1',
            kind: 'SLO',
            metadata: { name: 'fast' },
            spec: {
              service: 'api',
              budgetingMethod: 'Occurrences',
              indicator: { spec: { thresholdMetric: {} } },
              objectives: [{ op: 'lte', value: 50, target: 0.9 }],
            },
          },
          {
            apiVersion: 'openslo/v1',
            kind: 'SLO',
            metadata: { name: 'slices' },
            spec: {
              service: 'api',
              budgetingMethod: 'Timeslices',
              objectives: [{ target: 0.95, timeSliceTarget: 0.99 }],
            },
          },
        ],
      },
      'api',
    );
    expect(so.objectives.map((o) => o.kind)).toEqual(['availability', 'latency-fraction', 'timeslices']);
    const tl = Array.from({ length: 20 }, (_, t) =>
      sec(t, t === 5 ? 90 : 100, t === 5 ? 10 : 0, t < 15 ? 10 : 80),
    );
    const v = score(result(tl, null), so);
    const [avail, fast, slices] = v.objectives;
    expect(avail!.actualValue).toBeCloseTo(1990 / 2000, 9);
    expect(fast!.actualValue).toBeCloseTo(0.75, 2);
    expect(fast!.pass).toBe(false);
    expect(slices!.actualValue).toBeCloseTo(19 / 20, 9);
    expect(slices!.pass).toBe(true);
    expect(so.allowedBad).toBeCloseTo(0.01, 9);
  });

  it('fractionWithin reads the histogram', () => {
    const h = newHistogram();
    for (let i = 1; i <= 100; i++) recordMs(h, i);
    expect(fractionWithin(h, 50)).toBeCloseTo(0.5, 2);
    expect(fractionWithin(h, 1000)).toBe(1);
  });
});

describe('review fixes', () => {
  it('TTR judges services whose only objectives are thresholds', () => {
    const so = objectivesFor(
      {
        file: 's',
        services: { api: { recovery: 10_000, holdFor: 2000, thresholds: ['rate<0.05'] } },
        openslo: [],
      },
      'api',
    );
    const v = score(result(handTimeline(), { at: 10_000, end: 20_000 }), so);
    expect(v.recovery[0]!.ttrMs).toBe(4000);
  });

  it('a fault that never recovers carries no "run ended" note', () => {
    const tl = Array.from({ length: 30 }, (_, t) => (t >= 10 ? sec(t, 50, 50) : sec(t, 100, 0)));
    expect(score(result(tl, { at: 10_000, end: 20_000 }), SLO).recovery[0]!.note).toBeNull();
  });

  it('threshold windows shrink with the time scale', () => {
    const tl = Array.from({ length: 6 }, (_, t) => sec(t, 100, 0, t === 3 ? 800 : 10));
    const so = objectivesFor(
      { file: 's', services: { api: { holdFor: 1000, thresholds: ['p(95)<500 over 10s'] } }, openslo: [] },
      'api',
    );
    // 10 s at time scale 0.1 is a 1 s window: the slow second is caught.
    expect(score({ ...result(tl, null), timeScale: 0.1 }, so).objectives[0]!.pass).toBe(false);
  });

  it('OpenSLO thresholdMetric honours op gt (good = slower than the value)', () => {
    const so = objectivesFor(
      {
        file: 's',
        services: {},
        openslo: [
          {
            apiVersion: 'openslo/v1',
            kind: 'SLO',
            metadata: { name: 'warm' },
            spec: {
              service: 'api',
              budgetingMethod: 'Occurrences',
              indicator: { spec: { thresholdMetric: {} } },
              objectives: [{ op: 'gt', value: 50, target: 0.9 }],
            },
          },
        ],
      },
      'api',
    );
    const v = score(
      result(
        Array.from({ length: 4 }, (_, t) => sec(t, 100, 0, 80)),
        null,
      ),
      so,
    );
    expect(v.objectives[0]).toMatchObject({ name: 'warm: 90% of requests above 50ms', pass: true });
  });
});
