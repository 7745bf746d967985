/**
 * Prometheus: `--prometheus PORT` serves /metrics on loopback while the run lasts; `--pushgateway
 * URL` PUTs the same metrics every few seconds and once at the end, grouped by job `chaoskit` and
 * the scenario (the run id is a label of `chaoskit_run_info` only, so series stay bounded).
 * The metrics (src/metrics/run-metrics.ts) follow only run events: nothing here slows the load.
 *
 * Text exposition format 0.0.4, checked with `promtool check metrics` (test/observe/prometheus.test.ts).
 * A push that fails or is still in flight when the next one is due is dropped and counted;
 * failures are reported once, when the run ends.
 */
import http from 'node:http';
import { METRICS, RunMetrics, type Labels, type MetricsSnapshot } from './run-metrics.ts';
import type { RunHandle } from '../run.ts';

export interface LiveMetrics {
  readonly url: string | null;
  /** Starts following a run (its events). */
  attach(run: RunHandle): void;
  /** Final push, server closed; resolves within a few seconds whatever the Pushgateway does. */
  stop(): Promise<void>;
}

export interface LiveMetricsOptions {
  port?: number;
  host?: string;
  pushgateway?: string;
  pushEveryMs?: number;
  /** A push's deadline (default 3 s). */
  pushTimeoutMs?: number;
  /** How long stop() waits for the final push (default 2 s: the CLI waits 3 s for everything). */
  finalPushWaitMs?: number;
  /** Where the one line about failed pushes goes, at the end (default stderr). */
  report?: (line: string) => void;
  /** The metrics to serve (default: a new RunMetrics, attached by attach()). */
  metrics?: RunMetrics;
}

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const escLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function labelText(labels: Labels, extra?: [string, string]): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escLabel(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

/** The snapshot in the Prometheus text format; families without samples are left out. */
export function renderPrometheus(s: MetricsSnapshot): string {
  const out: string[] = [];
  for (const f of s.scalars) {
    if (f.samples.length === 0) continue;
    const { prom, help, kind } = f.def;
    out.push(`# HELP ${prom} ${escHelp(help)}`, `# TYPE ${prom} ${kind}`);
    for (const x of f.samples) out.push(`${prom}${labelText(x.labels)} ${num(x.value)}`);
  }
  for (const h of s.histograms) {
    if (h.points.length === 0) continue;
    const { prom, help } = h.def;
    out.push(`# HELP ${prom} ${escHelp(help)}`, `# TYPE ${prom} histogram`);
    for (const p of h.points) {
      let acc = 0;
      h.bounds.forEach((b, i) => {
        acc += p.counts[i]!;
        out.push(`${prom}_bucket${labelText(p.labels, ['le', String(b)])} ${acc}`);
      });
      out.push(`${prom}_bucket${labelText(p.labels, ['le', '+Inf'])} ${p.count}`);
      out.push(`${prom}_sum${labelText(p.labels)} ${num(p.sum)}`);
      out.push(`${prom}_count${labelText(p.labels)} ${p.count}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** The Pushgateway URL of a run's group: job `chaoskit`, grouping key the scenario. */
export function pushUrl(base: string, scenario: string): string {
  const seg = scenario.includes('/')
    ? `scenario@base64/${Buffer.from(scenario).toString('base64url')}`
    : `scenario/${encodeURIComponent(scenario)}`;
  return `${base.replace(/\/+$/, '')}/metrics/job/chaoskit/${seg}`;
}

/** Binds the metrics server (before the run starts, so a taken port fails first); attach() a run after. */
export async function startLiveMetricsServer(o: LiveMetricsOptions): Promise<LiveMetrics> {
  const metrics = o.metrics ?? new RunMetrics();
  const ownsMetrics = !o.metrics;
  const report = o.report ?? ((line: string) => process.stderr.write(`${line}\n`));

  let server: http.Server | null = null;
  let url: string | null = null;
  if (o.port !== undefined) {
    const s = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' || path !== '/metrics') {
        res.statusCode = 404;
        res.end('see /metrics\n');
        return;
      }
      res.setHeader('content-type', CONTENT_TYPE);
      res.end(renderPrometheus(metrics.snapshot()));
    });
    const host = o.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(o.port, host, () => resolve());
    });
    s.on('error', () => {}); // after the bind, a client's trouble is not the run's
    server = s;
    url = `http://${host}:${(s.address() as { port: number }).port}/metrics`;
  }

  const gw = o.pushgateway ? new Pusher(o.pushgateway, o.pushTimeoutMs ?? 3000) : null;
  let pushTimer: NodeJS.Timeout | null = null;
  const push = () => {
    const scenario = metrics.scenario;
    if (gw && scenario) gw.push(scenario, renderPrometheus(metrics.snapshot()));
  };

  return {
    url,
    attach(r) {
      if (ownsMetrics) metrics.attach(r);
      if (gw) {
        pushTimer = setInterval(push, o.pushEveryMs ?? 5000);
        pushTimer.unref();
      }
    },
    stop: async () => {
      if (pushTimer) clearInterval(pushTimer);
      if (ownsMetrics) metrics.detach();
      if (gw) {
        // The final push carries the totals: it waits (bounded) for one still in flight.
        const until = new Promise((r) => setTimeout(r, o.finalPushWaitMs ?? 2000).unref());
        await Promise.race([gw.idle(), until]);
        push();
        await Promise.race([gw.idle(), until]);
        const line = gw.summary();
        if (line) report(line);
      }
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((r) => server!.close(() => r()));
      }
    },
  };
}

/** One push in flight at most; a push due while one is in flight is dropped (and counted). */
class Pusher {
  private inFlight: Promise<void> | null = null;
  private attempts = 0;
  private failed = 0;
  private skipped = 0;
  private lastError = '';

  constructor(
    private readonly base: string,
    private readonly timeoutMs: number,
  ) {}

  push(scenario: string, body: string): void {
    this.attempts++;
    if (this.inFlight) {
      this.skipped++;
      return;
    }
    this.inFlight = fetch(pushUrl(this.base, scenario), {
      method: 'PUT',
      body,
      headers: { 'content-type': CONTENT_TYPE },
      signal: AbortSignal.timeout(this.timeoutMs),
    })
      .then(async (res) => {
        await res.body?.cancel();
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
      })
      .catch((err: unknown) => {
        this.failed++;
        const e = err as Error & { cause?: { code?: string } };
        this.lastError = e.cause?.code ?? e.message;
      })
      .finally(() => (this.inFlight = null));
  }

  idle(): Promise<void> {
    return this.inFlight ?? Promise.resolve();
  }

  /** One line about the pushes that did not land (one still in flight counts as not landed), or null. */
  summary(): string | null {
    const pending = this.inFlight ? 1 : 0;
    const lost = this.failed + this.skipped + pending;
    if (lost === 0) return null;
    const why = [
      `${this.failed} failed${this.lastError ? `, last: ${this.lastError}` : ''}`,
      ...(this.skipped ? [`${this.skipped} skipped while one was in flight`] : []),
      ...(pending ? ['the last one still unanswered'] : []),
    ];
    return `pushgateway ${this.base}: ${lost} of ${this.attempts} pushes did not land (${why.join('; ')}); the load was not affected`;
  }
}

export { METRICS };
