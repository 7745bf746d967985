/**
 * The run's metrics over OTLP with the official SDK: a PeriodicExportingMetricReader with the
 * OTLP/HTTP protobuf exporter, fed by a MetricProducer that reads the same RunMetrics as
 * Prometheus (src/metrics/run-metrics.ts), so both exporters always agree. Cumulative temporality;
 * the histogram keeps its explicit bounds. A failed export is counted (each export carries the
 * whole cumulative state, so a lost one loses no counts, only a point in time).
 */
import { ValueType } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type MetricData,
  type MetricProducer,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import type { MetricDef, MetricsSnapshot, RunMetrics } from '../metrics/run-metrics.ts';
import { describe, type ExportStats } from './span-queue.ts';

type HrTime = [number, number];
const hr = (ms: number): HrTime => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];

const descriptor = (d: MetricDef) => ({
  name: d.otel,
  description: d.help,
  unit: d.unit,
  valueType: d.unit === 's' ? ValueType.DOUBLE : ValueType.INT,
});

/** The snapshot as OTLP metric data (cumulative from `startMs`). */
export function toMetricData(s: MetricsSnapshot, startMs: number, nowMs: number): MetricData[] {
  const startTime = hr(startMs);
  const endTime = hr(nowMs);
  const out: MetricData[] = [];
  for (const f of s.scalars) {
    if (f.samples.length === 0) continue;
    const dataPoints = f.samples.map((x) => ({
      startTime,
      endTime,
      attributes: { ...x.labels },
      value: x.value,
    }));
    out.push(
      f.def.kind === 'counter'
        ? {
            descriptor: descriptor(f.def),
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.SUM,
            isMonotonic: true,
            dataPoints,
          }
        : {
            descriptor: descriptor(f.def),
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.GAUGE,
            dataPoints,
          },
    );
  }
  for (const h of s.histograms) {
    if (h.points.length === 0) continue;
    out.push({
      descriptor: descriptor(h.def),
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: h.points.map((p) => ({
        startTime,
        endTime,
        attributes: { ...p.labels },
        value: {
          buckets: { boundaries: [...h.bounds], counts: [...p.counts] },
          sum: p.sum,
          count: p.count,
          ...(p.count > 0 ? { min: p.min, max: p.max } : {}),
        },
      })),
    });
  }
  return out;
}

/** Hands the reader the run's metrics whenever it collects. */
export function runMetricsProducer(m: RunMetrics, resource: Resource, version: string): MetricProducer {
  return {
    collect: async (): Promise<CollectionResult> => ({
      resourceMetrics: {
        resource,
        scopeMetrics: [
          {
            scope: { name: 'chaoskit', version },
            metrics: toMetricData(m.snapshot(), m.startedAtMs, Date.now()),
          },
        ],
      },
      errors: [],
    }),
  };
}

/** The SDK's OTLP/HTTP protobuf exporter, counting what the endpoint did not take. */
export class CountingMetricExporter extends OTLPMetricExporter {
  readonly stats: ExportStats = { exported: 0, dropped: 0, failedBatches: 0, batches: 0, lastError: '' };

  override export(metrics: ResourceMetrics, done: (r: ExportResult) => void): void {
    this.stats.batches++;
    super.export(metrics, (r) => {
      if (r.code === ExportResultCode.SUCCESS) this.stats.exported++;
      else {
        this.stats.failedBatches++;
        this.stats.dropped++;
        this.stats.lastError = r.error ? describe(r.error) : 'export failed';
      }
      done(r);
    });
  }
}
