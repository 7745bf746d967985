import { afterEach, describe, expect, it } from 'vitest';
import { HttpLoad, type HttpLoadOptions } from '../../src/load/http-engine.ts';
import { segmentOf } from '../../src/scenario/patterns.ts';
import { createPrng } from '../../src/load/prng.ts';
import { MetricsStore, type SecondStats } from '../../src/metrics/store.ts';
import { realClock } from '../../src/core/clock.ts';
import { expectStoreAccounting } from '../helpers/accounting.ts';
import type { RequestSpec } from '../../src/scenario/schema.ts';
import { closedPort, httpServer, resettingServer, type TestServer } from '../helpers/servers.ts';

const GET: RequestSpec = { weight: 1, method: 'GET', path: '/', headers: {} };
let servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function run(o: Partial<HttpLoadOptions> & { url: string; rate: number; durationMs: number }) {
  const store = new MetricsStore();
  const load = new HttpLoad({
    requests: [GET],
    segment: segmentOf({ kind: 'constant', rate: o.rate, duration: o.durationMs }),
    arrivals: 'even',
    connections: 16,
    maxBacklog: 1000,
    timeoutMs: 2000,
    streamTimeoutMs: 60_000,
    prng: createPrng(1),
    store,
    clock: realClock,
    ...o,
  });
  const outcome = await load.start();
  const tl = store.timeline(Math.ceil(o.durationMs / 1000));
  expectStoreAccounting(tl);
  const sum = (f: (s: SecondStats) => number) => tl.reduce((n, s) => n + f(s), 0);
  const errors: Record<string, number> = {};
  for (const s of tl) for (const [k, v] of Object.entries(s.errors)) errors[k] = (errors[k] ?? 0) + (v ?? 0);
  return { outcome, tl, store, sum, errors, load };
}

