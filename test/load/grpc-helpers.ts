import { realClock } from '../../src/core/clock.ts';
/** A real grpc-js server on loopback implementing the demo's Inference service with test behaviour. */
import * as grpc from '@grpc/grpc-js';
import { INFERENCE_PROTO, INFERENCE_SERVICE } from '../../src/demo/inference.ts';
import { GrpcLoad, type GrpcCallSpec, type GrpcLoadOptions } from '../../src/load/grpc-engine.ts';
import {
  compileMessage,
  findMethod,
  grpcServiceDefinition,
  loadProto,
  messageEncoder,
} from '../../src/load/grpc-proto.ts';
import { segmentOf } from '../../src/scenario/patterns.ts';
import { createPrng } from '../../src/load/prng.ts';
import { MetricsStore } from '../../src/metrics/store.ts';
import { addHealthService, type ServingStatus } from '../../src/load/grpc-health.ts';

export interface Req {
  prompt: string;
  max_tokens: number;
  token_delay_ms: number;
}

export interface TestGrpcServer {
  address: string;
  port: number;
  requests: Req[];
  health: { status: ServingStatus };
  close(): Promise<void>;
}

export interface Behaviour {
  /** Unary: answer, or fail with a status code. */
  complete?: (req: Req, cb: grpc.sendUnaryData<unknown>) => void;
  generate?: (req: Req, call: grpc.ServerWritableStream<Req, unknown>) => void;
}

/** Streams max_tokens tokens: the first after token_delay_ms, then one every token_delay_ms. */
export function paced(req: Req, call: grpc.ServerWritableStream<Req, unknown>): void {
  let i = 0;
  const n = req.max_tokens || 3;
  const next = () => {
    if (call.cancelled) return;
    call.write({ text: `t${i}`, index: i, last: i === n - 1 });
    if (++i < n) timer = setTimeout(next, req.token_delay_ms);
    else call.end();
  };
  let timer = setTimeout(next, req.token_delay_ms);
  call.on('cancelled', () => clearTimeout(timer));
}

export async function grpcServer(b: Behaviour = {}): Promise<TestGrpcServer> {
  const svc = loadProto(INFERENCE_PROTO).lookupService(INFERENCE_SERVICE);
  const server = new grpc.Server();
  const requests: Req[] = [];
  const health = { status: 'SERVING' as ServingStatus };
  server.addService(grpcServiceDefinition(svc) as unknown as grpc.ServiceDefinition, {
    Complete: (call: grpc.ServerUnaryCall<Req, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      requests.push(call.request);
      if (b.complete) b.complete(call.request, cb);
      else cb(null, { text: 'ok', tokens: 1 });
    },
    Generate: (call: grpc.ServerWritableStream<Req, unknown>) => {
      requests.push(call.request);
      (b.generate ?? paced)(call.request, call);
    },
  });
  addHealthService(server, (s) => (s === '' || s === INFERENCE_SERVICE ? health.status : 'SERVICE_UNKNOWN'));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    port,
    requests,
    health,
    close: () => new Promise<void>((r) => server.tryShutdown(() => r())).then(() => server.forceShutdown()),
  };
}

/** Compiles one call of the Inference service for the engine. */
export function call(
  method: 'Complete' | 'Generate',
  message: Record<string, unknown>,
  name: string = method,
): GrpcCallSpec {
  const root = loadProto(INFERENCE_PROTO);
  const m = findMethod(root, INFERENCE_SERVICE, method);
  if (typeof m === 'string') throw new Error(m);
  const problems: { path: (string | number)[]; message: string }[] = [];
  const c = compileMessage(message, m.requestType, problems);
  if (problems.length) throw new Error(JSON.stringify(problems));
  return {
    name,
    weight: 1,
    path: m.path,
    serverStreaming: m.serverStreaming,
    encode: messageEncoder(m.requestType, c),
    metadata: {},
  };
}

export async function runGrpc(
  o: Partial<GrpcLoadOptions> & { address: string; calls: GrpcCallSpec[]; rate: number; durationMs: number },
) {
  const store = new MetricsStore();
  const load = new GrpcLoad({
    segment: segmentOf({ kind: 'constant', rate: o.rate, duration: o.durationMs }),
    arrivals: 'even',
    concurrency: 32,
    channels: 1,
    maxBacklog: 1000,
    deadlineMs: 2000,
    streamDeadlineMs: o.deadlineMs ?? 2000,
    prng: createPrng(1),
    store,
    clock: realClock,
    ...o,
  });
  const outcome = await load.start();
  const tl = store.timeline(Math.ceil(o.durationMs / 1000));
  const errors: Record<string, number> = {};
  for (const s of tl) for (const [k, v] of Object.entries(s.errors)) errors[k] = (errors[k] ?? 0) + (v ?? 0);
  const sum = (f: (s: (typeof tl)[number]) => number) => tl.reduce((n, s) => n + f(s), 0);
  return { outcome, tl, store, errors, sum, load };
}
