/**
 * The run as traces, through the official SDK (sdk-trace + the OTLP/HTTP protobuf exporter):
 *
 *   trace of the run:  `chaoskit run <scenario>` (set-up to result; events: load started,
 *                      stopping, warnings; the verdict as attributes)
 *                        ├─ `phase <i> <name>`  each load pattern phase, at its real times
 *                        └─ `fault <id> <type>` apply start → revert end (ERROR if not reverted)
 *   one trace per sampled request: a CLIENT span from send to end, whose id goes out in the
 *                      request's `traceparent`, so the target's server spans are its children;
 *                      linked to the run's span; attributes: profile, faults active at send,
 *                      latency from the intended send time, send lag, status, error kind
 *
 * Requests get traces of their own (as k6's tracing does): one trace per run holding thousands of
 * requests and their server spans would be unreadable in any trace viewer, and the link keeps
 * them one click from the run. Sampling is a deterministic share (every 1/ratio-th request), so
 * the count is exact and the decision costs an addition.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type HrTime,
  type Link,
  type Span,
  type SpanContext,
  type SpanStatus,
  type Tracer,
} from '@opentelemetry/api';
import { millisToHrTime, type InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import {
  RandomIdGenerator,
  type ReadableSpan,
  type TimedEvent,
  type TracerProvider,
} from '@opentelemetry/sdk-trace';
import { classifyStatus, type ErrorKind } from '../core/error-kinds.ts';
import type { FaultRecord, RunResult } from '../result.ts';
import type { RunHandle } from '../run.ts';
import type { StartedInfo } from '../run/events.ts';
import type { RunPlan } from '../scenario/plan.ts';
import type { RequestTracer, TracedRequest, TraceProfile } from './request-tracer.ts';

const SCALE = 1_000_000;
/** At most this many warnings become events on the run span. */
const MAX_WARNING_EVENTS = 20;

/** Where finished request spans go (the span processor), and what they carry besides. */
export interface RequestSpanSink {
  onEnd(span: ReadableSpan): void;
  readonly resource: Resource;
}

const NO_EVENTS: TimedEvent[] = [];
/** The SDK's own ids (what its tracer would have given the span). */
const ids = new RandomIdGenerator();

/**
 * A sampled request's CLIENT span, recorded as the finished span the SDK's exporter reads (its
 * ReadableSpan) instead of through the SDK's live Span: a request span is written once, when the
 * request ends, and the live Span's bookkeeping (attributes sanitised twice, links copied, the
 * processors' start hook) took a median 60 µs per span at 50 spans/s, half of what OTLP cost the
 * generator (docs/observability.md, "Cost"). Times come from the same clock as the SDK's
 * (performance.timeOrigin + performance.now()). The run, phase and fault spans stay SDK spans.
 */
class SampledRequest implements TracedRequest, ReadableSpan {
  readonly traceparent: string;
  readonly kind = SpanKind.CLIENT;
  readonly startTime: HrTime;
  endTime: HrTime = [0, 0];
  duration: HrTime = [0, 0];
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  readonly events = NO_EVENTS;
  ended = false;
  readonly droppedAttributesCount = 0;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;
  private readonly context: SpanContext;

  constructor(
    readonly name: string,
    readonly attributes: Attributes,
    readonly links: Link[],
    private readonly sentEpochMs: number,
    private readonly sentMs: number,
    private readonly protocol: TraceProfile['protocol'],
    private readonly intendedMs: number,
    private readonly sink: RequestSpanSink,
    readonly instrumentationScope: InstrumentationScope,
  ) {
    this.context = {
      traceId: ids.generateTraceId(),
      spanId: ids.generateSpanId(),
      traceFlags: TraceFlags.SAMPLED,
    };
    this.traceparent = `00-${this.context.traceId}-${this.context.spanId}-01`;
    this.startTime = millisToHrTime(sentEpochMs);
  }

  get resource(): Resource {
    return this.sink.resource;
  }

  spanContext(): SpanContext {
    return this.context;
  }

  end(status: number, kind: ErrorKind | null, endMs: number): void {
    if (this.ended) return;
    const a = this.attributes;
    if (this.protocol === 'http') {
      if (status > 0) a['http.response.status_code'] = status;
    } else if (status >= 0) a['rpc.grpc.status_code'] = status;
    const failed = kind ?? (this.protocol === 'http' ? classifyStatus(status) : null);
    if (failed) {
      a['error.type'] = failed;
      this.status = { code: SpanStatusCode.ERROR, message: failed };
    }
    a['chaoskit.latency_ms'] = endMs - this.intendedMs;
    const tookMs = Math.max(0, endMs - this.sentMs);
    this.endTime = millisToHrTime(this.sentEpochMs + tookMs);
    this.duration = millisToHrTime(tookMs);
    this.ended = true;
    this.sink.onEnd(this);
  }
}

