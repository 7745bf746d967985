import { realClock } from '../../src/core/clock.ts';
/**
 * The HTTP engine's warm-up before t = 0 and its scheduling loop, against real loopback servers.
 * Time bounds are generous (a shared 2-core machine); each one still fails by a wide margin if
 * the behaviour it guards is gone.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HttpLoad, type HttpLoadOptions } from '../../src/load/http-engine.ts';
import { segmentOf } from '../../src/scenario/patterns.ts';
import { createPrng } from '../../src/load/prng.ts';
import { warmUpCount } from '../../src/load/warm-up.ts';
import { MetricsStore } from '../../src/metrics/store.ts';
import type { RequestSpec } from '../../src/scenario/schema.ts';
import { closedPort, httpServer, type TestServer } from '../helpers/servers.ts';

const GET: RequestSpec = { weight: 1, method: 'GET', path: '/', headers: {} };
let servers: TestServer[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

function engine(o: Partial<HttpLoadOptions> & { url: string; rate?: number; durationMs?: number }) {
  const store = new MetricsStore();
  const load = new HttpLoad({
    requests: [GET],
    segment: segmentOf({ kind: 'constant', rate: o.rate ?? 100, duration: o.durationMs ?? 500 }),
    arrivals: 'even',
    connections: 8,
    maxBacklog: 1000,
    timeoutMs: 2000,
    streamTimeoutMs: 60_000,
    prng: createPrng(1),
    store,
    clock: realClock,
    ...o,
  });
  return { load, store };
}

/** A server that counts requests (by URL) and the sockets they came on. */
async function countingServer(handler?: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  const seen = { requests: 0, sockets: new Set<number>(), urls: [] as string[] };
  const s = await httpServer((req, res) => {
    seen.requests++;
    seen.sockets.add(req.socket.remotePort!);
    seen.urls.push(`${req.method} ${req.url}`);
    if (handler) handler(req, res, seen.requests);
    else res.end('ok');
  });
  servers.push(s);
  return { s, seen };
}

describe('warm-up count', () => {
  it('is two seconds of the first second, at least one per connection, at most 5,000', () => {
    const c = (rate: number, duration = 10_000) => segmentOf({ kind: 'constant', rate, duration });
    expect(warmUpCount(c(50), 64)).toBe(100);
    expect(warmUpCount(c(10), 64)).toBe(64);
    expect(warmUpCount(c(5000), 64)).toBe(5000);
    expect(warmUpCount(c(100_000), 64)).toBe(5000);
    // A pattern shorter than a second: its rate, not its count.
    expect(warmUpCount(c(400, 500), 8)).toBe(800);
    // A ramp from 0: the first second's average rate.
    expect(warmUpCount(segmentOf({ kind: 'ramp', from: 0, to: 1000, duration: 10_000 }), 8)).toBe(100);
  });
});

