/**
 * `--otlp`: the run's metrics and traces over OTLP/HTTP (protobuf) with the official OpenTelemetry
 * JS SDK. Metrics: src/otel/metrics.ts (the same RunMetrics Prometheus serves); traces:
 * src/otel/traces.ts (the run, its pattern phases and fault windows; sampled requests with
 * `--trace-sample`). An endpoint that is down or silent never slows or fails the load: exports
 * have a deadline, one is in flight at a time per signal, spans wait in a bounded queue, and what
 * could not be delivered is counted and reported once, when the run ends.
 */
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { AlwaysOnSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { RunMetrics } from '../metrics/run-metrics.ts';
import type { RunHandle } from '../run.ts';
import { VERSION } from '../version.ts';
import type { OtlpConfig } from './config.ts';
import { CountingMetricExporter, runMetricsProducer } from './metrics.ts';
import type { RequestTracer } from './request-tracer.ts';
import { BoundedSpanProcessor, type ExportStats } from './span-queue.ts';
import { RunTracer } from './traces.ts';

export { otlpConfig, parseTraceSample, type OtlpConfig } from './config.ts';

export interface OtelExport {
  /** For RunOptions.tracer; undefined when no request is sampled (the engines then hold no tracer). */
  readonly requestTracer: RequestTracer | undefined;
  /** The run's trace id, once attached. */
  readonly traceId: string | null;
  attach(run: RunHandle): void;
  /** Last metrics export and span flush, bounded; then the one line about losses, if any. */
  stop(): Promise<void>;
}

export interface OtelOptions {
  /** The run's metrics (shared with Prometheus); attached by the caller. */
  metrics: RunMetrics;
  /** Where the one line about undelivered data goes (default stderr). */
  report?: (line: string) => void;
  /** One export's deadline (default 3 s). */
  exportTimeoutMs?: number;
  /** How long stop() may take at most (default 2.5 s: the CLI waits 3 s for everything to close). */
  stopTimeoutMs?: number;
  /** Spans waiting for export at most (default 2048). */
  maxQueuedSpans?: number;
}

export function startOtel(c: OtlpConfig, o: OtelOptions): OtelExport {
  const report = o.report ?? ((line: string) => process.stderr.write(`${line}\n`));
  const timeoutMillis = o.exportTimeoutMs ?? 3000;
  // Precedence, lowest first: SDK defaults, chaoskit's name, OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES.
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': 'chaoskit', 'service.version': VERSION }))
    .merge(detectResources({ detectors: [envDetector] }));

  const spans = new BoundedSpanProcessor(new OTLPTraceExporter({ url: c.tracesUrl, timeoutMillis }), {
    maxQueue: o.maxQueuedSpans ?? 2048,
    everyMs: c.spansIntervalMs,
  });
  const tracerProvider = new TracerProvider({
    resource,
    sampler: new AlwaysOnSampler(),
    spanProcessors: [spans],
  });
  const tracer = new RunTracer(tracerProvider, c.sampleRatio, VERSION, {
    onEnd: (span) => spans.onEnd(span),
    resource,
  });

  const metricExporter = new CountingMetricExporter({ url: c.metricsUrl, timeoutMillis });
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: c.metricsIntervalMs,
    exportTimeoutMillis: Math.min(c.metricsIntervalMs, timeoutMillis),
    metricProducers: [runMetricsProducer(o.metrics, resource, VERSION)],
  });
  const meterProvider = new MeterProvider({ resource, readers: [reader] });

  return {
    requestTracer: c.sampleRatio > 0 ? tracer : undefined,
    get traceId() {
      return tracer.traceId;
    },
    attach: (run) => tracer.attach(run),
    stop: async () => {
      const budget = o.stopTimeoutMs ?? 2500;
      tracer.detach();
      await Promise.race([
        Promise.all([
          spans.shutdown(budget - 300),
          // shutdown() exports once more (the final totals), then closes the exporter.
          meterProvider.shutdown({ timeoutMillis: budget - 300 }).catch(() => {}),
        ]),
        new Promise((r) => setTimeout(r, budget).unref()),
      ]);
      const line = lossLine(c, spans.stats, metricExporter.stats);
      if (line) report(line);
    },
  };
}

function lossLine(c: OtlpConfig, s: ExportStats, m: ExportStats): string | null {
  const parts: string[] = [];
  if (s.dropped > 0)
    parts.push(
      `${s.dropped} span(s) not delivered to ${c.tracesUrl} (${s.failedBatches} of ${s.batches} batches failed${s.lastError ? `, last: ${s.lastError}` : ''})`,
    );
  if (m.failedBatches > 0)
    parts.push(
      `${m.failedBatches} of ${m.batches} metric exports failed to ${c.metricsUrl}${m.lastError ? ` (last: ${m.lastError})` : ''}`,
    );
  return parts.length ? `otlp: ${parts.join('; ')}; the load was not affected` : null;
}
