import { realClock } from '../../src/core/clock.ts';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcLoad } from '../../src/load/grpc-engine.ts';
import { segmentOf } from '../../src/scenario/patterns.ts';
import { createPrng } from '../../src/load/prng.ts';
import { MetricsStore } from '../../src/metrics/store.ts';
import { closedPort } from '../helpers/servers.ts';
import { call, grpcServer, runGrpc, type TestGrpcServer } from './grpc-helpers.ts';

let servers: TestGrpcServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});
async function server(...args: Parameters<typeof grpcServer>) {
  const s = await grpcServer(...args);
  servers.push(s);
  return s;
}

describe('open-model gRPC engine against real loopback servers', () => {
  it('sends every scheduled unary call and counts OK answers per second', async () => {
    const s = await server();
    const r = await runGrpc({
      address: s.address,
      calls: [call('Complete', { prompt: 'hi' })],
      rate: 100,
      durationMs: 2000,
    });
    expect(r.outcome.ended).toBe('completed');
    expect(r.tl.slice(0, 2).map((x) => x.requested)).toEqual([100, 100]);
    expect(r.sum((x) => x.sent)).toBe(200);
    expect(r.sum((x) => x.ok)).toBe(200);
    expect(r.errors).toEqual({});
    expect(s.requests).toHaveLength(200);
    expect(s.requests[0]!.prompt).toBe('hi');
    expect(r.tl[1]!.latencyMs!.p99).toBeLessThan(1000);
    expect(r.tl[0]!.stream).toBeUndefined(); // unary calls are not streams
  });

  it('renders templated messages from the seeded PRNG: the same seed sends the same messages', async () => {
    const s = await server();
    const msg = {
      prompt: 'user-{{randInt 1 1000}} {{pick red green blue}} {{randString 6}}',
      max_tokens: '{{randInt 5 9}}',
    };
    await runGrpc({ address: s.address, calls: [call('Complete', msg)], rate: 50, durationMs: 400 });
    const first = s.requests.splice(0);
    await runGrpc({ address: s.address, calls: [call('Complete', msg)], rate: 50, durationMs: 400 });
    expect(s.requests).toEqual(first);
    expect(first).toHaveLength(20);
    for (const q of first) {
      expect(q.prompt).toMatch(/^user-\d{1,4} (red|green|blue) [A-Za-z0-9]{6}$/);
      expect(q.max_tokens).toBeGreaterThanOrEqual(5);
      expect(q.max_tokens).toBeLessThanOrEqual(9);
    }
    expect(new Set(first.map((q) => q.prompt)).size).toBeGreaterThan(15);
  });

  it('measures server streams: time to first event, gaps, events per second, completed streams', async () => {
    const s = await server();
    const msg = { prompt: 'x', max_tokens: 5, token_delay_ms: 40 };
    const r = await runGrpc({
      address: s.address,
      calls: [call('Generate', msg)],
      rate: 10,
      durationMs: 2000,
    });
    expect(r.sum((x) => x.ok)).toBe(20);
    const st = r.store.streams.summary()!;
    expect(st.events).toBe(100);
    expect(st.completed).toBe(20);
    expect(st.cut).toBe(0);
    expect(st.firstEventMs!.p50).toBeGreaterThanOrEqual(39);
    expect(st.firstEventMs!.p50).toBeLessThan(120);
    expect(st.gapMs!.p50).toBeGreaterThanOrEqual(38);
    expect(st.gapMs!.p50).toBeLessThan(120);
    const s0 = r.tl[0]!.stream!;
    expect(s0.firstEventMs!.p50).toBeGreaterThanOrEqual(39);
    expect(s0.events).toBeGreaterThan(30);
    expect(s0.firstEventHist).toMatch(/^HIST/);
  });

  it('classifies every non-OK gRPC status code by name', async () => {
    const codes = [
      grpc.status.UNAVAILABLE,
      grpc.status.RESOURCE_EXHAUSTED,
      grpc.status.INTERNAL,
      grpc.status.NOT_FOUND,
      grpc.status.UNAUTHENTICATED,
    ];
    let n = 0;
    const s = await server({
      complete: (_req, cb) => {
        const code = codes[n++ % codes.length]!;
        cb({ code, details: `injected ${code}` });
      },
    });
    const r = await runGrpc({
      address: s.address,
      calls: [call('Complete', {})],
      rate: 50,
      durationMs: 1000,
      concurrency: 1,
    });
    expect(r.errors).toEqual({
      grpc_unavailable: 10,
      grpc_resource_exhausted: 10,
      grpc_internal: 10,
      grpc_not_found: 10,
      grpc_unauthenticated: 10,
    });
    expect(r.sum((x) => x.ok)).toBe(0);
  });

  it('ends slow calls at the deadline as grpc_deadline_exceeded, measured as slow answers', async () => {
    const s = await server({ complete: () => {} });
    const r = await runGrpc({
      address: s.address,
      calls: [call('Complete', {})],
      rate: 20,
      durationMs: 500,
      deadlineMs: 300,
    });
    expect(r.errors).toEqual({ grpc_deadline_exceeded: 10 });
    expect(r.tl[0]!.latencyMs!.p50).toBeGreaterThanOrEqual(290);
  });

  it('counts calls to a port with nothing listening as grpc_unavailable', async () => {
    const port = await closedPort();
    const r = await runGrpc({
      address: `127.0.0.1:${port}`,
      calls: [call('Complete', {})],
      rate: 40,
      durationMs: 500,
    });
    expect(r.errors).toEqual({ grpc_unavailable: 20 });
  });

  it('measures a server that ends streams early with an error (cut), and does not crash', async () => {
    const s = await server({
      generate: (_req, c) => {
        c.write({ text: 'a', index: 0 });
        c.write({ text: 'b', index: 1 });
        setTimeout(() => c.emit('error', { code: grpc.status.INTERNAL, details: 'gpu fell over' }), 20);
      },
    });
    const r = await runGrpc({
      address: s.address,
      calls: [call('Generate', { max_tokens: 10 })],
      rate: 20,
      durationMs: 1000,
    });
    expect(r.errors).toEqual({ grpc_internal: 20 });
    const st = r.store.streams.summary()!;
    expect(st).toMatchObject({ events: 40, cut: 20, completed: 0 });
    expect(r.tl[0]!.stream!.cut).toBeGreaterThanOrEqual(10); // counted in the second each stream ended: on a busy machine some end after 1 s
  });

  it('measures streams whose connection is torn down mid-stream', async () => {
    const s = await server({
      generate: (_req, c) => {
        c.write({ text: 'a', index: 0 });
        // The server process "dies": every connection goes at once.
        setTimeout(() => void s.close(), 50);
      },
    });
    const r = await runGrpc({
      address: s.address,
      calls: [call('Generate', { max_tokens: 10 })],
      rate: 1,
      durationMs: 1000,
    });
    expect(r.outcome.ended).toBe('completed');
    expect(r.sum((x) => x.failed)).toBe(1);
    expect(r.store.streams.summary()).toMatchObject({ events: 1, cut: 1 });
  });

  it('mixes named call profiles by weight and reports each one', async () => {
    const s = await server({
      complete: (req, cb) =>
        req.prompt === 'bad' ? cb({ code: grpc.status.INVALID_ARGUMENT }) : cb(null, { text: 'ok' }),
    });
    const good = { ...call('Complete', { prompt: 'good' }, 'good'), weight: 3 };
    const bad = { ...call('Complete', { prompt: 'bad' }, 'bad'), weight: 1 };
    const r = await runGrpc({ address: s.address, calls: [good, bad], rate: 200, durationMs: 2000 });
    const p = r.store.profiles.summary()!;
    expect(p.good!.sent + p.bad!.sent).toBe(400);
    expect(p.good!.sent).toBeGreaterThan(250);
    expect(p.good!.sent).toBeLessThan(350);
    expect(p.good!.failed).toBe(0);
    expect(p.bad!.ok).toBe(0);
    expect(p.bad!.failed).toBe(p.bad!.sent);
    expect(p.good!.latencyMs!.p99).toBeGreaterThan(0);
    expect(r.errors).toEqual({ grpc_invalid_argument: p.bad!.sent });
  });

  it('stop() cancels calls in flight and counts them as cancelled, not failed', async () => {
    const s = await server({ complete: () => {} });
    const store = new MetricsStore();
    const load = new GrpcLoad({
      address: s.address,
      calls: [call('Complete', {})],
      segment: segmentOf({ kind: 'constant', rate: 50, duration: 2000 }),
      arrivals: 'even',
      concurrency: 8,
      channels: 2,
      maxBacklog: 1000,
      deadlineMs: 5000,
      streamDeadlineMs: 5000,
      prng: createPrng(1),
      store,
      clock: realClock,
    });
    const done = load.start();
    setTimeout(() => load.stop(), 500);
    const o = await done;
    expect(o.ended).toBe('stopped');
    expect(o.durationMs).toBeLessThan(1500);
    expect(o.completed).toBe(0);
    // 8 in flight are cancelled; 17 waiting in the backlog were never sent.
    expect(o.cancelled).toBe(8);
    expect(o.notSent).toBe(17);
    const tl = store.timeline(1);
    expect(tl[0]!.failed).toBe(0);
    expect(tl[0]!.cancelled).toBe(8);
    expect(tl[0]!.notSent).toBe(17);
  });
});
