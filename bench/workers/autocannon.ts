/**
 * Runs autocannon (library API, one thread, as `autocannon URL` does) once and prints:
 *   - responses that ended inside [window[0], window[1]) ms since start (throughput);
 *   - responses per second of the run (rate accuracy);
 *   - autocannon's own latency percentiles, and percentiles of the raw response times it reports
 *     (its own histogram applies a coordinated-omission correction when a rate is set).
 * Started pinned to the generator core by bench/lib/common.ts runWorker().
 */
import autocannon, { type Result } from 'autocannon';
import { newHistogram, recordMs, summarize } from '../../src/core/hist.ts';

export interface AutocannonArgs {
  url: string;
  connections: number;
  durationS: number;
  overallRate?: number;
  window?: [number, number];
}

export interface AutocannonResult {
  windowMs: number;
  windowCompleted: number;
  windowOk: number;
  perSecond: number[];
  /** autocannon's own report. */
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** Raw per-response times (no correction), in our histogram. */
  rawLatencyMs: ReturnType<typeof summarize>;
  requestsAverage: number;
  total2xx: number;
  errors: number;
  timeouts: number;
  cpuMs: number;
}

const args = JSON.parse(process.env.BENCH_ARGS ?? '{}') as AutocannonArgs;
const [w0, w1] = args.window ?? [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
let windowCompleted = 0;
let windowOk = 0;
const perSecond: number[] = [];
const raw = newHistogram();

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const result = await new Promise<Result>((resolve, reject) => {
  const inst = autocannon(
    {
      url: args.url,
      connections: args.connections,
      duration: args.durationS,
      pipelining: 1,
      timeout: 10,
      ...(args.overallRate ? { overallRate: args.overallRate } : {}),
    },
    (err, res) => (err ? reject(err) : resolve(res)),
  );
  inst.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    const t = performance.now() - t0;
    const s = Math.floor(t / 1000);
    perSecond[s] = (perSecond[s] ?? 0) + 1;
    recordMs(raw, responseTime);
    if (t >= w0 && t < w1) {
      windowCompleted++;
      if (statusCode >= 200 && statusCode < 300) windowOk++;
    }
  });
  // Bounded whatever autocannon does: stop it 10 s past its own duration.
  setTimeout(() => inst.stop(), (args.durationS + 10) * 1000).unref();
});
const cpu = process.cpuUsage(cpu0);

const out: AutocannonResult = {
  windowMs: args.window ? w1 - w0 : result.duration * 1000,
  windowCompleted,
  windowOk,
  perSecond: Array.from(perSecond, (n) => n ?? 0),
  latencyMs: {
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
  },
  rawLatencyMs: summarize(raw),
  requestsAverage: result.requests.average,
  total2xx: result['2xx'],
  errors: result.errors,
  timeouts: result.timeouts,
  cpuMs: (cpu.user + cpu.system) / 1000,
};
process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
setTimeout(() => process.exit(0), 200).unref();
