/** http_error and http_delay through a real proxy in front of a real HTTP server. */
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, connect, get, makeProxy, outcome, rawHttp, sleep, startApi, startHttp } from './helpers.ts';

afterEach(cleanup);

async function setup(handler?: Parameters<typeof startHttp>[0], random?: () => number) {
  const api = await startApi(random ? { registry: { random } } : {});
  const http = await startHttp(handler);
  const port = await makeProxy(api, 'web', http.port);
  return { api, port, seen: http.seen, base: `http://127.0.0.1:${port}` };
}

describe('http_error', () => {
  it('probability 1 answers every request with the status; the upstream sees none', async () => {
    const { api, base, seen } = await setup();
    api.registry.addToxic('web', { type: 'http_error', attributes: { status: 503, probability: 1 } });
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${base}/x${i}`);
      expect(r.status).toBe(503);
      expect(r.headers.get('x-chaoskit-fault')).toBe('http_error');
      expect(await r.text()).toBe('chaoskit: injected 503\n');
    }
    expect(seen).toEqual([]);
  });

  it('probability 0 forwards everything', async () => {
    const { api, base, seen } = await setup();
    api.registry.addToxic('web', { type: 'http_error', attributes: { status: 500, probability: 0 } });
    for (let i = 0; i < 3; i++) expect((await fetch(`${base}/y`)).status).toBe(200);
    expect(seen).toHaveLength(3);
  });

  it('matches method, path prefix and path_regex, per request on one keep-alive connection', async () => {
    const { api, port, seen } = await setup();
    api.registry.addToxic('web', {
      name: 'api',
      type: 'http_error',
      attributes: { status: 502, path: '/api' },
    });
    api.registry.addToxic('web', {
      name: 'del',
      type: 'http_error',
      attributes: { status: 409, method: 'delete', path_regex: '^/items/\\d+$', body: 'nope' },
    });
    const s = await connect(port);
    expect((await rawHttp(s, get('/health'))).status).toBe(200);
    expect((await rawHttp(s, get('/api/users?x=1'))).status).toBe(502);
    const post = 'POST /api/items HTTP/1.1\r\nhost: x\r\ncontent-length: 11\r\n\r\nhello world';
    expect((await rawHttp(s, post)).status).toBe(502);
    const chunked =
      'POST /api/c HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nt: 1\r\n\r\n';
    expect((await rawHttp(s, chunked)).status).toBe(502);
    const del = await rawHttp(s, 'DELETE /items/42 HTTP/1.1\r\nhost: x\r\n\r\n');
    expect([del.status, del.body]).toEqual([409, 'nope']);
    expect((await rawHttp(s, 'DELETE /items/42/x HTTP/1.1\r\nhost: x\r\n\r\n')).status).toBe(200);
    expect((await rawHttp(s, get('/health'))).status).toBe(200);
    expect(seen).toEqual(['GET /health', 'DELETE /items/42/x', 'GET /health']);
  });

  it('keeps response order for pipelined requests (forwarded, answered, forwarded)', async () => {
    const { api, port } = await setup((req, res) => {
      setTimeout(() => res.end(`ok ${req.url}`), req.url === '/slow' ? 100 : 0);
    });
    api.registry.addToxic('web', { type: 'http_error', attributes: { status: 503, path: '/fail' } });
    const s = await connect(port);
    let data = '';
    s.on('data', (c: Buffer) => (data += c.toString()));
    s.write(get('/slow') + get('/fail') + get('/fast'));
    for (let i = 0; i < 100 && !data.includes('ok /fast'); i++) await sleep(10);
    const order = [...data.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
    expect(order).toEqual(['200', '503', '200']);
    expect(data.indexOf('ok /slow')).toBeLessThan(data.indexOf('503'));
  });

  it('HEAD gets no body; "connection: close" gets a close', async () => {
    const { api, port } = await setup();
    api.registry.addToxic('web', { type: 'http_error', attributes: { status: 503 } });
    const s = await connect(port);
    const head = await rawHttp(s, 'HEAD /x HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(head.status).toBe(503);
    const next = await rawHttp(s, get('/y'));
    expect([next.status, next.body]).toEqual([503, 'chaoskit: injected 503\n']);
    const closing = await connect(port);
    const ended = outcome(closing);
    const r = await rawHttp(closing, get('/x', 'connection: close\r\n'));
    expect(r.head).toMatch(/connection: close/);
    expect((await ended).how).toBe('end');
  });

  it('applies to keep-alive connections opened before the toxic was added', async () => {
    const { api, port } = await setup();
    const s = await connect(port);
    expect((await rawHttp(s, get('/a'))).status).toBe(200);
    api.registry.addToxic('web', { type: 'http_error', attributes: { status: 504 } });
    expect((await rawHttp(s, get('/b'))).status).toBe(504);
    api.registry.removeToxic('web', 'http_error_downstream');
    expect((await rawHttp(s, get('/c'))).status).toBe(200);
  });

  it('a fraction of requests fails with a pooled client, and the rest reach the upstream', async () => {
    let seed = 7;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const { api, base, seen } = await setup(undefined, random);
    api.registry.addToxic('web', {
      type: 'http_error',
      toxicity: 1,
      attributes: { status: 503, probability: 0.3 },
    });
    const agent = new Agent({ connections: 4 });
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = 0; i < 25; i++) {
          const r = await request(`${base}/p`, {
            dispatcher: agent,
            method: i % 2 ? 'POST' : 'GET',
            body: i % 2 ? 'data' : undefined,
          });
          await r.body.text();
          statuses.push(r.statusCode);
        }
      }),
    );
    await agent.close();
    const failed = statuses.filter((s) => s === 503).length;
    expect(statuses).toHaveLength(100);
    expect(failed).toBeGreaterThan(10);
    expect(failed).toBeLessThan(50);
    expect(seen).toHaveLength(100 - failed);
  });
});

describe('http_delay', () => {
  it('delays matching requests by delay ms; others pass at once', async () => {
    const { api, port } = await setup();
    api.registry.addToxic('web', { type: 'http_delay', attributes: { delay: 300, path: '/slow' } });
    const s = await connect(port);
    let t0 = performance.now();
    expect((await rawHttp(s, get('/fast'))).status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(200);
    t0 = performance.now();
    expect((await rawHttp(s, get('/slow/1'))).status).toBe(200);
    const slow = performance.now() - t0;
    expect(slow).toBeGreaterThanOrEqual(290);
    expect(slow).toBeLessThan(800);
  });

  it('a held request keeps the ones behind it in order', async () => {
    const { api, port, seen } = await setup();
    api.registry.addToxic('web', { type: 'http_delay', attributes: { delay: 100, path: '/first' } });
    const s = await connect(port);
    let data = '';
    s.on('data', (c: Buffer) => (data += c.toString()));
    s.write(get('/first') + get('/second'));
    for (let i = 0; i < 100 && !data.includes('/second'); i++) await sleep(10);
    expect(seen).toEqual(['GET /first', 'GET /second']);
  });
});