describe('HTTP engine warm-up', () => {
  it('sends the first request of the mix before t = 0 over every connection and records none of it', async () => {
    const { s, seen } = await countingServer((_req, res) => setTimeout(() => res.end('ok'), 20));
    const { load, store } = engine({
      url: `${s.url}/base`,
      requests: [
        { weight: 1, method: 'GET', path: '/first', headers: {} },
        { weight: 1, method: 'POST', path: '/second', headers: {}, body: '{}' },
      ],
    });
    const report = await load.warmUp({ requests: 40 });
    expect(report).toMatchObject({ requests: 40, failed: 0, cutShort: null });
    expect(seen.requests).toBe(40);
    expect(new Set(seen.urls)).toEqual(new Set(['GET /base/first']));
    // `connections` at a time, so the pool opened all 8.
    expect(seen.sockets.size).toBe(8);
    expect(store.pending(0)).toBe(0);
    expect(store.takeWindow()).toMatchObject({ arrivals: 0, achieved: 0, ok: 0, failed: 0 });
    expect(store.totalLatency.totalCount).toBe(0);

    const outcome = await load.start();
    expect(outcome.warmUp).toEqual(report);
    expect(outcome.sent).toBe(50);
    const tl = store.timeline(1);
    expect(tl[0]).toMatchObject({ requested: 50, sent: 50, ok: 50 });
    expect(seen.requests).toBe(90);
    // The load reused the warm connections.
    expect(seen.sockets.size).toBe(8);
  });

  it('counts answers with an error status as failed but warms on', async () => {
    const { s, seen } = await countingServer((_req, res, n) => {
      res.statusCode = n % 2 === 0 ? 503 : 200;
      res.end();
    });
    const { load } = engine({ url: s.url });
    const report = await load.warmUp({ requests: 30 });
    expect(report).toMatchObject({ requests: 30, failed: 15, cutShort: null });
    expect(seen.requests).toBe(30);
  });

  it('against a refusing target ends at once, and the load then runs and records the refusals', async () => {
    const port = await closedPort();
    const { load, store } = engine({ url: `http://127.0.0.1:${port}`, rate: 50 });
    const t0 = performance.now();
    const report = await load.warmUp({ requests: 5000 });
    expect(performance.now() - t0).toBeLessThan(2000); // measured: a few ms
    expect(report.cutShort).toMatch(/^the target did not answer \(8 × refused\)$/);
    expect(report.requests).toBeLessThanOrEqual(16);
    expect(report.failed).toBe(report.requests);
    const outcome = await load.start();
    expect(outcome.ended).toBe('completed');
    expect(store.timeline(1)[0]).toMatchObject({ requested: 25, sent: 25, errors: { refused: 25 } });
  });

  it('gives up after its budget on a target that does not answer, and the load does not queue behind it', async () => {
    // The first 8 requests (the warm-up's first round) hang for good; every later one is answered.
    const hung: ServerResponse[] = [];
    const { s } = await countingServer((_req, res, n) => {
      if (n <= 8) hung.push(res);
      else res.end('ok');
    });
    const { load, store } = engine({ url: s.url, rate: 40, timeoutMs: 4000 });
    const t0 = performance.now();
    const report = await load.warmUp({ requests: 100, budgetMs: 300 });
    expect(performance.now() - t0).toBeLessThan(2500);
    expect(report.cutShort).toBe('gave up after 0.3 s with 8 request(s) unanswered');
    expect(report.requests).toBe(8);
    await load.start();
    const second = store.timeline(1)[0]!;
    expect(second).toMatchObject({ requested: 20, sent: 20, ok: 20, failed: 0 });
    // Behind the stale warm-up requests these would wait for their 4 s timeout.
    expect(second.latencyMs!.max).toBeLessThan(2000);
  });

  it('a stop during the warm-up ends it, and the load never starts', async () => {
    const { s } = await countingServer(() => {
      /* never answers */
    });
    const { load } = engine({ url: s.url });
    const warming = load.warmUp({ requests: 100, budgetMs: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    load.stop();
    const report = await warming;
    expect(report.cutShort).toBe('the load was stopped');
    const outcome = await load.start();
    expect(outcome).toMatchObject({ ended: 'stopped', sent: 0 });
  });

  it('skips a mix of SSE streams only, and says why', async () => {
    const { s, seen } = await countingServer();
    const { load } = engine({
      url: s.url,
      requests: [{ weight: 1, method: 'GET', path: '/events', headers: {}, stream: 'sse' }],
    });
    const report = await load.warmUp();
    expect(report).toMatchObject({
      requests: 0,
      cutShort: 'every request of the mix is an SSE stream',
    });
    expect(seen.requests).toBe(0);
    load.stop();
  });
});

describe('HTTP engine scheduling loop', () => {
  it('sleeps between close arrivals instead of spinning, and still sends every arrival on time', async () => {
    const { s } = await countingServer();
    const { load, store } = engine({ url: s.url, rate: 2000, durationMs: 2000, connections: 16 });
    await load.warmUp();
    const immediate = vi.spyOn(globalThis, 'setImmediate');
    const outcome = await load.start();
    // Spinning re-queued the loop with setImmediate on every turn: tens of thousands of times in
    // 2 s. Sleeping leaves it only for an arrival less than 0.05 ms away.
    const spins = immediate.mock.calls.filter(([fn]) => (fn as { name?: string }).name === 'loop').length;
    expect(spins).toBeLessThan(1000);
    expect(outcome.sent).toBe(4000);
    const tl = store.timeline(2).slice(0, 2);
    expect(tl.map((x) => x.requested)).toEqual([2000, 2000]);
    expect(tl.reduce((n, x) => n + x.ok, 0)).toBe(4000);
    for (const x of tl) expect(Math.abs(x.achieved - x.requested)).toBeLessThan(200);
    // Sleeping 1 ms costs about a millisecond of lag (measured p99 ~1.4 ms on a quiet machine).
    expect(tl[1]!.sendLagMs!.p99).toBeLessThan(50);
  });
});
