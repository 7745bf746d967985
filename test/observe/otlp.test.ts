/**
 * `--otlp` against a real OTLP/HTTP receiver that decodes the protobuf payloads with the official
 * proto definitions (test/observe/otlp-receiver.ts; the OpenTelemetry Collector cannot be
 * installed here). Metrics and the run/phase/fault spans from a simulated run; traceparent on
 * real HTTP and gRPC requests against loopback servers; an endpoint that is down or silent.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { INFERENCE_PROTO, INFERENCE_SERVICE } from '../../src/demo/inference.ts';
import { realClock } from '../../src/core/clock.ts';
import { GrpcLoad } from '../../src/load/grpc-engine.ts';
import { grpcServiceDefinition, loadProto } from '../../src/load/grpc-proto.ts';
import { segmentOf } from '../../src/scenario/patterns.ts';
import { createPrng } from '../../src/load/prng.ts';
import { MetricsStore } from '../../src/metrics/store.ts';
import { RunMetrics } from '../../src/metrics/run-metrics.ts';
import { otlpConfig, parseTraceSample, startOtel, type OtlpConfig } from '../../src/otel/index.ts';
import { RunTracer } from '../../src/otel/traces.ts';
import { emptyResource } from '@opentelemetry/resources';
import { runScenario } from '../../src/run.ts';
import { loadScenario } from '../../src/input/load.ts';
import { expectAccounting } from '../helpers/accounting.ts';
import { tempDir } from '../helpers/files.ts';
import { closedPort, httpServer, type TestServer } from '../helpers/servers.ts';
import { call } from '../load/grpc-helpers.ts';
import { attr, lastValue, startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.ts';
import { simRun } from './sim-run.ts';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function receiver(mode: 'ok' | 'blackhole' = 'ok'): Promise<OtlpReceiver> {
  const r = await startOtlpReceiver(mode);
  cleanup.push(() => r.close());
  return r;
}

const conf = (base: string, sampleRatio = 0, metricsIntervalMs = 200): OtlpConfig => ({
  tracesUrl: `${base}/v1/traces`,
  metricsUrl: `${base}/v1/metrics`,
  metricsIntervalMs,
  spansIntervalMs: 1000,
  sampleRatio,
});

describe('otlp flags', () => {
  it('reads --otlp, the standard variables and --trace-sample, and refuses what it cannot do', () => {
    expect(otlpConfig(undefined, undefined, {})).toBeNull();
    expect(otlpConfig('http://127.0.0.1:4318', '1%', {})).toEqual({
      tracesUrl: 'http://127.0.0.1:4318/v1/traces',
      metricsUrl: 'http://127.0.0.1:4318/v1/metrics',
      metricsIntervalMs: 5000,
      spansIntervalMs: 5000,
      sampleRatio: 0.01,
    });
    expect(
      otlpConfig('', undefined, {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9/t',
        OTEL_METRIC_EXPORT_INTERVAL: '1000',
        OTEL_BSP_SCHEDULE_DELAY: '250',
      }),
    ).toEqual({
      tracesUrl: 'http://127.0.0.1:9/t',
      metricsUrl: 'http://127.0.0.1:4318/v1/metrics',
      metricsIntervalMs: 1000,
      spansIntervalMs: 250,
      sampleRatio: 0,
    });
    expect(() => otlpConfig('http://x', undefined, { OTEL_BSP_SCHEDULE_DELAY: '5s' })).toThrow(
      'OTEL_BSP_SCHEDULE_DELAY must be whole milliseconds of at least 100, got "5s"',
    );
    expect(() => otlpConfig('', undefined, {})).toThrow(
      /--otlp without a URL needs OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
    expect(() => otlpConfig(undefined, '1%', {})).toThrow('--trace-sample needs --otlp');
    expect(() => otlpConfig('grpc://x', undefined, {})).toThrow('--otlp must be an http:// or https:// URL');
    expect(() => otlpConfig('http://x', undefined, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(
      'OTEL_EXPORTER_OTLP_PROTOCOL=grpc: chaoskit exports OTLP over http/protobuf only',
    );
    expect(parseTraceSample('100%')).toBe(1);
    expect(parseTraceSample('0.5')).toBe(0.5);
    expect(() => parseTraceSample('150%')).toThrow('--trace-sample must be a share from 0% to 100%');
    expect(() => parseTraceSample('lots')).toThrow('got "lots"');
  });
});

describe('otlp export', () => {
  it('exports the run as metrics (ending at the results.json totals) and as run, phase and fault spans', async () => {
    const rec = await receiver();
    const metrics = new RunMetrics();
    const lines: string[] = [];
    const otel = startOtel(conf(rec.url), { metrics, report: (l) => lines.push(l) });
    const { result } = await simRun((run) => {
      metrics.attach(run);
      otel.attach(run);
    });
    await otel.stop();
    expectAccounting(result);
    expect(lines).toEqual([]);

    // Metrics: the last export (made at stop) holds the final totals; the histogram is real.
    expect(rec.metricExports.length).toBeGreaterThan(0);
    const resource = rec.metricExports.at(-1)!.resource;
    expect(attr(resource, 'service.name')).toBe('chaoskit');
    expect(lastValue(rec, 'chaoskit.arrivals.finished', { outcome: 'ok' })).toBe(result.totals.ok);
    expect(lastValue(rec, 'chaoskit.arrivals.finished', { outcome: 'failed' })).toBe(result.totals.failed);
    expect(lastValue(rec, 'chaoskit.arrivals')).toBe(result.totals.requested);
    expect(lastValue(rec, 'chaoskit.requests.errors', { kind: 'timeout' })).toBe(
      result.totals.errors.timeout,
    );
    const duration = rec.metricExports.at(-1)!.metrics.find((m) => m.name === 'chaoskit.request.duration')!;
    expect(duration.unit).toBe('s');
    expect(duration.histogram!.aggregationTemporality).toBe('AGGREGATION_TEMPORALITY_CUMULATIVE');
    const points = duration.histogram!.dataPoints;
    expect(points.map((p) => attr(p.attributes, 'phase')).sort()).toEqual(['baseline', 'fault', 'recovery']);
    const count = points.reduce((n, p) => n + Number(p.count), 0);
    expect(count).toBe(result.totals.ok + result.totals.failed);
    for (const p of points) {
      expect(p.explicitBounds.length + 1).toBe(p.bucketCounts.length);
      expect(p.bucketCounts.reduce((n, c) => n + Number(c), 0)).toBe(Number(p.count));
    }
    const arrivals = rec.metricExports.at(-1)!.metrics.find((m) => m.name === 'chaoskit.arrivals')!;
    expect(arrivals.sum!.isMonotonic).toBe(true);

    // Spans: the run, its three pattern phases and the fault, all in the run's trace.
    const run = rec.spans.find((s) => s.name === 'chaoskit run sim-observe')!;
    expect(run).toBeDefined();
    expect(run.traceId).toBe(otel.traceId);
    expect(attr(run.attributes, 'chaoskit.run.id')).toBe(result.runId);
    expect(attr(run.attributes, 'chaoskit.verdict')).toBe(result.verdict!.status);
    expect(run.events.map((e) => e.name)).toContain('load started');
    const phases = rec.spans.filter((s) => s.name.startsWith('phase '));
    expect(phases.map((s) => s.name)).toEqual(['phase 1 constant', 'phase 2 surge', 'phase 3 constant']);
    const fault = rec.spans.find((s) => s.name === 'fault f1 partition')!;
    for (const s of [...phases, fault]) {
      expect(s.traceId).toBe(run.traceId);
      expect(s.parentSpanId).toBe(run.spanId);
    }
    expect(attr(fault.attributes, 'chaoskit.fault.target')).toBe('api->dependency');
    expect(attr(fault.attributes, 'chaoskit.fault.reverted_by')).toBe('schedule');
    // The fault span covers the fault's window (applied at 4 s, for 3 s) on the load's clock.
    const loadStart = BigInt(run.events.find((e) => e.name === 'load started')!.timeUnixNano);
    const at = (ns: string) => Number(BigInt(ns) - loadStart) / 1e6;
    expect(at(fault.startTimeUnixNano)).toBeGreaterThanOrEqual(4000);
    expect(at(fault.endTimeUnixNano)).toBeGreaterThanOrEqual(7000);
    expect(at(fault.endTimeUnixNano)).toBeLessThan(7500);
    expect(at(phases[1]!.startTimeUnixNano)).toBe(4000);
    expect(at(phases[1]!.endTimeUnixNano)).toBe(8000);
  });

  it('sampled HTTP requests carry a traceparent naming the client span the receiver gets', async () => {
    const rec = await receiver();
    const seen: string[] = [];
    const target = await httpServer((req, res) => {
      if (req.url === '/health') return res.end('ok');
      if (req.headers.traceparent) seen.push(String(req.headers.traceparent));
      res.statusCode = req.url === '/fail' ? 503 : 200;
      res.end('x');
    });
    cleanup.push(() => target.close());
    const metrics = new RunMetrics();
    const otel = startOtel(conf(rec.url, 0.1), { metrics });
    const run = runScenario(loadScenario(realScenario(target, 100, '2s', true)), {
      tracer: otel.requestTracer!,
      guard: false,
      hostSamples: false,
      warmUp: false,
      stateDir: tempDir('chaoskit-state-'),
    });
    metrics.attach(run);
    otel.attach(run);
    const result = await run.result;
    await run.closed;
    await otel.stop();
    expectAccounting(result);
    // Exactly every tenth request, deterministically.
    expect(result.totals.sent).toBe(200);
    expect(seen).toHaveLength(20);
    const clients = rec.spans.filter((s) => s.kind === 'SPAN_KIND_CLIENT');
    expect(clients).toHaveLength(20);
    const runSpan = rec.spans.find((s) => s.name.startsWith('chaoskit run'))!;
    for (const header of seen) {
      const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(header);
      expect(m, header).not.toBeNull();
      const span = clients.find((s) => s.traceId === m![1] && s.spanId === m![2]);
      expect(span, `the span of ${header}`).toBeDefined();
      expect(span!.parentSpanId).toBe(''); // a trace of its own, linked to the run
      expect(span!.links[0]).toMatchObject({ traceId: runSpan.traceId, spanId: runSpan.spanId });
      expect(attr(span!.attributes, 'chaoskit.run.id')).toBe(result.runId);
      // Sent within the run, ended after it was sent, and its duration is its latency (from the
      // intended send) less its send lag.
      const startMs = Number(BigInt(span!.startTimeUnixNano) / 1_000_000n);
      const tookMs = Number(BigInt(span!.endTimeUnixNano) - BigInt(span!.startTimeUnixNano)) / 1e6;
      expect(startMs).toBeGreaterThanOrEqual(Date.parse(result.startedAt) - 1);
      expect(startMs).toBeLessThanOrEqual(Date.parse(result.endedAt));
      expect(tookMs).toBeGreaterThanOrEqual(0);
      const latency = attr(span!.attributes, 'chaoskit.latency_ms') as number;
      const lag = attr(span!.attributes, 'chaoskit.send_lag_ms') as number;
      expect(Math.abs(latency - lag - tookMs)).toBeLessThan(0.01);
      expect(attr(span!.attributes, 'server.address')).toBe('127.0.0.1');
    }
    // Request spans and the run's spans are exported under the one resource.
    expect(new Set(rec.traceResources.map((r) => attr(r, 'service.name')))).toEqual(new Set(['chaoskit']));
    const ok = clients.filter((s) => s.name === 'GET /ok');
    const failed = clients.filter((s) => s.name === 'GET /fail');
    expect(ok.length + failed.length).toBe(20);
    expect(failed.length).toBeGreaterThan(0);
    for (const s of ok) {
      expect(attr(s.attributes, 'http.response.status_code')).toBe(200);
      expect(s.status.code).toBe('STATUS_CODE_UNSET');
    }
    for (const s of failed) {
      expect(attr(s.attributes, 'http.response.status_code')).toBe(503);
      expect(attr(s.attributes, 'error.type')).toBe('http_5xx');
      expect(s.status.code).toBe('STATUS_CODE_ERROR');
    }
    expect(attr(runSpan.attributes, 'chaoskit.requests.sampled')).toBe(20);
  }, 30_000);

  it('sampled gRPC calls carry traceparent metadata', async () => {
    const metadata: string[] = [];
    const svc = loadProto(INFERENCE_PROTO).lookupService(INFERENCE_SERVICE);
    const server = new grpc.Server();
    server.addService(grpcServiceDefinition(svc) as unknown as grpc.ServiceDefinition, {
      Complete: (c: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const tp = c.metadata.get('traceparent')[0];
        if (tp) metadata.push(String(tp));
        cb(null, { text: 'ok', tokens: 1 });
      },
      Generate: (c: grpc.ServerWritableStream<unknown, unknown>) => c.end(),
    });
    const port = await new Promise<number>((ok, ko) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? ko(e) : ok(p))),
    );
    cleanup.push(() => new Promise<void>((r) => server.tryShutdown(() => r())));
    const provider = (await import('@opentelemetry/sdk-trace')).TracerProvider;
    const { InMemorySpanExporter, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace');
    const mem = new InMemorySpanExporter();
    const processor = new SimpleSpanProcessor({ exporter: mem });
    const tracer = new RunTracer(new provider({ spanProcessors: [processor] }), 0.25, 'test', {
      onEnd: (span) => processor.onEnd(span),
      resource: emptyResource(),
    });
    const store = new MetricsStore();
    const load = new GrpcLoad({
      segment: segmentOf({ kind: 'constant', rate: 40, duration: 1000 }),
      arrivals: 'even',
      concurrency: 8,
      channels: 1,
      maxBacklog: 100,
      deadlineMs: 2000,
      streamDeadlineMs: 2000,
      prng: createPrng(1),
      store,
      clock: realClock,
      address: `127.0.0.1:${port}`,
      calls: [call('Complete', { prompt: 'hi' })],
      tracer,
    });
    await load.start();
    expect(metadata).toHaveLength(10);
    const spans = mem.getFinishedSpans();
    expect(spans).toHaveLength(10);
    for (const tp of metadata) {
      const [, traceId, spanId] = tp.split('-');
      const s = spans.find((x) => x.spanContext().traceId === traceId && x.spanContext().spanId === spanId)!;
      expect(s.name).toBe(call('Complete', { prompt: 'hi' }).path.slice(1));
      expect(s.attributes['rpc.system']).toBe('grpc');
      expect(s.attributes['rpc.grpc.status_code']).toBe(0);
    }
  }, 30_000);

  it('a receiver that never answers, or none at all, does not slow or fail the load; losses are reported once', async () => {
    const hole = await receiver('blackhole');
    const none = `http://127.0.0.1:${await closedPort()}`;
    const target = await httpServer((req, res) => res.end('ok'));
    cleanup.push(() => target.close());
    for (const base of [hole.url, none]) {
      const metrics = new RunMetrics();
      const lines: string[] = [];
      // Small queue and deadline so the test sees drops quickly; 100% sampling: every request a span.
      const otel = startOtel(conf(base, 1, 200), {
        metrics,
        report: (l) => lines.push(l),
        exportTimeoutMs: 1000,
        maxQueuedSpans: 50,
      });
      const run = runScenario(loadScenario(realScenario(target, 200, '3s')), {
        tracer: otel.requestTracer!,
        guard: false,
        hostSamples: false,
        warmUp: false,
        stateDir: tempDir('chaoskit-state-'),
      });
      metrics.attach(run);
      otel.attach(run);
      const result = await run.result;
      await run.closed;
      const t0 = performance.now();
      await otel.stop();
      const stopMs = performance.now() - t0;
      expectAccounting(result);
      // The load went as planned: every arrival sent on time, all ok, the run not stretched.
      expect(result.totals.requested).toBe(600);
      expect(result.totals.sent).toBe(600);
      expect(result.totals.ok).toBe(600);
      expect(result.totals.dropped).toBe(0);
      expect(result.ranMs).toBeLessThan(3600);
      for (const s of result.timeline.slice(0, 3)) expect(s.sent).toBe(200);
      expect(stopMs).toBeLessThan(3000);
      // One line, with the counts.
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^otlp: \d+ span\(s\) not delivered to .*\/v1\/traces \(\d+ of \d+ batches failed/,
      );
      expect(lines[0]).toMatch(/metric exports failed to .*\/v1\/metrics/);
      expect(lines[0]).toMatch(/the load was not affected$/);
      const dropped = Number(/^otlp: (\d+) span/.exec(lines[0]!)![1]);
      expect(dropped).toBeGreaterThanOrEqual(600 - 50);
    }
    expect(hole.requests).toBeGreaterThan(0);
  }, 60_000);
});

/** A scenario against a real loopback server; `mix` adds a request that gets 503s. */
function realScenario(target: TestServer, rate: number, duration: string, mix = false): string {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'env.yaml'),
    `targets:\n  api: { kind: http, url: "${target.url}", health: /health }\n`,
  );
  writeFileSync(join(dir, 'slo.yaml'), 'services:\n  api:\n    availability: 50%\n');
  const requests = mix
    ? `  requests:\n    - { name: ok, weight: 3, method: GET, path: /ok }\n    - { name: fail, weight: 1, method: GET, path: /fail }\n`
    : '';
  writeFileSync(
    join(dir, 'scenario.yaml'),
    `name: otlp-real\nenvironment: ./env.yaml\nslo: slo.yaml\nseed: 3\nload:\n  target: api\n${requests}  pattern: [{ kind: constant, rate: ${rate}, duration: ${duration} }]\n`,
  );
  return join(dir, 'scenario.yaml');
}
