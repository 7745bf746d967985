/**
 * Synthetic RunResults for reporter and compare tests: a hand-built timeline, scored by the real
 * scorer (src/slo/score.ts), so the verdict is what a run with that timeline would get.
 */
import { encode, newHistogram, recordMs, summarize } from '../../src/core/hist.ts';
import { SCHEMA_VERSION, type FaultRecord, type RunResult, type TimelineSecond } from '../../src/result.ts';
import { objectivesFor } from '../../src/slo/objectives.ts';
import { score } from '../../src/slo/score.ts';

export interface SecondSpec {
  ok: number;
  failed: number;
  /** Latency of every request in that second, ms. */
  ms: number;
  errorKind?: string;
  saturated?: boolean;
}

export function second(t: number, s: SecondSpec, activeFaults: string[] = []): TimelineSecond {
  const h = newHistogram();
  const fh = newHistogram();
  for (let i = 0; i < s.ok + s.failed; i++) {
    recordMs(h, s.ms * (0.5 + (i % 10) / 10));
    if (i >= s.ok) recordMs(fh, s.ms * (0.5 + (i % 10) / 10));
  }
  const n = s.ok + s.failed;
  return {
    t,
    requested: n,
    sent: n,
    achieved: n,
    dropped: 0,
    droppedStall: 0,
    notSent: 0,
    ok: s.ok,
    failed: s.failed,
    cancelled: 0,
    errors: s.failed ? { [s.errorKind ?? 'http_5xx']: s.failed } : {},
    status: { ...(s.ok ? { 200: s.ok } : {}), ...(s.failed ? { 503: s.failed } : {}) },
    latencyMs: summarize(h),
    serviceMs: summarize(h),
    sendLagMs: { p99: 0.2, max: 0.4 },
    backlogMax: 0,
    inflightMax: 4,
    generator: {
      cpuPct: 20,
      eventLoopDelayP99Ms: s.saturated ? 80 : 2,
      eventLoopDelayMaxMs: 5,
      saturated: !!s.saturated,
      reasons: [],
    },
    activeFaults,
    byFaults: {},
    phases: {},
    hist: n ? encode(h) : null,
    failedHist: s.failed ? encode(fh) : null,
  };
}

export interface Synthetic {
  name?: string;
  description?: string;
  seconds: number;
  /** What each second looks like. */
  at: (t: number) => SecondSpec;
  faults?: Partial<FaultRecord>[];
  /** SLO of the demo api, overridable. */
  slo?: { availability?: number; p99?: number; recovery?: number | null; budget?: boolean };
  host?: boolean;
  warnings?: string[];
  status?: RunResult['status'];
}

