/**
 * A small OTLP/HTTP receiver for the tests, standing in for the OpenTelemetry Collector (which
 * cannot be installed here): it decodes the real protobuf payloads with the official proto
 * definitions (test/fixtures/otlp-proto, Apache 2.0) through protobufjs, and answers as the
 * Collector does. `mode: 'blackhole'` accepts connections and never answers.
 */
import http from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { PACKAGE_ROOT } from '../../src/core/paths.ts';

const PROTO_ROOT = join(PACKAGE_ROOT, 'test', 'fixtures', 'otlp-proto');

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(PROTO_ROOT, target);
  root.loadSync([
    'opentelemetry/proto/collector/trace/v1/trace_service.proto',
    'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
  ]);
  return root;
}

const root = loadRoot();
const TraceRequest = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
const TraceResponse = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
const MetricsRequest = root.lookupType(
  'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest',
);
const MetricsResponse = root.lookupType(
  'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse',
);

const toObject = (t: protobuf.Type, m: protobuf.Message) =>
  t.toObject(m, { longs: String, enums: String, bytes: String, defaults: true, arrays: true });

export interface KeyValue {
  key: string;
  value: {
    stringValue?: string;
    intValue?: string;
    doubleValue?: number;
    boolValue?: boolean;
    arrayValue?: { values: KeyValue['value'][] };
  };
}

export interface DecodedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: KeyValue[];
  events: { name: string; timeUnixNano: string; attributes: KeyValue[] }[];
  links: { traceId: string; spanId: string; attributes: KeyValue[] }[];
  status: { code: string; message: string };
}

export interface DecodedMetric {
  name: string;
  description: string;
  unit: string;
  sum?: {
    dataPoints: { attributes: KeyValue[]; asInt?: string; asDouble?: number }[];
    isMonotonic: boolean;
    aggregationTemporality: string;
  };
  gauge?: { dataPoints: { attributes: KeyValue[]; asInt?: string; asDouble?: number }[] };
  histogram?: {
    dataPoints: {
      attributes: KeyValue[];
      count: string;
      sum: number;
      bucketCounts: string[];
      explicitBounds: number[];
    }[];
    aggregationTemporality: string;
  };
}

export interface OtlpReceiver {
  url: string;
  /** Every span received, in order (ids as lowercase hex). */
  spans: DecodedSpan[];
  /** Every metrics export received: its resource attributes and metrics. */
  metricExports: { resource: KeyValue[]; metrics: DecodedMetric[] }[];
  traceResources: KeyValue[][];
  requests: number;
  close(): Promise<void>;
}

const hex = (b64: string) => Buffer.from(b64, 'base64').toString('hex');

export async function startOtlpReceiver(mode: 'ok' | 'blackhole' = 'ok'): Promise<OtlpReceiver> {
  const r: Omit<OtlpReceiver, 'url' | 'close'> = {
    spans: [],
    metricExports: [],
    traceResources: [],
    requests: 0,
  };
  const server = http.createServer((req, res) => {
    r.requests++;
    if (mode === 'blackhole') return; // hold the request open, answer nothing
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      if (req.headers['content-type'] !== 'application/x-protobuf') {
        res.statusCode = 415;
        res.end();
        return;
      }
      if (req.url === '/v1/traces') {
        const o = toObject(TraceRequest, TraceRequest.decode(body)) as {
          resourceSpans: { resource: { attributes: KeyValue[] }; scopeSpans: { spans: DecodedSpan[] }[] }[];
        };
        for (const rs of o.resourceSpans) {
          r.traceResources.push(rs.resource.attributes);
          for (const ss of rs.scopeSpans)
            for (const s of ss.spans)
              r.spans.push({
                ...s,
                traceId: hex(s.traceId),
                spanId: hex(s.spanId),
                parentSpanId: hex(s.parentSpanId),
                links: s.links.map((l) => ({ ...l, traceId: hex(l.traceId), spanId: hex(l.spanId) })),
              });
        }
        res.setHeader('content-type', 'application/x-protobuf');
        res.end(Buffer.from(TraceResponse.encode(TraceResponse.create({})).finish()));
        return;
      }
      if (req.url === '/v1/metrics') {
        const o = toObject(MetricsRequest, MetricsRequest.decode(body)) as {
          resourceMetrics: {
            resource: { attributes: KeyValue[] };
            scopeMetrics: { metrics: DecodedMetric[] }[];
          }[];
        };
        for (const rm of o.resourceMetrics)
          r.metricExports.push({
            resource: rm.resource.attributes,
            metrics: rm.scopeMetrics.flatMap((s) => s.metrics),
          });
        res.setHeader('content-type', 'application/x-protobuf');
        res.end(Buffer.from(MetricsResponse.encode(MetricsResponse.create({})).finish()));
        return;
      }
      res.statusCode = 404;
      res.end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  return {
    ...r,
    get spans() {
      return r.spans;
    },
    get metricExports() {
      return r.metricExports;
    },
    get traceResources() {
      return r.traceResources;
    },
    get requests() {
      return r.requests;
    },
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** An attribute's value as a plain JS value. */
export function attr(list: KeyValue[], key: string): unknown {
  const v = list.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  if (v.arrayValue)
    return v.arrayValue.values.map((x) => x.stringValue ?? x.intValue ?? x.doubleValue ?? x.boolValue);
  if (v.stringValue !== undefined && v.stringValue !== '') return v.stringValue;
  if (v.intValue !== undefined && v.intValue !== '0') return Number(v.intValue);
  if (v.doubleValue !== undefined && v.doubleValue !== 0) return v.doubleValue;
  if (v.boolValue) return true;
  return v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : v.doubleValue);
}

/** The last export's value of a counter or gauge series (labels must all match). */
export function lastValue(
  r: Pick<OtlpReceiver, 'metricExports'>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (let i = r.metricExports.length - 1; i >= 0; i--) {
    const m = r.metricExports[i]!.metrics.find((x) => x.name === name);
    const points = m?.sum?.dataPoints ?? m?.gauge?.dataPoints;
    const p = points?.find((d) => Object.entries(labels).every(([k, v]) => attr(d.attributes, k) === v));
    if (p) return p.asDouble !== undefined && p.asDouble !== 0 ? p.asDouble : Number(p.asInt ?? 0);
  }
  return undefined;
}
