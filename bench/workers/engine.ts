/**
 * Runs chaoskit's HttpLoad once, the way src/run.ts drives it (the warm-up before t = 0, then a
 * once-a-second ticker that samples the self-monitor and finalises old seconds), and prints what
 * the benches need:
 *   - completions whose response *ended* inside [window[0], window[1]) ms (throughput);
 *   - the per-second timeline (requested vs sent, send lag p99);
 *   - the send lag over the whole run, from one histogram (not an average of per-second values);
 *   - latency from the intended send time over the whole run.
 * Started pinned to the generator core by bench/lib/common.ts runWorker().
 */
import { realClock } from '../../src/core/clock.ts';
import { HttpLoad } from '../../src/load/http-engine.ts';
import { segmentOf } from '../../src/scenario/patterns.ts';
import { sequence } from '../../src/scenario/patterns.ts';
import { createPrng } from '../../src/load/prng.ts';
import { encode, newHistogram, recordMs, summarize, type Histogram } from '../../src/core/hist.ts';
import { startSelfMonitor } from '../../src/metrics/self-monitor.ts';
import { MetricsStore, type GeneratorStats } from '../../src/metrics/store.ts';
import type { ErrorKind } from '../../src/core/error-kinds.ts';
import type { LoadOutcome } from '../../src/load/open-model.ts';
import type { Phase } from '../../src/scenario/schema.ts';

export interface EngineArgs {
  url: string;
  phases: Phase[];
  connections: number;
  maxBacklog: number;
  timeoutMs: number;
  arrivals?: 'even' | 'poisson';
  seed?: number;
  /** Count responses that end inside this window (ms since the load started). */
  window?: [number, number];
  /** Stop the load (cancel backlog and in-flight) at this time instead of draining. */
  stopAtMs?: number;
  /** Also keep a send-lag histogram per second of sending (returned encoded). */
  lagPerSecond?: boolean;
  /** The engine's warm-up before t = 0, as `chaos run` does it (default true). */
  warmUp?: boolean;
}

export interface EngineSecond {
  t: number;
  requested: number;
  sent: number;
  ok: number;
  failed: number;
  dropped: number;
  sendLagP99Ms: number | null;
  latencyP99Ms: number | null;
}

export interface EngineResult {
  outcome: LoadOutcome;
  windowMs: number;
  windowCompleted: number;
  windowOk: number;
  timeline: EngineSecond[];
  sendLagMs: { p50: number; p99: number; p999: number; max: number; count: number };
  latencyMs: ReturnType<typeof summarize>;
  serviceMs: ReturnType<typeof summarize>;
  generator: GeneratorStats[];
  cpuMs: number;
  errors: Record<string, number>;
  /** Wall-clock time (Date.now() ms) of the load's t=0. */
  startEpochMs: number;
  /** Send-lag histograms per second of sending (HdrHistogram compressed base64), if asked. */
  lagBySecond: (string | null)[];
}

/** The engine's own store, plus two bench-only counters that cost one comparison per sample. */
class BenchStore extends MetricsStore {
  readonly lag = newHistogram();
  lagBySecond: Histogram[] | null = null;
  windowStart = Number.NEGATIVE_INFINITY;
  windowEnd = Number.POSITIVE_INFINITY;
  windowCompleted = 0;
  windowOk = 0;
  readonly errors: Record<string, number> = {};

  override send(intendedMs: number, sentMs: number): void {
    super.send(intendedMs, sentMs);
    recordMs(this.lag, sentMs - intendedMs);
    if (this.lagBySecond)
      recordMs((this.lagBySecond[Math.floor(sentMs / 1000)] ??= newHistogram()), sentMs - intendedMs);
  }

  override result(
    intendedMs: number,
    sentMs: number,
    endMs: number,
    status: number,
    err: ErrorKind | null,
  ): void {
    super.result(intendedMs, sentMs, endMs, status, err);
    if (err) this.errors[err] = (this.errors[err] ?? 0) + 1;
    if (endMs >= this.windowStart && endMs < this.windowEnd) {
      this.windowCompleted++;
      if (!err && status >= 200 && status < 300) this.windowOk++;
    }
  }
}

const args = JSON.parse(process.env.BENCH_ARGS ?? '{}') as EngineArgs;
const store = new BenchStore();
if (args.window) [store.windowStart, store.windowEnd] = args.window;
if (args.lagPerSecond) store.lagBySecond = [];
const segment =
  args.phases.length === 1 ? segmentOf(args.phases[0]!) : sequence(args.phases.map((p) => segmentOf(p)));
const load = new HttpLoad({
  url: args.url,
  requests: [{ weight: 1, method: 'GET', path: '/', headers: {} }],
  segment,
  arrivals: args.arrivals ?? 'even',
  connections: args.connections,
  maxBacklog: args.maxBacklog,
  timeoutMs: args.timeoutMs,
  streamTimeoutMs: args.timeoutMs,
  prng: createPrng(args.seed ?? 1).fork('requests'),
  store,
  clock: realClock,
});

if (args.warmUp !== false) await load.warmUp();

// The runner's ticker (src/run.ts), minus the progress event.
const monitor = startSelfMonitor();
const generator: GeneratorStats[] = [];
let second = 0;
const ticker = setInterval(() => {
  store.takeWindow();
  const gen = monitor.sample();
  generator.push(gen);
  store.generator(second, gen);
  store.finalizeReady(load.arrivalsThroughMs);
  second++;
}, 1000);

// Hard bound: whatever the pattern, the load stops at its end plus the timeout plus 5 s.
const hardStop = setTimeout(() => load.stop(), segment.durationMs + args.timeoutMs + 5000);
if (args.stopAtMs !== undefined) setTimeout(() => load.stop(), args.stopAtMs);

const cpu0 = process.cpuUsage();
const done = load.start();
const startEpochMs = performance.timeOrigin + performance.now() - load.now();
const outcome = await done;
const cpu = process.cpuUsage(cpu0);
clearInterval(ticker);
clearTimeout(hardStop);
monitor.stop();

const seconds = Math.ceil(segment.durationMs / 1000);
const timeline: EngineSecond[] = store.timeline(seconds).map((s) => ({
  t: s.t,
  requested: s.requested,
  sent: s.achieved,
  ok: s.ok,
  failed: s.failed,
  dropped: s.dropped,
  sendLagP99Ms: s.sendLagMs?.p99 ?? null,
  latencyP99Ms: s.latencyMs?.p99 ?? null,
}));
const lag = store.lag;
const result: EngineResult = {
  outcome,
  windowMs: args.window ? args.window[1] - args.window[0] : outcome.durationMs,
  windowCompleted: store.windowCompleted,
  windowOk: store.windowOk,
  timeline,
  sendLagMs: {
    p50: lag.getValueAtPercentile(50) / 1000,
    p99: lag.getValueAtPercentile(99) / 1000,
    p999: lag.getValueAtPercentile(99.9) / 1000,
    max: lag.maxValue / 1000,
    count: lag.totalCount,
  },
  latencyMs: summarize(store.totalLatency),
  serviceMs: summarize(store.totalService),
  generator,
  cpuMs: (cpu.user + cpu.system) / 1000,
  errors: store.errors,
  startEpochMs,
  lagBySecond: Array.from(store.lagBySecond ?? [], (h) => (h ? encode(h) : null)),
};
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
// Let the pool's sockets close without holding the process.
setTimeout(() => process.exit(0), 200).unref();
