/**
 * chaoskit's GrpcLoad against the gRPC bench target. mode `throughput`: unary calls at `rate`
 * (above what the target can answer, so the engine is saturated), counting OK answers that end in
 * the window. mode `ttfe`: server-streaming calls at a low rate; the time-to-first-event summary.
 * mode `sse`: the same through the HTTP engine against the target's server-sent-event twin.
 */
import { realClock } from '../../src/core/clock.ts';
import { INFERENCE_PROTO, INFERENCE_SERVICE } from '../../src/demo/inference.ts';
import type { ErrorKind } from '../../src/core/error-kinds.ts';
import { GrpcLoad } from '../../src/load/grpc-engine.ts';
import { HttpLoad } from '../../src/load/http-engine.ts';
import { compileMessage, findMethod, loadProto, messageEncoder } from '../../src/load/grpc-proto.ts';
import { segmentOf } from '../../src/scenario/patterns.ts';
import { createPrng } from '../../src/load/prng.ts';
import { MetricsStore } from '../../src/metrics/store.ts';

interface Args {
  address: string;
  /** The SSE twin's base URL (mode sse). */
  url: string;
  mode: 'throughput' | 'ttfe' | 'sse';
  rate: number;
  durationMs: number;
  concurrency: number;
  window: [number, number];
  firstDelayMs: number;
}
const a = JSON.parse(process.env.BENCH_ARGS ?? '{}') as Args;

let t0 = 0;
let windowOk = 0;
let errors = 0;
class CountingStore extends MetricsStore {
  override result(
    intendedMs: number,
    sentMs: number,
    endMs: number,
    status: number,
    err: ErrorKind | null,
  ): void {
    super.result(intendedMs, sentMs, endMs, status, err);
    if (err) errors++;
    else if (endMs >= a.window[0] && endMs < a.window[1]) windowOk++;
  }
}

const root = loadProto(INFERENCE_PROTO);
const m = findMethod(root, INFERENCE_SERVICE, a.mode === 'ttfe' ? 'Generate' : 'Complete');
if (typeof m === 'string') throw new Error(m);
const msg =
  a.mode === 'ttfe' ? { prompt: 'x', max_tokens: 2, token_delay_ms: a.firstDelayMs } : { prompt: 'x' };
const store = new CountingStore();
const load = new GrpcLoad({
  address: a.address,
  calls: [
    {
      name: m.name,
      weight: 1,
      path: m.path,
      serverStreaming: m.serverStreaming,
      encode: messageEncoder(m.requestType, compileMessage(msg, m.requestType, [])),
      metadata: {},
    },
  ],
  segment: segmentOf({ kind: 'constant', rate: a.rate, duration: a.durationMs }),
  arrivals: 'even',
  concurrency: a.concurrency,
  channels: 1,
  maxBacklog: 10_000,
  deadlineMs: 10_000,
  streamDeadlineMs: 10_000,
  prng: createPrng(1),
  store,
  clock: realClock,
});
const sse = new HttpLoad({
  url: a.url,
  requests: [
    {
      weight: 1,
      method: 'GET',
      path: `/sse?delay=${a.firstDelayMs}&n=2`,
      headers: {},
      stream: 'sse',
      streamEnd: '[DONE]',
    },
  ],
  segment: segmentOf({ kind: 'constant', rate: a.rate, duration: a.durationMs }),
  arrivals: 'even',
  connections: a.concurrency,
  maxBacklog: 10_000,
  timeoutMs: 10_000,
  streamTimeoutMs: 10_000,
  prng: createPrng(1),
  store,
  clock: realClock,
});
// As `chaos run` drives an engine: its warm-up first (an SSE-only mix has none).
const engine = a.mode === 'sse' ? sse : load;
await engine.warmUp();
t0 = performance.now();
void t0;
const outcome = await engine.start();
const s = store.streams.summary();
process.stdout.write(
  `RESULT ${JSON.stringify({ windowOk, windowMs: a.window[1] - a.window[0], errors, dropped: outcome.dropped, sent: outcome.sent, firstEventMs: s?.firstEventMs ?? null, streams: s?.completed ?? 0 })}\n`,
);
process.exit(0);