export function synthetic(o: Synthetic): RunResult {
  const faults: FaultRecord[] = (o.faults ?? []).map((f, i) => ({
    id: `f${i + 1}`,
    type: 'partition',
    target: 'api->dependency',
    plannedStartMs: 10_000,
    plannedEndMs: 20_000,
    status: 'reverted',
    appliedAtMs: 10_000,
    applyLagMs: 0,
    toleranceMs: 1000,
    late: false,
    revertedAtMs: 20_000,
    revertedBy: 'schedule',
    description: 'toxic partition on proxy dependency',
    error: null,
    manualRevert: 'curl -X DELETE http://127.0.0.1:8474/proxies/dependency/toxics/x',
    observations: [],
    params: {},
    ...f,
    applyStartedAtMs: f.applyStartedAtMs ?? f.appliedAtMs ?? 10_000,
  }));
  const timeline = Array.from({ length: o.seconds }, (_, t) =>
    second(
      t,
      o.at(t),
      faults
        .filter(
          (f) =>
            f.appliedAtMs !== null && f.appliedAtMs <= t * 1000 && (f.revertedAtMs ?? Infinity) > t * 1000,
        )
        .map((f) => f.id),
    ),
  );
  const all = newHistogram();
  let ok = 0,
    failed = 0;
  for (let t = 0; t < o.seconds; t++) {
    const s = o.at(t);
    ok += s.ok;
    failed += s.failed;
    for (let i = 0; i < s.ok + s.failed; i++) recordMs(all, s.ms * (0.5 + (i % 10) / 10));
  }
  const r: RunResult = {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'chaoskit', version: '0.1.0' },
    runId: `synthetic-${o.name ?? 'run'}`,
    seed: 7,
    scenario: {
      name: o.name ?? 'synthetic',
      description: o.description ?? 'A synthetic run for reporter tests.',
      file: 'synthetic.yaml',
    },
    environment: {
      file: 'demo.yaml',
      demo: true,
      targets: { api: { kind: 'http', address: 'http://127.0.0.1:8080' } },
    },
    timeScale: 1,
    startedAt: '2026-01-02T03:04:05.678Z',
    endedAt: '2026-01-02T03:05:05.678Z',
    ranMs: o.status === 'aborted' ? 30_000 : o.seconds * 1000,
    status: o.status ?? 'completed',
    abort:
      o.status === 'aborted' ? { reason: 'stop condition error-rate > 50% for 10s', atMs: 30_000 } : null,
    plan: {
      durationMs: o.seconds * 1000,
      expectedRequests: ok + failed,
      peakRate: 100,
      arrivals: 'even',
      phases: [
        { index: 1, name: 'steady', kind: 'constant', startMs: 0, endMs: o.seconds * 1000, peakRate: 100 },
      ],
    },
    load: {
      target: 'api',
      url: 'http://127.0.0.1:8080',
      connections: 64,
      timeoutMs: 5000,
      streamTimeoutMs: 120_000,
      engine: 'http',
    },
    totals: {
      requested: ok + failed,
      sent: ok + failed,
      achieved: ok + failed,
      ok,
      failed,
      dropped: 0,
      droppedStall: 0,
      notSent: 0,
      cancelled: 0,
      errors: failed ? { http_5xx: failed } : {},
      latencyMs: summarize(all),
      serviceMs: summarize(all),
      saturatedSeconds: timeline.filter((s) => s.generator?.saturated).length,
      hist: encode(all),
    },
    timeline,
    faults,
    host: o.host
      ? Array.from({ length: o.seconds }, (_, t) => ({
          t: t * 1000 + 20,
          cpuPct: 30 + (t % 7) * 5,
          memUsedBytes: 4e9 + t * 1e7,
          memTotalBytes: 16e9,
          load1: 1.2,
          gpus: [],
        }))
      : [],
    warnings: o.warnings ?? [],
  };
  const slo = o.slo ?? {};
  const so = objectivesFor(
    {
      file: 'slo.yaml',
      services: {
        api: {
          availability: slo.availability ?? 0.99,
          latency: { p99: slo.p99 ?? 250 },
          errorRate: 0.01,
          ...(slo.recovery === null ? {} : { recovery: slo.recovery ?? 10_000 }),
          holdFor: 3000,
          ...(slo.budget === false ? {} : { budget: { period: 30 * 86_400_000, maxSpend: 0.05 } }),
          thresholds: ['p(95)<400 over 5s'],
        },
      },
      openslo: [],
    },
    'api',
  );
  r.verdict = score(r, so);
  return r;
}

/** 60 s: healthy, a 10 s partition from 20 s at 40% availability, recovery 3 s after it ends. */
export const partitionRun = (over: Partial<Synthetic> = {}): RunResult =>
  synthetic({
    name: 'partition',
    seconds: 60,
    at: (t) => (t >= 20 && t < 33 ? { ok: 40, failed: 60, ms: 120 } : { ok: 100, failed: 0, ms: 20 }),
    faults: [{ appliedAtMs: 20_000, revertedAtMs: 30_000, plannedStartMs: 20_000, plannedEndMs: 30_000 }],
    host: true,
    ...over,
  });
