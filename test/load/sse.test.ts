import { realClock } from '../../src/core/clock.ts';
import type http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startInference, type InferenceService } from '../../src/demo/inference.ts';
import { HttpLoad } from '../../src/load/http-engine.ts';
import { segmentOf } from '../../src/scenario/patterns.ts';
import { createPrng } from '../../src/load/prng.ts';
import { MetricsStore } from '../../src/metrics/store.ts';
import type { RequestSpec } from '../../src/scenario/schema.ts';
import { httpServer, type TestServer } from '../helpers/servers.ts';

let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.map((c) => c()));
  closers = [];
});

async function serve(handler: http.RequestListener): Promise<TestServer> {
  const s = await httpServer(handler);
  closers.push(() => s.close());
  return s;
}

/** Writes `n` events, the first after `firstMs` and then every `gapMs`; then the end event unless `cut`. */
function sse(
  n: number,
  firstMs: number,
  gapMs: number,
  opts: { cut?: boolean; reset?: boolean } = {},
): http.RequestListener {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(': keep-alive comment, not an event\n\n');
    let i = 0;
    const next = () => {
      res.write(`data: {"i":${i}}\n\n`);
      if (++i < n) return void setTimeout(next, gapMs);
      if (opts.reset)
        setTimeout(() => res.socket?.resetAndDestroy(), 30); // after the events were read
      else if (opts.cut) res.end();
      else res.end('event: done\ndata: [DONE]\n\n');
    };
    setTimeout(next, firstMs);
  };
}

async function run(url: string, requests: RequestSpec[], rate: number, durationMs: number) {
  const store = new MetricsStore();
  const load = new HttpLoad({
    url,
    requests,
    segment: segmentOf({ kind: 'constant', rate, duration: durationMs }),
    arrivals: 'even',
    connections: 16,
    maxBacklog: 1000,
    timeoutMs: 2000,
    streamTimeoutMs: 60_000,
    prng: createPrng(7),
    store,
    clock: realClock,
  });
  const outcome = await load.start();
  const tl = store.timeline(Math.ceil(durationMs / 1000));
  const errors: Record<string, number> = {};
  for (const s of tl) for (const [k, v] of Object.entries(s.errors)) errors[k] = (errors[k] ?? 0) + (v ?? 0);
  return { outcome, tl, store, errors };
}

const SSE: RequestSpec = {
  weight: 1,
  method: 'GET',
  path: '/stream',
  headers: {},
  stream: 'sse',
  streamEnd: '[DONE]',
};

describe('server-sent events in the HTTP engine', () => {
  it('measures time to first event, gaps and events; the end marker is not an event', async () => {
    const s = await serve(sse(4, 50, 30));
    const r = await run(s.url, [SSE], 10, 1000);
    expect(r.errors).toEqual({});
    const st = r.store.streams.summary()!;
    expect(st).toMatchObject({ events: 40, completed: 10, cut: 0 });
    expect(st.firstEventMs!.p50).toBeGreaterThanOrEqual(49);
    expect(st.firstEventMs!.p50).toBeLessThan(150);
    expect(st.gapMs!.p50).toBeGreaterThanOrEqual(28);
    expect(st.gapMs!.p50).toBeLessThan(120);
    expect(r.tl[0]!.stream!.firstEventMs!.p50).toBeGreaterThanOrEqual(49);
  });

  it('counts a stream closed before its end marker as cut and failed (stream_cut)', async () => {
    const s = await serve(sse(3, 10, 10, { cut: true }));
    const r = await run(s.url, [SSE], 10, 1000);
    expect(r.errors).toEqual({ stream_cut: 10 });
    expect(r.store.streams.summary()).toMatchObject({ events: 30, cut: 10, completed: 0 });
  });

  it('counts a reset mid-stream as cut, with the reset in the error taxonomy', async () => {
    const s = await serve(sse(2, 10, 10, { reset: true }));
    const r = await run(s.url, [SSE], 10, 1000);
    expect(r.errors).toEqual({ reset: 10 });
    expect(r.store.streams.summary()).toMatchObject({ events: 20, cut: 10 });
  });

  it('without streamEnd, a clean close completes the stream', async () => {
    const s = await serve(sse(2, 10, 10, { cut: true }));
    const r = await run(s.url, [{ ...SSE, streamEnd: undefined }], 10, 1000);
    expect(r.errors).toEqual({});
    expect(r.store.streams.summary()).toMatchObject({ events: 20, completed: 10, cut: 0 });
  });

  it('a non-2xx answer is an ordinary failed request, not a stream', async () => {
    const s = await serve((_req, res) => {
      res.statusCode = 429;
      res.end('busy');
    });
    const r = await run(s.url, [SSE], 10, 1000);
    expect(r.errors).toEqual({ http_4xx: 10 });
    expect(r.store.streams.summary()).toBeNull();
  });

  it('streams tokens from the demo inference service; load beyond its slots raises time to first token', async () => {
    const inf: InferenceService = await startInference({
      grpcPort: 0,
      httpPort: 0,
      slots: 2,
      maxQueue: 100,
      prefillMs: 10,
      tokenDelayMs: 10,
      defaultTokens: 5,
    });
    closers.push(() => inf.close());
    const req: RequestSpec = { ...SSE, path: '/v1/generate?max_tokens=5' };
    const light = await run(inf.httpUrl, [req], 5, 1000);
    const heavy = await run(inf.httpUrl, [req], 60, 1000);
    const l = light.store.streams.summary()!;
    const h = heavy.store.streams.summary()!;
    expect(l).toMatchObject({ events: 25, completed: 5, cut: 0 });
    expect(l.firstEventMs!.p50).toBeLessThan(60);
    // 2 slots × ~60 ms per generation ≈ 33/s: at 60/s the queue grows, and so does time to first token.
    expect(h.firstEventMs!.p99).toBeGreaterThan(l.firstEventMs!.p99 * 3);
  });

  it('renders templated paths and bodies per request from the seeded PRNG', async () => {
    const seen: string[] = [];
    const s = await serve((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push(`${req.url} ${body}`);
        res.end('ok');
      });
    });
    const req: RequestSpec = {
      weight: 1,
      method: 'POST',
      path: '/items/{{randInt 1 9}}',
      headers: {},
      body: '{"q":"{{pick a b}}","n":{{seq}}}',
    };
    await run(s.url, [req], 20, 500);
    const first = seen.splice(0);
    await run(s.url, [req], 20, 500);
    expect(seen).toEqual(first);
    expect(first).toHaveLength(10);
    for (const [i, line] of first.entries())
      expect(line).toMatch(new RegExp(`^/items/[1-9] \\{"q":"[ab]","n":${i + 1}\\}$`));
  });
});
