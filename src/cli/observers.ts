/**
 * What watches a run from outside, started by `chaos run` around it: Prometheus (`--prometheus`,
 * `--pushgateway`), OpenTelemetry (`--otlp`, `--trace-sample`) and the live dashboard
 * (`--dashboard`). Flags are checked before anything loads, ports are bound before the run starts
 * (a port in use is exit 2 with nothing started), and each observer only listens to run events.
 * The heavy modules (the OpenTelemetry SDK, the dashboard) load only when asked for.
 */
import { InputError } from '../core/errors.ts';
import type { Dashboard } from '../dashboard/server.ts';
import type { LiveMetrics } from '../metrics/prometheus.ts';
import type { OtelExport } from '../otel/index.ts';
import { otlpConfig, type OtlpConfig } from '../otel/config.ts';
import type { RunHandle, RunOptions } from '../run.ts';
import { checkPort } from './options.ts';

export interface ObserveFlags {
  prometheus?: number | undefined;
  pushgateway?: string | undefined;
  otlp?: string | undefined;
  traceSample?: string | undefined;
  dashboard?: string | undefined;
}

export interface CheckedObserve {
  promPort: number | undefined;
  pushgateway: string | undefined;
  otlp: OtlpConfig | null;
  dashboardPort: number | undefined;
}

/** Every observer flag, checked (exit 2) before anything is loaded or started. */
export function checkObserveFlags(f: ObserveFlags, env: NodeJS.ProcessEnv): CheckedObserve {
  const promPort = checkPort('--prometheus', f.prometheus);
  if (f.pushgateway !== undefined) checkHttpUrl('--pushgateway', f.pushgateway);
  let dashboardPort: number | undefined;
  if (f.dashboard !== undefined) {
    const v = f.dashboard.trim();
    dashboardPort = checkPort('--dashboard', v === '' ? 0 : /^\d+$/.test(v) ? Number(v) : Number.NaN);
  }
  return {
    promPort,
    pushgateway: f.pushgateway,
    otlp: otlpConfig(f.otlp, f.traceSample, env),
    dashboardPort,
  };
}

function checkHttpUrl(flag: string, v: string): void {
  try {
    const u = new URL(v);
    if (u.protocol === 'http:' || u.protocol === 'https:') return;
  } catch {
    // fall through
  }
  throw new InputError(`${flag} must be an http:// or https:// URL, got ${JSON.stringify(v)}`);
}

export interface Observers {
  /** What the run needs from them (a request tracer when requests are sampled). */
  runOptions: Pick<RunOptions, 'tracer'>;
  attach(run: RunHandle): void;
  /** Lines that say where to look (URLs, the run's trace id), once the run has an id. */
  describe(): string[];
  reportsWritten(files: readonly string[]): void;
  /** Bounded: each observer gets its last word out (final push, final export, reports to pages). */
  stop(): Promise<void>;
}

/** Binds ports and starts exporters; a port that cannot be bound is exit 2 before the run. */
export async function startObservers(c: CheckedObserve, report: (line: string) => void): Promise<Observers> {
  const wantsMetrics = c.promPort !== undefined || c.pushgateway !== undefined || c.otlp !== null;
  const metrics = wantsMetrics ? new (await import('../metrics/run-metrics.ts')).RunMetrics() : null;
  let prom: LiveMetrics | null = null;
  let dash: Dashboard | null = null;
  let otel: OtelExport | null = null;
  try {
    if (c.promPort !== undefined || c.pushgateway !== undefined) {
      const { startLiveMetricsServer } = await import('../metrics/prometheus.ts');
      prom = await startLiveMetricsServer({
        metrics: metrics!,
        report,
        ...(c.promPort !== undefined ? { port: c.promPort } : {}),
        ...(c.pushgateway !== undefined ? { pushgateway: c.pushgateway } : {}),
      }).catch((err: Error) => {
        throw new InputError(`--prometheus ${c.promPort}: ${err.message}`);
      });
    }
    if (c.dashboardPort !== undefined) {
      const { startDashboard } = await import('../dashboard/server.ts');
      dash = await startDashboard({ port: c.dashboardPort }).catch((err: Error) => {
        throw new InputError(`--dashboard ${c.dashboardPort}: ${err.message}`);
      });
    }
  } catch (err) {
    await prom?.stop();
    await dash?.stop();
    throw err;
  }
  if (c.otlp) {
    const { startOtel } = await import('../otel/index.ts');
    otel = startOtel(c.otlp, { metrics: metrics!, report });
  }
  return {
    runOptions: otel?.requestTracer ? { tracer: otel.requestTracer } : {},
    attach(run) {
      metrics?.attach(run);
      prom?.attach(run);
      otel?.attach(run);
      dash?.attach(run);
    },
    describe() {
      const lines: string[] = [];
      if (prom?.url) lines.push(`live metrics on ${prom.url}`);
      if (dash) lines.push(`live dashboard on ${dash.url}`);
      if (otel && c.otlp)
        lines.push(
          `otlp: metrics to ${c.otlp.metricsUrl}, traces to ${c.otlp.tracesUrl}` +
            `${c.otlp.sampleRatio > 0 ? ` (${+(c.otlp.sampleRatio * 100).toFixed(4)}% of requests traced)` : ''}; run trace ${otel.traceId}`,
        );
      return lines;
    },
    reportsWritten: (files) => dash?.reportsWritten(files),
    async stop() {
      metrics?.detach();
      await Promise.all([prom?.stop(), otel?.stop(), dash?.stop()]);
    },
  };
}