describe('open-model HTTP engine against real loopback servers', () => {
  it('sends every scheduled arrival and counts ok responses per second', async () => {
    const s = await httpServer((_req, res) => res.end('ok'));
    servers.push(s);
    const r = await run({ url: s.url, rate: 200, durationMs: 2000 });
    expect(r.outcome.ended).toBe('completed');
    // A request that went out a hair after the plan's end opens a second of sends, not of arrivals.
    expect(r.tl.map((x) => x.requested).slice(0, 2)).toEqual([200, 200]);
    expect(r.tl.slice(2).every((x) => x.requested === 0)).toBe(true);
    expect(r.sum((x) => x.sent)).toBe(400);
    expect(r.sum((x) => x.ok)).toBe(400);
    expect(r.tl[0]!.status).toEqual({ '200': 200 });
    expect(r.tl[1]!.latencyMs!.p99).toBeLessThan(1000); // generous: CI machines are shared
  });

  it('classifies refused connections', async () => {
    const port = await closedPort();
    const r = await run({ url: `http://127.0.0.1:${port}`, rate: 50, durationMs: 500 });
    expect(r.errors).toEqual({ refused: 25 });
    expect(r.sum((x) => x.ok)).toBe(0);
  });

  it('classifies resets', async () => {
    const s = await resettingServer();
    servers.push(s);
    const r = await run({ url: s.url, rate: 50, durationMs: 500 });
    expect(r.errors).toEqual({ reset: 25 });
  });

  it('classifies timeouts and measures them as slow answers', async () => {
    const s = await httpServer(() => {
      /* never answers */
    });
    servers.push(s);
    const r = await run({ url: s.url, rate: 20, durationMs: 500, timeoutMs: 300 });
    expect(r.errors).toEqual({ timeout: 10 });
    expect(r.tl[0]!.latencyMs!.p50).toBeGreaterThanOrEqual(290);
  });

  it('classifies 4xx and 5xx and records status codes', async () => {
    let n = 0;
    const s = await httpServer((_req, res) => {
      res.statusCode = n++ % 2 === 0 ? 404 : 503;
      res.end();
    });
    servers.push(s);
    const r = await run({ url: s.url, rate: 40, durationMs: 500, connections: 1 });
    expect(r.errors).toEqual({ http_4xx: 10, http_5xx: 10 });
    expect(r.tl[0]!.status).toEqual({ '404': 10, '503': 10 });
  });

  it('sends the weighted request mix with method, path, headers and body', async () => {
    const seen: string[] = [];
    const s = await httpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${req.headers['x-k'] ?? ''} ${body}`);
        res.end();
      });
    });
    servers.push(s);
    await run({
      url: s.url,
      rate: 400,
      durationMs: 1000,
      requests: [
        { weight: 3, method: 'GET', path: '/a', headers: { 'x-k': 'v' } },
        { weight: 1, method: 'POST', path: '/b', headers: {}, body: '{"q":1}' },
      ],
    });
    const gets = seen.filter((x) => x === 'GET /a v ').length;
    const posts = seen.filter((x) => x === 'POST /b  {"q":1}').length;
    expect(gets + posts).toBe(400);
    expect(gets / 400).toBeGreaterThan(0.68);
    expect(gets / 400).toBeLessThan(0.82);
  });

  it('never waits for responses: a stalled target still gets arrivals, up to the connection cap, then backlog, then drops', async () => {
    const s = await httpServer((_req, res) => setTimeout(() => res.end(), 800));
    servers.push(s);
    const r = await run({
      url: s.url,
      rate: 100,
      durationMs: 500,
      connections: 5,
      maxBacklog: 10,
      timeoutMs: 3000,
    });
    // 50 arrivals: 5 sent at once, 10 wait in the backlog, 35 are dropped.
    expect(r.sum((x) => x.requested)).toBe(50);
    expect(r.sum((x) => x.dropped)).toBe(35);
    expect(r.tl[0]!.backlogMax).toBe(10);
    expect(r.tl[0]!.inflightMax).toBe(5);
    expect(r.sum((x) => x.ok)).toBe(15);
  });

  it('measures latency from the intended send time (no coordinated omission)', async () => {
    // One connection; the first answer stalls 400 ms. Requests queued behind it are late, and their
    // latency must show it even though their own service time is short.
    let first = true;
    const s = await httpServer((_req, res) => {
      if (first) {
        first = false;
        setTimeout(() => res.end(), 400);
      } else res.end();
    });
    servers.push(s);
    const r = await run({ url: s.url, rate: 50, durationMs: 1000, connections: 1 });
    const lat = r.tl[0]!.latencyMs!;
    const svc = r.tl[0]!.serviceMs!;
    expect(lat.p90).toBeGreaterThan(150);
    expect(svc.p50).toBeLessThan(20);
    expect(lat.max).toBeGreaterThanOrEqual(390);
  });

  it('stop() ends at once and counts in-flight requests as cancelled', async () => {
    const s = await httpServer(() => {
      /* never answers */
    });
    servers.push(s);
    const store = new MetricsStore();
    const load = new HttpLoad({
      url: s.url,
      requests: [GET],
      segment: segmentOf({ kind: 'constant', rate: 100, duration: 10_000 }),
      arrivals: 'even',
      connections: 100,
      maxBacklog: 100,
      timeoutMs: 10_000,
      streamTimeoutMs: 10_000,
      prng: createPrng(1),
      store,
      clock: realClock,
    });
    const done = load.start();
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    load.stop();
    const out = await done;
    expect(performance.now() - t0).toBeLessThan(500);
    expect(out.ended).toBe('stopped');
    expect(out.cancelled).toBeGreaterThanOrEqual(25);
    expect(out.completed).toBe(0);
    expectStoreAccounting(store.timeline(1));
  });

  it('load.timeout is a total deadline: an answer that trickles past it is a timeout at the deadline', async () => {
    // 200 status at once, then a byte every 200 ms for 4 s: never idle long enough for an idle timer.
    const s = await httpServer((_req, res) => {
      res.writeHead(200);
      let n = 0;
      const t = setInterval(() => {
        res.write('x');
        if (++n === 20) {
          clearInterval(t);
          res.end();
        }
      }, 200);
      res.on('close', () => clearInterval(t));
    });
    servers.push(s);
    const r = await run({ url: s.url, rate: 10, durationMs: 1000, timeoutMs: 1000 });
    expect(r.errors).toEqual({ timeout: 10 });
    expect(r.sum((x) => x.ok)).toBe(0);
    const lat = r.tl[0]!.latencyMs!;
    expect(lat.p50).toBeGreaterThanOrEqual(990);
    expect(lat.max).toBeLessThan(1500); // ended at the deadline (plus the sweep), not after 4 s
  });

  it('the same seed replays the same Poisson arrivals', async () => {
    const s = await httpServer((_req, res) => res.end());
    servers.push(s);
    const once = async (seed: number) =>
      (
        await run({ url: s.url, rate: 300, durationMs: 1500, arrivals: 'poisson', prng: createPrng(seed) })
      ).tl.map((x) => x.requested);
    const a = await once(7);
    const b = await once(7);
    const c = await once(8);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });
});
