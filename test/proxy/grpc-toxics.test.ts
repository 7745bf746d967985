/** grpc_error and grpc_delay through a real proxy in front of a real gRPC server (HTTP/2 cleartext). */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { call, grpcServer, runGrpc, type TestGrpcServer } from '../load/grpc-helpers.ts';
import { cleanup, makeProxy, sleep, startApi } from './helpers.ts';

let servers: TestGrpcServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  await cleanup();
});

async function setup(behaviour?: Parameters<typeof grpcServer>[0]) {
  const upstream = await grpcServer(behaviour);
  servers.push(upstream);
  const api = await startApi();
  const port = await makeProxy(api, 'llm', upstream.port);
  return { api, upstream, address: `127.0.0.1:${port}` };
}

const complete = call('Complete', { prompt: 'c' }, 'complete');
const generate = call('Generate', { prompt: 'g', max_tokens: 3, token_delay_ms: 5 }, 'generate');

describe('grpc_error', () => {
  it('answers every matching call with the status; the server never runs them; other calls pass', async () => {
    const { api, upstream, address } = await setup();
    api.registry.addToxic('llm', {
      type: 'grpc_error',
      attributes: { status: 'RESOURCE_EXHAUSTED', method: 'Generate' },
    });
    const r = await runGrpc({ address, calls: [complete, generate], rate: 100, durationMs: 1000 });
    const p = r.store.profiles.summary()!;
    expect(p.generate!.sent).toBeGreaterThan(20);
    expect(p.generate!.failed).toBe(p.generate!.sent);
    expect(p.complete!.ok).toBe(p.complete!.sent);
    expect(r.errors).toEqual({ grpc_resource_exhausted: p.generate!.sent });
    expect(upstream.requests.every((q) => q.prompt === 'c')).toBe(true);
    expect(upstream.requests).toHaveLength(p.complete!.sent);
  });

  it('a fraction of calls, with the message the client sees; the connection stays healthy', async () => {
    const { api, address } = await setup();
    api.registry.addToxic('llm', {
      type: 'grpc_error',
      attributes: { status: 14, probability: 0.3, message: 'gpu node drained' },
    });
    const r = await runGrpc({ address, calls: [complete], rate: 200, durationMs: 2000 });
    const failed = r.errors.grpc_unavailable ?? 0;
    expect(Object.keys(r.errors)).toEqual(['grpc_unavailable']);
    expect(failed).toBeGreaterThan(400 * 0.2);
    expect(failed).toBeLessThan(400 * 0.4);
    expect(r.tl.reduce((n, s) => n + s.ok, 0)).toBe(400 - failed);

    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError | null>((resolve) => {
      const tryOnce = (n: number) =>
        client.makeUnaryRequest(
          '/chaoskit.demo.v1.Inference/Complete',
          (x: Buffer) => x,
          (b: Buffer) => b,
          Buffer.alloc(0),
          (e) => {
            if (e || n === 0) resolve(e);
            else tryOnce(n - 1);
          },
        );
      tryOnce(50);
    });
    client.close();
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(err?.details).toBe('gpu node drained');
  });

  it('answers streaming calls too; removing the toxic lets calls through again on the same connection', async () => {
    const { api, address } = await setup();
    api.registry.addToxic('llm', {
      name: 'e',
      type: 'grpc_error',
      attributes: { status: 'INTERNAL', method: '/chaoskit.demo.v1.Inference' },
    });
    const load = runGrpc({ address, calls: [generate], rate: 50, durationMs: 2000 });
    await sleep(1000);
    api.registry.removeToxic('llm', 'e');
    const r = await load;
    expect(r.tl[0]!.errors).toEqual({ grpc_internal: 50 });
    expect(r.tl[1]!.ok).toBe(50);
    expect(r.tl[1]!.stream!.events).toBeGreaterThan(100);
  });
});

describe('grpc_delay', () => {
  it('delays matching calls by the given time; others are not delayed when sent alone', async () => {
    const { api, address } = await setup();
    api.registry.addToxic('llm', {
      type: 'grpc_delay',
      attributes: { delay: 150, method: 'chaoskit.demo.v1.Inference/Complete' },
    });
    const slow = await runGrpc({ address, calls: [complete], rate: 10, durationMs: 1000 });
    expect(slow.errors).toEqual({});
    expect(slow.tl[0]!.latencyMs!.p50).toBeGreaterThanOrEqual(148);
    expect(slow.tl[0]!.latencyMs!.p50).toBeLessThan(400);
    const fast = await runGrpc({ address, calls: [generate], rate: 10, durationMs: 1000 });
    expect(fast.store.streams.summary()!.firstEventMs!.p50).toBeLessThan(100);
  });

  it('a toxic added while a connection is open leaves that connection alone (no HPACK state to read)', async () => {
    const { api, address } = await setup();
    const load = runGrpc({ address, calls: [complete], rate: 20, durationMs: 1500 });
    await sleep(500);
    api.registry.addToxic('llm', { type: 'grpc_error', attributes: { status: 14 } });
    const r = await load;
    expect(r.errors).toEqual({});
    expect(r.tl.reduce((n, s) => n + s.ok, 0)).toBe(30);
  });
});
