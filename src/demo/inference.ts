/**
 * The demo's inference-like service: completions streamed token by token over gRPC
 * (chaoskit.demo.v1.Inference/Generate, src/demo/protos/inference.proto) and over HTTP
 * server-sent events (GET or POST /v1/generate), both sharing a bounded number of "GPU slots".
 *
 *   request ──queue (≤ maxQueue, else RESOURCE_EXHAUSTED / 429)──> slot ──prefill──> token, token, …
 *
 * A request waits for a free slot, then for the prefill delay, then gets one token every
 * `tokenDelayMs`. Load beyond `slots` concurrent generations queues, so time to first token
 * grows with load; faults in front of it (the fault proxy) add to it. Health: grpc.health.v1
 * and GET /health. Conversations (context growing turn by turn) and image and audio uploads:
 * src/demo/inference-sessions.ts.
 */
import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { PACKAGE_ROOT } from '../core/paths.ts';
import { join } from 'node:path';
import { InputError } from '../core/errors.ts';
import { grpcServiceDefinition, loadProto } from '../load/grpc-proto.ts';
import { addHealthService } from '../load/grpc-health.ts';
import { sessionApi } from './inference-sessions.ts';

// From the package root: compiled code in dist/ has no .proto files beside it.
export const INFERENCE_PROTO = join(PACKAGE_ROOT, 'src/demo/protos/inference.proto');
export const INFERENCE_SERVICE = 'chaoskit.demo.v1.Inference';

export interface InferenceOptions {
  grpcPort: number;
  httpPort: number;
  /** Concurrent generations (the "GPU" capacity). */
  slots: number;
  /** Requests waiting for a slot beyond this are refused. */
  maxQueue: number;
  prefillMs: number;
  tokenDelayMs: number;
  defaultTokens: number;
  /** gRPC connections are closed gracefully after this long (default 2 s). */
  maxConnectionAgeMs?: number;
}

export const DEFAULT_INFERENCE: Omit<InferenceOptions, 'grpcPort' | 'httpPort'> = {
  slots: 8,
  maxQueue: 512,
  prefillMs: 20,
  tokenDelayMs: 5,
  defaultTokens: 16,
};

interface GenerateRequest {
  prompt?: string;
  max_tokens?: number;
  token_delay_ms?: number;
  /** Prefill beyond the service's own (a conversation's context: src/demo/inference-sessions.ts). */
  extraPrefillMs?: number;
}

const WORDS = [
  'the',
  'quick',
  'model',
  'streams',
  'tokens',
  'under',
  'load',
  'while',
  'faults',
  'bite',
  'and',
  'recover',
];

/** Slots with a bounded FIFO queue; `acquire` resolves with a release function, or null when full. */
class Slots {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  constructor(
    private readonly size: number,
    private readonly maxQueue: number,
  ) {}
  acquire(onGrant: (release: () => void) => void): { cancel(): void } | null {
    let released = false;
    let granted = false;
    const release = () => {
      if (released) return;
      released = true;
      this.active--;
      this.queue.shift()?.();
    };
    const grant = () => {
      granted = true;
      this.active++;
      onGrant(release);
    };
    if (this.active < this.size) {
      grant();
      return { cancel: release };
    }
    if (this.queue.length >= this.maxQueue) return null;
    this.queue.push(grant);
    return {
      cancel: () => {
        if (granted) return release();
        const i = this.queue.indexOf(grant);
        if (i >= 0) this.queue.splice(i, 1);
      },
    };
  }
}

/**
 * Runs one generation: tokens through `emit`, then `done`. Returns a cancel function. `refused` is
 * called instead when the queue is full.
 */
function generate(
  slots: Slots,
  o: InferenceOptions,
  req: GenerateRequest,
  emit: (text: string, index: number, last: boolean) => void,
  done: () => void,
  refused: () => void,
): () => void {
  const n = Math.min(4096, Math.max(1, req.max_tokens || o.defaultTokens));
  const delay = req.token_delay_ms && req.token_delay_ms > 0 ? req.token_delay_ms : o.tokenDelayMs;
  let timer: NodeJS.Timeout | null = null;
  let seed = 0;
  for (const c of req.prompt ?? '') seed = (seed * 31 + c.charCodeAt(0)) >>> 0;
  const ticket = slots.acquire((release) => {
    let i = 0;
    const next = () => {
      emit(WORDS[(seed + i) % WORDS.length]!, i, i === n - 1);
      i++;
      if (i < n) timer = setTimeout(next, delay);
      else {
        release();
        done();
      }
    };
    timer = setTimeout(next, o.prefillMs + (req.extraPrefillMs ?? 0));
  });
  if (!ticket) {
    refused();
    return () => {};
  }
  return () => {
    if (timer) clearTimeout(timer);
    ticket.cancel();
  };
}

