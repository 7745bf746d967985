/**
 * The run's metrics as both exporters publish them (Prometheus text in prometheus.ts, OTLP in
 * src/otel/metrics.ts): counters, gauges and one latency histogram, fed only by run events, never
 * by the load engine, so watching a run costs the load nothing.
 *
 *   `second`  (the live view, once a wall second) ──> live counters: arrivals, sent, dropped,
 *             ended by outcome, errors by kind; gauges: outstanding, live latency, saturation
 *   `secondFinal` (a finished second, by intended send second; late and in any order: a second
 *             finishes only when all its requests have ended) ──> the latency histogram by phase
 *             and the finished-arrival counts, each second counted exactly once (the run's own
 *             second: with several load streams each stream's seconds come too, and are skipped)
 *   `finished` ──> the last seconds, which the runner finalises without an event, and the live
 *             counters topped up to the run's totals: at the end every counter equals results.json
 *   `started`, `faultApplied`, `faultReverted` ──> info, pattern phase and fault gauges
 *
 * Labels stay bounded: outcome, error kind, phase, fault id/type/target and pattern phase all come
 * from fixed lists or from the scenario; the run id is a label of `chaoskit_run_info` only.
 */
import type { JsHistogram } from 'hdr-histogram-js';
import type { ErrorKind } from '../core/error-kinds.ts';
import type { FaultRecord, RunResult } from '../result.ts';
import type { Progress, RunHandle } from '../run.ts';
import type { StartedInfo } from '../run/events.ts';
import type { RunPlan } from '../scenario/plan.ts';
import { decode } from '../core/hist.ts';
import type { SecondStats } from './store.ts';

export type MetricKind = 'counter' | 'gauge' | 'histogram';

export interface MetricDef {
  /** OpenTelemetry name (dots); the Prometheus name is what the OTel Collector would make of it. */
  otel: string;
  prom: string;
  kind: MetricKind;
  /** UCUM unit as OTLP carries it. */
  unit: string;
  help: string;
}

const def = (otel: string, prom: string, kind: MetricKind, unit: string, help: string): MetricDef => ({
  otel,
  prom,
  kind,
  unit,
  help,
});

/** Every metric chaoskit exports; docs/observability.md describes each (a test checks). */
export const METRICS = {
  runInfo: def(
    'chaoskit.run.info',
    'chaoskit_run_info',
    'gauge',
    '1',
    'Always 1; the run id, scenario, engine and seed are its labels (the only series that carries the run id).',
  ),
  elapsed: def(
    'chaoskit.run.elapsed',
    'chaoskit_run_elapsed_seconds',
    'gauge',
    's',
    'Seconds since the load started.',
  ),
  planned: def(
    'chaoskit.run.planned_duration',
    'chaoskit_run_planned_duration_seconds',
    'gauge',
    's',
    'Planned length of the load.',
  ),
  arrivals: def(
    'chaoskit.arrivals',
    'chaoskit_arrivals_total',
    'counter',
    '{request}',
    'Arrivals that came due (the requested rate is the rate of this counter).',
  ),
  sent: def(
    'chaoskit.requests.sent',
    'chaoskit_requests_sent_total',
    'counter',
    '{request}',
    'Requests that went out (the achieved rate is the rate of this counter).',
  ),
  dropped: def(
    'chaoskit.arrivals.dropped',
    'chaoskit_arrivals_dropped_total',
    'counter',
    '{request}',
    'Arrivals never sent: the backlog was full, or the generator had stalled.',
  ),
  ended: def(
    'chaoskit.requests.ended',
    'chaoskit_requests_ended_total',
    'counter',
    '{request}',
    'Requests that ended, by outcome (ok or failed), counted when they ended.',
  ),
  errors: def(
    'chaoskit.requests.errors',
    'chaoskit_request_errors_total',
    'counter',
    '{request}',
    'Failed requests by error kind, counted when they ended.',
  ),
  outstanding: def(
    'chaoskit.requests.outstanding',
    'chaoskit_requests_outstanding',
    'gauge',
    '{request}',
    'Requests waiting for a connection or in flight.',
  ),
  liveLatency: def(
    'chaoskit.live.latency',
    'chaoskit_live_latency_seconds',
    'gauge',
    's',
    'Latency percentiles of the last second: what ended in it plus the age of every request still outstanding.',
  ),
  saturated: def(
    'chaoskit.generator.saturated',
    'chaoskit_generator_saturated',
    'gauge',
    '1',
    '1 when the load generator itself was saturated in the last second (its latency figures may be its own).',
  ),
  faultActive: def(
    'chaoskit.fault.active',
    'chaoskit_fault_active',
    'gauge',
    '1',
    '1 from the start of a fault apply to the end of its revert, else 0.',
  ),
  patternPhase: def(
    'chaoskit.pattern_phase.active',
    'chaoskit_pattern_phase_active',
    'gauge',
    '1',
    '1 for the load pattern phase in progress, else 0.',
  ),
  duration: def(
    'chaoskit.request.duration',
    'chaoskit_request_duration_seconds',
    'histogram',
    's',
    'Latency from the intended send time of every request that ended (ok or failed), by phase (baseline, fault, recovery), counted once its second of intended send has finished.',
  ),
  finished: def(
    'chaoskit.arrivals.finished',
    'chaoskit_arrivals_finished_total',
    'counter',
    '{request}',
    'Arrivals of finished seconds by outcome (ok, failed, cancelled, dropped, not_sent); equals the results.json totals at the end.',
  ),
  finishedThrough: def(
    'chaoskit.finished_through',
    'chaoskit_finished_through_seconds',
    'gauge',
    's',
    'Every second of the load before this one has finished (is in the histogram and the finished counts).',
  ),
} as const satisfies Record<string, MetricDef>;

