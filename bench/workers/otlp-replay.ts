/**
 * What `--otlp --trace-sample 1%` costs, alone in a process: the real OTLP export (src/otel: the
 * SDK's meter and tracer providers, the protobuf exporters, the bounded span queue) fed, in real
 * time, by a real run's events replayed from its results.json (one `second` and one `secondFinal`
 * per second, as the runner emits them, into the same RunMetrics that the CLI creates for it),
 * while `rate` requests a second ask the request tracer whether they are sampled, as the engines
 * do, in 10 ms batches; the sampled ones end (status 200) one batch later. The exports go to the
 * sink in another process (bench/workers/observers-peer.ts). The control (`otlp: false`) runs the
 * same loop as the engines run it with no tracer: what is left is the export's own CPU.
 * Prints the CPU this process spent from the first replayed second to the last, per second, and
 * how much heap the exporter keeps alive after a forced GC (what V8's marking walks as well).
 */
import { RunMetrics } from '../../src/metrics/run-metrics.ts';
import type { RequestTracer, TracedRequest, TraceProfile } from '../../src/otel/request-tracer.ts';
import { loadReplay } from '../lib/replay.ts';

export interface OtlpReplayArgs {
  sinkPort: number;
  resultsFile: string;
  /** Requests per second that ask the tracer (the bench's rate). */
  rate: number;
  /** Seconds replayed, in real time (exports run on wall-clock intervals). */
  seconds: number;
  /** false: the same loop with no exporter and no tracer (the control). */
  otlp: boolean;
}

export interface OtlpReplayResult {
  seconds: number;
  cpuMs: number;
  cpuMsPerSecond: number;
  sampled: number;
  /** Heap in use after a forced GC, once set up (MB). */
  heapMb: number;
}

const args = JSON.parse(process.env.BENCH_ARGS ?? '{}') as OtlpReplayArgs;
const replay = loadReplay(args.resultsFile);
const run = replay.run;
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

let tracer: RequestTracer | undefined;
let stop: () => Promise<void> = async () => {};
if (args.otlp) {
  const { otlpConfig, startOtel } = await import('../../src/otel/index.ts');
  const config = otlpConfig(`http://127.0.0.1:${args.sinkPort}`, '1%', {})!;
  const metrics = new RunMetrics();
  const otel = startOtel(config, { metrics, report: (l) => process.stderr.write(`${l}\n`) });
  metrics.attach(run);
  otel.attach(run);
  tracer = otel.requestTracer;
  stop = () => otel.stop();
}
(globalThis as { gc?: () => void }).gc?.();
const heapMb = process.memoryUsage().heapUsed / 2 ** 20;

const profile: TraceProfile = {
  name: 'GET /',
  protocol: 'http',
  attributes: {
    'http.request.method': 'GET',
    'url.full': 'http://127.0.0.1/',
    'chaoskit.profile': 'default',
  },
};
const BATCHES = 100;
const perBatch = Math.round(args.rate / BATCHES);
let open: TracedRequest[] = [];
let sampled = 0;
let asked = 0;

const c0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < args.seconds; i++) {
  replay.emitSecond(replay.timeline[i % replay.timeline.length]!, i, args.seconds);
  for (let b = 0; b < BATCHES; b++) {
    const now = Date.now();
    for (const q of open) q.end(200, null, now);
    open = [];
    for (let k = 0; k < perBatch; k++) {
      asked++;
      // The engines' own check: no tracer, no call.
      const q = tracer ? tracer.start(profile, now, now) : null;
      if (q) {
        sampled++;
        open.push(q);
      }
    }
    await sleep(Math.max(0, t0 + i * 1000 + ((b + 1) * 1000) / BATCHES - performance.now()));
  }
}
const c = process.cpuUsage(c0);
const cpuMs = (c.user + c.system) / 1000;
await stop();
const out: OtlpReplayResult = {
  seconds: args.seconds,
  cpuMs,
  cpuMsPerSecond: cpuMs / args.seconds,
  sampled,
  heapMb,
};
if (asked !== perBatch * BATCHES * args.seconds) throw new Error('the replay lost requests');
process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
process.exit(0);
