/**
 * `--otlp [URL]` and `--trace-sample RATIO` resolved against the standard OpenTelemetry
 * environment variables, before anything starts: a bad value is exit 2.
 *
 *   --otlp URL            base endpoint: URL/v1/traces and URL/v1/metrics
 *   --otlp (no value)     OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT (used as they are), else
 *                         OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces, /v1/metrics
 *   OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES: read by the SDK
 *   OTEL_EXPORTER_OTLP_PROTOCOL: only http/protobuf is spoken (anything else is refused)
 *   OTEL_METRIC_EXPORT_INTERVAL (ms): how often metrics go out (default 5000 here)
 *   OTEL_BSP_SCHEDULE_DELAY (ms): how often queued spans go out (default 5000, the spec's)
 */
import { InputError } from '../core/errors.ts';

export interface OtlpConfig {
  tracesUrl: string;
  metricsUrl: string;
  metricsIntervalMs: number;
  /** How often queued spans are exported (a full batch of 512 goes at once). */
  spansIntervalMs: number;
  /** Share of requests that carry a traceparent and become spans (0: none; runs, faults and phases always). */
  sampleRatio: number;
}

export const DEFAULT_METRICS_INTERVAL_MS = 5000;
/** The OpenTelemetry specification's default for OTEL_BSP_SCHEDULE_DELAY. */
export const DEFAULT_SPANS_INTERVAL_MS = 5000;

/** A whole number of milliseconds, at least 100, from an environment variable (its default when unset). */
function intervalMs(env: NodeJS.ProcessEnv, name: string, dflt: number): number {
  const v = env[name];
  const ms = v === undefined || v === '' ? dflt : Number(v);
  if (!(Number.isInteger(ms) && ms >= 100))
    throw new InputError(`${name} must be whole milliseconds of at least 100, got ${JSON.stringify(v)}`);
  return ms;
}

/** `1%`, `0.5%`, `0.01`, `1`: a share from 0 to 1. */
export function parseTraceSample(v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(v);
  const n = m ? Number(m[1]) / (m[2] ? 100 : 1) : Number.NaN;
  if (!(n >= 0 && n <= 1))
    throw new InputError(
      `--trace-sample must be a share from 0% to 100% (like 1% or 0.01), got ${JSON.stringify(v)}`,
    );
  return n;
}

function checkUrl(what: string, v: string): string {
  try {
    const u = new URL(v);
    if (u.protocol === 'http:' || u.protocol === 'https:') return v;
  } catch {
    // fall through
  }
  throw new InputError(`${what} must be an http:// or https:// URL, got ${JSON.stringify(v)}`);
}

const join = (base: string, path: string) => `${base.replace(/\/+$/, '')}/${path}`;

/** Null when OTLP export was not asked for. */
export function otlpConfig(
  otlp: string | undefined,
  traceSample: string | undefined,
  env: NodeJS.ProcessEnv,
): OtlpConfig | null {
  if (otlp === undefined) {
    if (traceSample !== undefined)
      throw new InputError('--trace-sample needs --otlp: sampled requests are exported as spans over OTLP');
    return null;
  }
  for (const name of [
    'OTEL_EXPORTER_OTLP_PROTOCOL',
    'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
    'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL',
  ]) {
    const p = env[name];
    if (p && p !== 'http/protobuf')
      throw new InputError(
        `${name}=${p}: chaoskit exports OTLP over http/protobuf only; unset it or set http/protobuf`,
      );
  }
  let tracesUrl: string;
  let metricsUrl: string;
  if (otlp !== '') {
    const base = checkUrl('--otlp', otlp);
    tracesUrl = join(base, 'v1/traces');
    metricsUrl = join(base, 'v1/metrics');
  } else {
    const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
    const t = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? join(base, 'v1/traces') : undefined);
    const m = env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ?? (base ? join(base, 'v1/metrics') : undefined);
    if (!t || !m)
      throw new InputError(
        '--otlp without a URL needs OTEL_EXPORTER_OTLP_ENDPOINT (or both OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and OTEL_EXPORTER_OTLP_METRICS_ENDPOINT)',
      );
    tracesUrl = checkUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', t);
    metricsUrl = checkUrl('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', m);
  }
  return {
    tracesUrl,
    metricsUrl,
    metricsIntervalMs: intervalMs(env, 'OTEL_METRIC_EXPORT_INTERVAL', DEFAULT_METRICS_INTERVAL_MS),
    spansIntervalMs: intervalMs(env, 'OTEL_BSP_SCHEDULE_DELAY', DEFAULT_SPANS_INTERVAL_MS),
    sampleRatio: traceSample === undefined ? 0 : parseTraceSample(traceSample),
  };
}
