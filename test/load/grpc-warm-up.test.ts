import { realClock } from '../../src/core/clock.ts';
/**
 * The gRPC engine's warm-up before t = 0 (the shared open-model scheduler's warmUp() with the
 * engine's own calls), against a real loopback grpc-js server.
 */
import type * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcLoad, type GrpcCallSpec } from '../../src/load/grpc-engine.ts';
import { segmentOf } from '../../src/scenario/patterns.ts';
import { createPrng } from '../../src/load/prng.ts';
import { MetricsStore } from '../../src/metrics/store.ts';
import { closedPort } from '../helpers/servers.ts';
import { call, grpcServer, paced, type Req, type TestGrpcServer } from './grpc-helpers.ts';

let servers: TestGrpcServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

function engine(address: string, calls: GrpcCallSpec[], rate = 40) {
  const store = new MetricsStore();
  const load = new GrpcLoad({
    address,
    calls,
    segment: segmentOf({ kind: 'constant', rate, duration: 500 }),
    arrivals: 'even',
    concurrency: 4,
    channels: 2,
    maxBacklog: 1000,
    deadlineMs: 2000,
    streamDeadlineMs: 60_000,
    prng: createPrng(1),
    store,
    clock: realClock,
  });
  return { load, store };
}

describe('gRPC engine warm-up', () => {
  it('makes unary calls of the first profile before t = 0 and records none of them', async () => {
    const s = await grpcServer();
    servers.push(s);
    const { load, store } = engine(s.address, [
      call('Complete', { prompt: 'warm' }, 'first'),
      call('Generate', { prompt: 'never in warm-up', max_tokens: 1, token_delay_ms: 1 }, 'second'),
    ]);
    const report = await load.warmUp({ requests: 30 });
    expect(report).toMatchObject({ requests: 30, failed: 0, cutShort: null });
    expect(s.requests).toHaveLength(30);
    expect(new Set(s.requests.map((r) => r.prompt))).toEqual(new Set(['warm']));
    expect(store.takeWindow()).toMatchObject({ arrivals: 0, achieved: 0, ok: 0 });
    expect(store.profiles.summary()).toMatchObject({ first: { sent: 0 }, second: { sent: 0 } });

    const outcome = await load.start();
    expect(outcome.warmUp).toEqual(report);
    expect(outcome).toMatchObject({ ended: 'completed', sent: 20, completed: 20 });
    expect(store.timeline(1)[0]).toMatchObject({ requested: 20, sent: 20, ok: 20 });
    expect(s.requests).toHaveLength(50);
  });

  it('cancels a server stream at its first message: warm, without waiting for the whole stream', async () => {
    let cancelled = 0;
    const s = await grpcServer({
      generate: (req: Req, c: grpc.ServerWritableStream<Req, unknown>) => {
        c.on('cancelled', () => cancelled++);
        paced(req, c);
      },
    });
    servers.push(s);
    // 20 tokens 100 ms apart: 2 s a stream, 4 s for the 8 calls run to their end, 4 at a time.
    const { load } = engine(s.address, [
      call('Generate', { prompt: 'w', max_tokens: 20, token_delay_ms: 100 }),
    ]);
    const report = await load.warmUp({ requests: 8, budgetMs: 10_000 });
    expect(report).toMatchObject({ requests: 8, failed: 0, cutShort: null });
    expect(report.durationMs).toBeLessThan(2000); // measured: ~200 ms (two rounds of a first token)
    await new Promise((r) => setTimeout(r, 100)); // the cancellations reach the server
    expect(cancelled).toBe(8);
    load.stop();
  });

  it('against a refusing target ends at once, and the load then runs and records the failures', async () => {
    const port = await closedPort();
    const { load, store } = engine(`127.0.0.1:${port}`, [call('Complete', { prompt: 'x' })]);
    const t0 = performance.now();
    const report = await load.warmUp({ requests: 5000 });
    expect(performance.now() - t0).toBeLessThan(3000); // measured: tens of ms
    expect(report.cutShort).toBe('the target did not answer (4 × grpc_unavailable)');
    expect(report.failed).toBe(report.requests);
    const outcome = await load.start();
    expect(outcome.ended).toBe('completed');
    expect(store.timeline(1)[0]).toMatchObject({
      requested: 20,
      sent: 20,
      errors: { grpc_unavailable: 20 },
    });
  });

  it('gives up after its budget on a server that never answers', async () => {
    const s = await grpcServer({ complete: () => {} });
    servers.push(s);
    const { load } = engine(s.address, [call('Complete', { prompt: 'x' })]);
    const report = await load.warmUp({ requests: 100, budgetMs: 300 });
    expect(report.cutShort).toBe('gave up after 0.3 s with 4 request(s) unanswered');
    expect(report).toMatchObject({ requests: 4, failed: 4 });
    load.stop();
  });
});