export interface InferenceService {
  grpcAddress: string;
  httpUrl: string;
  close(): Promise<void>;
}

export async function startInference(o: InferenceOptions): Promise<InferenceService> {
  const slots = new Slots(o.slots, o.maxQueue);
  const svc = loadProto(INFERENCE_PROTO).lookupService(INFERENCE_SERVICE);
  // Connections are recycled (GOAWAY, then the client reconnects without failing a call), as
  // production gRPC servers behind load balancers do; new connections are where gRPC proxy faults act.
  const server = new grpc.Server({
    'grpc.max_connection_age_ms': o.maxConnectionAgeMs ?? 2_000,
    'grpc.max_connection_age_grace_ms': 30_000,
  });
  server.addService(grpcServiceDefinition(svc) as unknown as grpc.ServiceDefinition, {
    Generate: (call: grpc.ServerWritableStream<GenerateRequest, unknown>) => {
      const cancel = generate(
        slots,
        o,
        call.request,
        (text, index, last) => call.write({ text, index, last }),
        () => call.end(),
        () =>
          call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: 'inference queue is full' }),
      );
      call.on('cancelled', cancel);
    },
    Complete: (call: grpc.ServerUnaryCall<GenerateRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const words: string[] = [];
      const cancel = generate(
        slots,
        o,
        call.request,
        (text) => words.push(text),
        () => cb(null, { text: words.join(' '), tokens: words.length }),
        () => cb({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'inference queue is full' }),
      );
      call.on('cancelled', cancel);
    },
  });
  addHealthService(server, (service) =>
    service === '' || service === INFERENCE_SERVICE ? 'SERVING' : 'SERVICE_UNKNOWN',
  );
  const grpcPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${o.grpcPort}`, grpc.ServerCredentials.createInsecure(), (err, port) =>
      err
        ? reject(Object.assign(err, { code: /in use/i.test(err.message) ? 'EADDRINUSE' : undefined }))
        : resolve(port),
    ),
  );

  const sessions = sessionApi({
    generate: (req, emit, done, refused) => generate(slots, o, req, emit, done, refused),
    work: (ms, done, refused) => {
      let timer: NodeJS.Timeout | null = null;
      const ticket = slots.acquire((release) => {
        timer = setTimeout(() => {
          release();
          done();
        }, ms);
      });
      if (!ticket) {
        refused();
        return () => {};
      }
      return () => {
        if (timer) clearTimeout(timer);
        ticket.cancel();
      };
    },
  });
  const web = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/health') {
      res.setHeader('content-type', 'application/json');
      res.end('{"status":"ok"}');
      return;
    }
    if (sessions(req, res, url.pathname)) return;
    if (url.pathname !== '/v1/generate') {
      res.statusCode = 404;
      res.end('{"error":"not found"}');
      return;
    }
    const start = (body: GenerateRequest) => {
      let open = true;
      const cancel = generate(
        slots,
        o,
        body,
        (text, index) => {
          if (index === 0) {
            res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
          }
          res.write(`data: ${JSON.stringify({ text, index })}\n\n`);
        },
        () => {
          open = false;
          res.end('event: done\ndata: [DONE]\n\n');
        },
        () => {
          open = false;
          res
            .writeHead(429, { 'content-type': 'application/json' })
            .end('{"error":"inference queue is full"}');
        },
      );
      res.on('close', () => open && cancel());
    };
    const fromQuery = (): GenerateRequest => ({
      prompt: url.searchParams.get('prompt') ?? '',
      max_tokens: Number(url.searchParams.get('max_tokens') ?? 0),
      token_delay_ms: Number(url.searchParams.get('token_delay_ms') ?? 0),
    });
    if (req.method !== 'POST') return start(fromQuery());
    let text = '';
    req.on('data', (c: Buffer) => (text = (text + c.toString()).slice(0, 65536)));
    req.on('end', () => {
      try {
        start({ ...fromQuery(), ...(JSON.parse(text || '{}') as GenerateRequest) });
      } catch {
        res.statusCode = 400;
        res.end('{"error":"expected a JSON body"}');
      }
    });
  });
  web.keepAliveTimeout = 30_000;
  try {
    await new Promise<void>((resolve, reject) => {
      web.once('error', reject);
      web.listen(o.httpPort, '127.0.0.1', () => resolve());
    });
  } catch (err) {
    server.forceShutdown();
    throw err;
  }
  const httpPort = (web.address() as { port: number }).port;
  return {
    grpcAddress: `127.0.0.1:${grpcPort}`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    close: async () => {
      server.forceShutdown();
      await new Promise<void>((r) => {
        web.closeAllConnections();
        web.close(() => r());
      });
    },
  };
}

/** The demo's inference settings from the environment (CHAOSKIT_DEMO_TOKEN_DELAY_MS, …). */
export function inferenceSettings(
  env: NodeJS.ProcessEnv = process.env,
): Omit<InferenceOptions, 'grpcPort' | 'httpPort'> {
  const num = (name: string, fallback: number, min: number) => {
    const v = Number(env[name]);
    return env[name] !== undefined && env[name] !== '' && Number.isFinite(v) && v >= min ? v : fallback;
  };
  const d = DEFAULT_INFERENCE;
  return {
    slots: num('CHAOSKIT_DEMO_INFERENCE_SLOTS', d.slots, 1),
    maxQueue: num('CHAOSKIT_DEMO_INFERENCE_QUEUE', d.maxQueue, 0),
    prefillMs: num('CHAOSKIT_DEMO_PREFILL_MS', d.prefillMs, 0),
    tokenDelayMs: num('CHAOSKIT_DEMO_TOKEN_DELAY_MS', d.tokenDelayMs, 0),
    defaultTokens: num('CHAOSKIT_DEMO_TOKENS', d.defaultTokens, 1),
  };
}

export const DEMO_INFERENCE_PROXY = 'inference';
export const DEMO_INFERENCE_HTTP_PROXY = 'inference-http';

/**
 * Starts the inference service for the demo system and puts two fault proxies in front of it
 * (gRPC and HTTP), so scenarios load it through the proxy and proxy faults reach its calls.
 */
export async function startDemoInference(
  ports: { inferenceGrpc: number; inferenceGrpcHop: number; inferenceHttp: number; inferenceHttpHop: number },
  registry: {
    createProxy(input: {
      name: string;
      listen: string;
      upstream: string;
      enabled: boolean;
    }): Promise<unknown>;
  },
  env: NodeJS.ProcessEnv = process.env,
): Promise<InferenceService> {
  let svc: InferenceService;
  try {
    svc = await startInference({
      grpcPort: ports.inferenceGrpc,
      httpPort: ports.inferenceHttp,
      ...inferenceSettings(env),
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    throw new InputError(
      `cannot start the demo inference service: port ${ports.inferenceGrpc} or ${ports.inferenceHttp} on 127.0.0.1 is in use. ` +
        'Stop what uses it, or move it with CHAOSKIT_DEMO_INFERENCE_UPSTREAM_PORT and CHAOSKIT_DEMO_INFERENCE_HTTP_UPSTREAM_PORT.',
    );
  }
  try {
    await registry.createProxy({
      name: DEMO_INFERENCE_PROXY,
      listen: `127.0.0.1:${ports.inferenceGrpcHop}`,
      upstream: svc.grpcAddress,
      enabled: true,
    });
    await registry.createProxy({
      name: DEMO_INFERENCE_HTTP_PROXY,
      listen: `127.0.0.1:${ports.inferenceHttpHop}`,
      upstream: svc.httpUrl.replace('http://', ''),
      enabled: true,
    });
    await warmUp(`127.0.0.1:${ports.inferenceGrpcHop}`, `http://127.0.0.1:${ports.inferenceHttpHop}`);
  } catch (err) {
    await svc.close();
    throw err;
  }
  return svc;
}