export class RunTracer implements RequestTracer {
  private readonly tracer: Tracer;
  private run: RunHandle | null = null;
  private runSpan: Span | null = null;
  private runCtx: Context = ROOT_CONTEXT;
  private links: Link[] = [];
  private runId = '';
  private loadStartMs: number | null = null;
  private plan: RunPlan | null = null;
  private phasesDone = 0;
  private readonly faults = new Map<string, Span>();
  private activeFaults: string[] = [];
  private warnings = 0;
  /** Sampling in millionths, in integers: 10% is exactly every tenth request. */
  private readonly step: number;
  private acc = 0;
  /** Requests sampled so far. */
  sampled = 0;

  private readonly scope: InstrumentationScope;

  /** `sink`: where sampled request spans go when they end (the provider's span processor). */
  constructor(
    provider: TracerProvider,
    ratio: number,
    version: string,
    private readonly sink: RequestSpanSink,
  ) {
    this.tracer = provider.getTracer('chaoskit', version);
    this.scope = { name: 'chaoskit', version };
    this.step = Math.round(Math.min(1, Math.max(0, ratio)) * SCALE);
  }

  /** The run's trace id (once attached). */
  get traceId(): string | null {
    return this.runSpan?.spanContext().traceId ?? null;
  }

  start(p: TraceProfile, intendedMs: number, sentMs: number): TracedRequest | null {
    this.acc += this.step;
    if (this.acc < SCALE) return null;
    this.acc -= SCALE;
    this.sampled++;
    const attributes: Attributes = { ...p.attributes, 'chaoskit.run.id': this.runId };
    if (this.activeFaults.length > 0) attributes['chaoskit.faults'] = this.activeFaults;
    attributes['chaoskit.send_lag_ms'] = sentMs - intendedMs;
    return new SampledRequest(
      p.name,
      attributes,
      this.links,
      performance.timeOrigin + performance.now(),
      sentMs,
      p.protocol,
      intendedMs,
      this.sink,
      this.scope,
    );
  }