/** Histogram bucket upper bounds in seconds (Prometheus `le`; OTLP explicit bounds). */
export const LATENCY_BOUNDS_S = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
] as const;
const BOUNDS_US = LATENCY_BOUNDS_S.map((s) => s * 1e6);

export type Labels = Readonly<Record<string, string>>;

export interface ScalarFamily {
  def: MetricDef;
  samples: { labels: Labels; value: number }[];
}

export interface HistogramPoint {
  labels: Labels;
  /** Per bucket (not cumulative): one per bound, then the overflow bucket. */
  counts: number[];
  sum: number;
  count: number;
  min: number;
  max: number;
}

export interface HistogramFamily {
  def: MetricDef;
  bounds: readonly number[];
  points: HistogramPoint[];
}

export interface MetricsSnapshot {
  scalars: ScalarFamily[];
  histograms: HistogramFamily[];
}

/** Percentile labels of the live latency gauge (`quantile` is reserved for summaries). */
const LIVE_PERCENTILES = ['p50', 'p90', 'p95', 'p99', 'max'] as const;

class Hist {
  readonly counts = new Array<number>(BOUNDS_US.length + 1).fill(0);
  sum = 0;
  count = 0;
  min = Number.POSITIVE_INFINITY;
  max = 0;

  /** Adds an encoded HDR histogram (µs): each recorded value goes to the bucket of its lowest equivalent value. */
  addEncoded(encoded: string): void {
    const h = decode(encoded) as unknown as JsHistogram;
    if (h.totalCount === 0) return;
    const last = h.countsArrayIndex(h.maxValue);
    let b = 0;
    let sumUs = 0;
    for (let i = h.countsArrayIndex(h.minNonZeroValue); i <= last; i++) {
      const n = h.getCountAtIndex(i);
      if (n === 0) continue;
      const v = h.valueFromIndex(i);
      while (b < BOUNDS_US.length && v > BOUNDS_US[b]!) b++;
      this.counts[b]! += n;
      // The sum as HDR's mean has it (each value at the middle of its bucket), without a second pass.
      sumUs += h.medianEquivalentValue(v) * n;
    }
    this.count += h.totalCount;
    this.sum += sumUs / 1e6;
    this.min = Math.min(this.min, h.minNonZeroValue / 1e6);
    this.max = Math.max(this.max, h.maxValue / 1e6);
  }
}

/** The run's metrics, kept up to date from its events; snapshot() is what exporters read. */
export class RunMetrics {
  private run: RunHandle | null = null;
  private info: Record<string, string> = {};
  private plan: RunPlan | null = null;
  private elapsedS = 0;
  private readonly live = { arrivals: 0, sent: 0, dropped: 0, ok: 0, failed: 0, outstanding: 0 };
  private readonly errors = new Map<ErrorKind, number>();
  private liveLatency: Progress['latencyMs'] = null;
  private saturated = 0;
  private readonly faults = new Map<string, { labels: Labels; active: number }>();
  private readonly seen = new Set<number>();
  private finishedThrough = 0;
  private readonly finished = { ok: 0, failed: 0, cancelled: 0, dropped: 0, not_sent: 0 };
  private readonly hists = new Map<string, Hist>();
  /** Time the counters began (the run was attached), for OTLP's cumulative start time. */
  readonly startedAtMs = Date.now();

  attach(run: RunHandle): void {
    this.run = run;
    this.info = { run_id: run.runId, scenario: run.scenario.spec.name, engine: run.scenario.spec.engine };
    run.on('started', this.onStarted);
    run.on('second', this.onSecond);
    run.on('secondFinal', this.onFinal);
    run.on('faultApplied', this.onApplied);
    run.on('faultReverted', this.onReverted);
    run.on('finished', this.onFinished);
  }

  detach(): void {
    const r = this.run;
    if (!r) return;
    r.off('started', this.onStarted);
    r.off('second', this.onSecond);
    r.off('secondFinal', this.onFinal);
    r.off('faultApplied', this.onApplied);
    r.off('faultReverted', this.onReverted);
    r.off('finished', this.onFinished);
    this.run = null;
  }

  get scenario(): string | null {
    return this.info.scenario ?? null;
  }

  private readonly onStarted = (s: StartedInfo): void => {
    this.plan = s.plan;
    this.info = { ...this.info, seed: String(s.plan.seed) };
  };

