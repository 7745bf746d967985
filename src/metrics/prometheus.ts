/**
 * Live metrics for dashboards: `--prometheus PORT` serves /metrics (prom-client) while the run
 * lasts; `--pushgateway URL` pushes the same metrics every few seconds and once at the end.
 * Only listens to run events: it never slows the load engine.
 */
import http from 'node:http';
import { Counter, Gauge, Pushgateway, Registry } from 'prom-client';
import type { Progress, RunHandle } from '../run.ts';

export interface LiveMetrics {
  readonly url: string | null;
  /** Starts following a run (its `second` events). */
  attach(run: RunHandle): void;
  stop(): Promise<void>;
}

export interface LiveMetricsOptions {
  port?: number;
  host?: string;
  pushgateway?: string;
  pushEveryMs?: number;
}

/** Binds the metrics server (before the run starts, so a taken port fails first); attach() a run after. */
export async function startLiveMetricsServer(o: LiveMetricsOptions): Promise<LiveMetrics> {
  const registry = new Registry();
  let run: RunHandle | null = null;
  let labels: Record<string, string> = {};
  const g = (name: string, help: string, labelNames: string[] = []) =>
    new Gauge({ name, help, labelNames, registers: [registry] });
  const requested = g('chaoskit_requested_rate', 'arrivals scheduled in the last second');
  const achieved = g('chaoskit_achieved_rate', 'requests sent in the last second');
  const latency = g('chaoskit_latency_ms', 'latency of the last second from the intended send time', [
    'quantile',
  ]);
  const active = g('chaoskit_fault_active', '1 while a fault is applied', ['fault']);
  const saturated = g('chaoskit_generator_saturated', '1 when the load generator itself was saturated');
  const progress = g('chaoskit_progress_ratio', 'elapsed share of the run');
  const errors = new Counter({
    name: 'chaoskit_errors_total',
    help: 'failed requests by kind',
    labelNames: ['kind'],
    registers: [registry],
  });
  const sent = new Counter({ name: 'chaoskit_requests_total', help: 'requests sent', registers: [registry] });
  const seenFaults = new Set<string>();

  const onProgress = (p: Progress) => {
    requested.set(p.requestedRate);
    achieved.set(p.achievedRate);
    sent.inc(p.achievedRate);
    progress.set(Math.min(1, p.elapsedMs / Math.max(1, p.durationMs)));
    saturated.set(p.saturated ? 1 : 0);
    for (const q of ['p50', 'p90', 'p95', 'p99', 'max'] as const) {
      const v = p.latencyMs?.[q];
      if (v !== undefined) latency.set({ quantile: q }, v);
    }
    for (const [kind, n] of Object.entries(p.errors)) if (n) errors.inc({ kind }, n);
    for (const f of p.activeFaults) seenFaults.add(f);
    for (const f of seenFaults) active.set({ fault: f }, p.activeFaults.includes(f) ? 1 : 0);
  };

  let server: http.Server | null = null;
  let url: string | null = null;
  if (o.port !== undefined) {
    const s = http.createServer(async (req, res) => {
      if (req.url !== '/metrics') {
        res.statusCode = 404;
        res.end('see /metrics\n');
        return;
      }
      res.setHeader('content-type', registry.contentType);
      res.end(await registry.metrics());
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(o.port, o.host ?? '127.0.0.1', () => resolve());
    });
    server = s;
    const addr = s.address() as { port: number };
    url = `http://${o.host ?? '127.0.0.1'}:${addr.port}/metrics`;
  }

  let pushTimer: NodeJS.Timeout | null = null;
  const gateway = o.pushgateway ? new Pushgateway(o.pushgateway, { timeout: 3000 }, registry) : null;
  const push = async () => {
    if (!run) return;
    try {
      await gateway?.pushAdd({ jobName: 'chaoskit', groupings: labels });
    } catch (err) {
      run.emit('log', `pushgateway ${o.pushgateway}: ${(err as Error).message}`);
    }
  };
  if (gateway) pushTimer = setInterval(() => void push(), o.pushEveryMs ?? 5000);

  return {
    url,
    attach(r) {
      run = r;
      labels = { scenario: r.scenario.spec.name, run: r.runId };
      registry.setDefaultLabels(labels);
      r.on('second', onProgress);
    },
    stop: async () => {
      run?.off('second', onProgress);
      if (pushTimer) clearInterval(pushTimer);
      if (gateway) await push();
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((r) => server!.close(() => r()));
      }
    },
  };
}