  attach(run: RunHandle): void {
    this.run = run;
    this.runId = run.runId;
    const span = this.tracer.startSpan(
      `chaoskit run ${run.scenario.spec.name}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: { 'chaoskit.run.id': run.runId, 'chaoskit.scenario': run.scenario.spec.name },
      },
      ROOT_CONTEXT,
    );
    this.runSpan = span;
    this.runCtx = trace.setSpan(ROOT_CONTEXT, span);
    this.links = [{ context: span.spanContext(), attributes: { 'chaoskit.link': 'run' } }];
    run.on('started', this.onStarted);
    run.on('second', this.onSecond);
    run.on('faultApplied', this.onApplied);
    run.on('faultReverted', this.onReverted);
    run.on('stopping', this.onStopping);
    run.on('warning', this.onWarning);
    run.on('finished', this.onFinished);
  }

  detach(): void {
    const r = this.run;
    if (!r) return;
    r.off('started', this.onStarted);
    r.off('second', this.onSecond);
    r.off('faultApplied', this.onApplied);
    r.off('faultReverted', this.onReverted);
    r.off('stopping', this.onStopping);
    r.off('warning', this.onWarning);
    r.off('finished', this.onFinished);
    this.run = null;
    // A run that ended without a result (an internal error) still closes its spans.
    for (const f of this.faults.values()) f.end();
    this.faults.clear();
    if (this.runSpan?.isRecording()) {
      this.runSpan.setStatus({ code: SpanStatusCode.ERROR, message: 'the run ended without a result' });
      this.runSpan.end();
    }
  }

  /** Load clock (ms since t = 0) → epoch ms. */
  private wall(ms: number): number {
    return (this.loadStartMs ?? Date.now()) + ms;
  }

  private readonly onStarted = (s: StartedInfo): void => {
    this.loadStartMs = Date.parse(s.loadStartedAt);
    this.plan = s.plan;
    this.runSpan?.setAttributes({
      'chaoskit.seed': s.plan.seed,
      'chaoskit.time_scale': s.plan.timeScale,
      'chaoskit.planned_duration_s': s.plan.durationMs / 1000,
    });
    this.runSpan?.addEvent('load started', {}, this.loadStartMs);
  };

  /** Pattern phases become spans as they end (at their planned times: the load follows the plan). */
  private closePhases(upToMs: number, final: boolean): void {
    const phases = this.plan?.phases ?? [];
    while (this.phasesDone < phases.length) {
      const p = phases[this.phasesDone]!;
      if (!final && p.endMs > upToMs) return;
      if (p.startMs < upToMs) {
        const span = this.tracer.startSpan(
          `phase ${p.index} ${p.name}`,
          {
            startTime: this.wall(p.startMs),
            attributes: {
              'chaoskit.phase.index': p.index,
              'chaoskit.phase.kind': p.kind,
              'chaoskit.phase.peak_rate': p.peakRate,
              'chaoskit.phase.expected_requests': p.expectedRequests,
            },
          },
          this.runCtx,
        );
        span.end(this.wall(Math.min(p.endMs, upToMs)));
      }
      this.phasesDone++;
    }
  }

  private readonly onSecond = (p: { elapsedMs: number }): void => this.closePhases(p.elapsedMs, false);

  private readonly onApplied = (f: FaultRecord): void => {
    const span = this.tracer.startSpan(
      `fault ${f.id} ${f.type}`,
      {
        startTime: this.wall(f.applyStartedAtMs ?? f.appliedAtMs ?? 0),
        attributes: {
          'chaoskit.fault.id': f.id,
          'chaoskit.fault.type': f.type,
          'chaoskit.fault.target': f.target,
          'chaoskit.fault.description': f.description,
          'chaoskit.fault.params': JSON.stringify(f.params),
          'chaoskit.fault.planned_start_ms': f.plannedStartMs,
          'chaoskit.fault.planned_end_ms': f.plannedEndMs,
        },
      },
      this.runCtx,
    );
    if (f.appliedAtMs !== null) span.addEvent('applied', {}, this.wall(f.appliedAtMs));
    this.faults.set(f.id, span);
    this.activeFaults = [...this.activeFaults, f.id];
  };

  private readonly onReverted = (f: FaultRecord): void => {
    this.activeFaults = this.activeFaults.filter((id) => id !== f.id);
    const span = this.faults.get(f.id);
    if (!span) return;
    this.faults.delete(f.id);
    endFault(span, f, f.revertedAtMs === null ? undefined : this.wall(f.revertedAtMs));
  };

  private readonly onStopping = (s: { reason: string }): void => {
    this.runSpan?.addEvent('stopping', { 'chaoskit.reason': s.reason });
  };

  private readonly onWarning = (w: string): void => {
    if (this.warnings++ < MAX_WARNING_EVENTS) this.runSpan?.addEvent('warning', { 'chaoskit.warning': w });
  };

  private readonly onFinished = (r: RunResult): void => {
    this.closePhases(r.ranMs, true);
    for (const f of r.faults) {
      const span = this.faults.get(f.id);
      if (!span) continue;
      this.faults.delete(f.id);
      endFault(span, f, f.revertedAtMs === null ? undefined : this.wall(f.revertedAtMs));
    }
    const span = this.runSpan;
    if (!span) return;
    const v = r.verdict;
    const attrs: Attributes = {
      'chaoskit.status': r.status,
      'chaoskit.requests.requested': r.totals.requested,
      'chaoskit.requests.ok': r.totals.ok,
      'chaoskit.requests.failed': r.totals.failed,
      'chaoskit.requests.sampled': this.sampled,
    };
    if (v) {
      attrs['chaoskit.verdict'] = v.status;
      attrs['chaoskit.score'] = v.score;
    }
    span.setAttributes(attrs);
    if (r.status === 'aborted')
      span.setStatus({ code: SpanStatusCode.ERROR, message: r.abort?.reason ?? 'aborted' });
    span.end();
  };
}

function endFault(span: Span, f: FaultRecord, at: number | undefined): void {
  if (f.revertedBy) span.setAttribute('chaoskit.fault.reverted_by', f.revertedBy);
  span.setAttribute('chaoskit.fault.status', f.status);
  if (f.status === 'revert-failed' || f.status === 'apply-failed' || f.revertedAtMs === null)
    span.setStatus({ code: SpanStatusCode.ERROR, message: f.error ?? `fault ${f.status}` });
  span.end(at);
}