  private readonly onSecond = (p: Progress): void => {
    const l = this.live;
    l.arrivals += p.requestedRate;
    l.sent += p.achievedRate;
    l.dropped += p.dropped;
    l.ok += p.ok;
    l.failed += p.failed;
    l.outstanding = p.outstanding;
    for (const [k, n] of Object.entries(p.errors) as [ErrorKind, number][])
      this.errors.set(k, (this.errors.get(k) ?? 0) + n);
    this.liveLatency = p.latencyMs;
    this.saturated = p.saturated ? 1 : 0;
    this.elapsedS = p.elapsedMs / 1000;
  };

  private readonly onFinal = (s: SecondStats, stream: string | null = null): void => {
    // With several streams each stream's second comes too: the run's (stream null) counts.
    if (stream !== null || this.seen.has(s.t)) return;
    this.seen.add(s.t);
    const f = this.finished;
    f.ok += s.ok;
    f.failed += s.failed;
    f.cancelled += s.cancelled;
    f.dropped += s.dropped;
    f.not_sent += s.notSent;
    for (const [phase, p] of Object.entries(s.phases)) {
      if (!p?.hist) continue;
      let h = this.hists.get(phase);
      if (!h) this.hists.set(phase, (h = new Hist()));
      h.addEncoded(p.hist);
    }
    while (this.seen.has(this.finishedThrough)) this.finishedThrough++;
  };

  private readonly onApplied = (f: FaultRecord): void => {
    this.faults.set(f.id, { labels: { fault: f.id, type: f.type, target: f.target }, active: 1 });
  };

  private readonly onReverted = (f: FaultRecord): void => {
    const e = this.faults.get(f.id);
    if (e) e.active = 0;
  };

  private readonly onFinished = (r: RunResult): void => {
    for (const s of r.timeline) this.onFinal(s as SecondStats);
    const t = r.totals;
    const l = this.live;
    // What happened after the last tick: the live counters end at the run's totals.
    l.arrivals = Math.max(l.arrivals, t.requested);
    l.sent = Math.max(l.sent, t.sent);
    l.dropped = Math.max(l.dropped, t.dropped);
    l.ok = Math.max(l.ok, t.ok);
    l.failed = Math.max(l.failed, t.failed);
    l.outstanding = 0;
    for (const [k, n] of Object.entries(t.errors) as [ErrorKind, number][])
      this.errors.set(k, Math.max(this.errors.get(k) ?? 0, n));
    for (const f of r.faults) {
      const e = this.faults.get(f.id);
      if (e) e.active = 0;
    }
    this.elapsedS = r.ranMs / 1000;
  };

  snapshot(): MetricsSnapshot {
    const M = METRICS;
    const one = (d: MetricDef, value: number): ScalarFamily => ({ def: d, samples: [{ labels: {}, value }] });
    const scalars: ScalarFamily[] = [
      // Only once the load started: its labels (the seed) are all known then and never change.
      { def: M.runInfo, samples: this.plan ? [{ labels: this.info, value: 1 }] : [] },
      one(M.elapsed, this.elapsedS),
      ...(this.plan ? [one(M.planned, this.plan.durationMs / 1000)] : []),
      one(M.arrivals, this.live.arrivals),
      one(M.sent, this.live.sent),
      one(M.dropped, this.live.dropped),
      {
        def: M.ended,
        samples: [
          { labels: { outcome: 'ok' }, value: this.live.ok },
          { labels: { outcome: 'failed' }, value: this.live.failed },
        ],
      },
      {
        def: M.errors,
        samples: [...this.errors].sort().map(([kind, value]) => ({ labels: { kind }, value })),
      },
      one(M.outstanding, this.live.outstanding),
      {
        def: M.liveLatency,
        samples: this.liveLatency
          ? LIVE_PERCENTILES.map((percentile) => ({
              labels: { percentile },
              value: this.liveLatency![percentile] / 1000,
            }))
          : [],
      },
      one(M.saturated, this.saturated),
      {
        def: M.faultActive,
        samples: [...this.faults.values()].map((f) => ({ labels: f.labels, value: f.active })),
      },
      { def: M.patternPhase, samples: this.phaseSamples() },
      {
        def: M.finished,
        samples: Object.entries(this.finished).map(([outcome, value]) => ({ labels: { outcome }, value })),
      },
      one(M.finishedThrough, this.finishedThrough),
    ];
    const points: HistogramPoint[] = [...this.hists]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([phase, h]) => ({
        labels: { phase },
        counts: [...h.counts],
        sum: h.sum,
        count: h.count,
        min: h.count ? h.min : 0,
        max: h.max,
      }));
    return { scalars, histograms: [{ def: M.duration, bounds: LATENCY_BOUNDS_S, points }] };
  }

  private phaseSamples(): { labels: Labels; value: number }[] {
    const plan = this.plan;
    if (!plan) return [];
    const ms = this.elapsedS * 1000;
    return plan.phases.map((p) => ({
      labels: { index: String(p.index), name: p.name },
      value: ms >= p.startMs && ms < p.endMs ? 1 : 0,
    }));
  }
}