/**
 * A few hundred tokens through both paths (proxy included), so a run's baseline measures a warm
 * service rather than its first, JIT-compiling requests. Bounded: 64 short calls, 2 s at most.
 */
async function warmUp(grpcAddress: string, httpUrl: string): Promise<void> {
  const svc = loadProto(INFERENCE_PROTO).lookupService(INFERENCE_SERVICE);
  const Client = grpc.makeGenericClientConstructor(
    grpcServiceDefinition(svc) as unknown as grpc.ServiceDefinition,
    'Inference',
  );
  const client = new Client(grpcAddress, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Generate(req: object, opts: grpc.CallOptions): NodeJS.ReadableStream;
  };
  const deadline = Date.now() + 2_000;
  const req = { prompt: 'warm', max_tokens: 4, token_delay_ms: 1 };
  const one = async (i: number) => {
    if (i % 2 === 0) {
      await new Promise<void>((resolve) => {
        const call = client.Generate(req, { deadline });
        call.on('data', () => {});
        call.on('end', () => resolve());
        call.on('error', () => resolve());
      });
    } else {
      const r = await fetch(`${httpUrl}/v1/generate?max_tokens=4&token_delay_ms=1`, {
        signal: AbortSignal.timeout(2_000),
      }).catch(() => null);
      await r?.text().catch(() => '');
    }
  };
  for (let round = 0; round < 8 && Date.now() < deadline; round++)
    await Promise.all(Array.from({ length: 8 }, (_, i) => one(i)));
  client.close();
}
