/**
 * Proxy faults end to end through the real driver: the FaultDef from faults/index.ts prepares
 * against a real fault proxy (startProxyServer on port 0) in front of a real upstream; apply()
 * adds the toxic; the effect is measured on the wire; revertRecipe(recipe) — from the recipe
 * alone, as the guard would — removes it and the path works again.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { faultDef, faults } from '../../faults/index.ts';
import { createPrng } from '../../src/load/prng.ts';
import { startProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { revertRecipe } from '../../src/targets/revert.ts';
import { ownershipMark, type ApplyContext, type Prepared } from '../../src/targets/types.ts';

const RUN_ID = 'test-run';
const LEASE_MS = 30_000;

let api: ProxyServer;
let upstream: http.Server;
let upstreamHits = 0;
let proxyPort = 0;

beforeEach(async () => {
  upstreamHits = 0;
  upstream = http.createServer((req, res) => {
    upstreamHits++;
    const n = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('bytes') ?? 0);
    const body = n > 0 ? Buffer.alloc(n, 'x') : Buffer.from('ok');
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  api = await startProxyServer({ port: 0 });
  const p = await api.registry.createProxy({
    name: 'dep',
    listen: '127.0.0.1:0',
    upstream: `127.0.0.1:${(upstream.address() as AddressInfo).port}`,
  });
  proxyPort = Number(p.listen.split(':').pop());
});

afterEach(async () => {
  await api.close();
  upstream.closeAllConnections();
  await new Promise<void>((r) => upstream.close(() => r()));
});

interface Got {
  status?: number;
  bytes: number;
  body: string;
  error?: string;
  ms: number;
}

/**
 * One GET on a fresh connection (no pooling, so a new toxic meets it), kept alive as a load
 * generator's would be (the upstream does not close it after the response). Never throws.
 */
function get(path = '/', timeoutMs = 2_000): Promise<Got> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (g: Omit<Got, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ ...g, ms: performance.now() - t0 });
    };
    const req = http.request(
      { host: '127.0.0.1', port: proxyPort, path, agent: false, headers: { connection: 'keep-alive' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        const finish = (error?: string) => {
          const buf = Buffer.concat(chunks);
          done({
            status: res.statusCode,
            bytes: buf.length,
            body: buf.toString(),
            ...(error ? { error } : {}),
          });
        };
        res.on('end', () => finish());
        res.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
        res.on('close', () => finish(res.complete ? undefined : 'incomplete'));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => done({ bytes: 0, body: '', error: e.code ?? e.message }));
    const timer = setTimeout(() => {
      done({ bytes: 0, body: '', error: 'TIMEOUT' });
    }, timeoutMs);
    req.end();
  });
}

function ctx(faultId: string): ApplyContext {
  return {
    targetName: 'link',
    target: { kind: 'proxy', proxy: 'dep', api: api.url },
    faultId,
    runId: RUN_ID,
    mark: ownershipMark(RUN_ID, faultId),
    leaseMs: LEASE_MS,
    durationMs: 60_000,
    prng: createPrng(7).fork(faultId),
    pick: {},
    log: () => {},
  };
}

/** Prepares and applies a fault the way FaultRunner does (params parsed by the fault's schema). */
async function applyFault(type: string, params: Record<string, unknown>, faultId = 'f1'): Promise<Prepared> {
  const def = faultDef(type);
  if (!def?.on.proxy) throw new Error(`${type} has no proxy driver`);
  const prepared = await def.on.proxy(ctx(faultId), def.params.parse(params));
  await prepared.apply();
  return prepared;
}

async function toxics(): Promise<
  Array<{ name: string; type: string; attributes: Record<string, unknown>; lease_ms?: number }>
> {
  const r = await fetch(`${api.url}/proxies/dep/toxics`);
  expect(r.status).toBe(200);
  return (await r.json()) as Array<{
    name: string;
    type: string;
    attributes: Record<string, unknown>;
    lease_ms?: number;
  }>;
}

/** Reverts from the recipe alone and checks the toxic is gone and the path works. */
async function revertAndCheck(p: Prepared): Promise<void> {
  expect(await revertRecipe(JSON.parse(JSON.stringify(p.recipe)))).toBe('reverted');
  expect(await toxics()).toEqual([]);
  const after = await get();
  expect(after, JSON.stringify(after)).toMatchObject({ status: 200, body: 'ok' });
  expect(after.ms).toBeLessThan(500);
  // Idempotent: a second revert (another layer got there first) is harmless.
  expect(await revertRecipe(p.recipe)).toBe('already-gone');
}

describe('proxy faults through the real driver', () => {
  it('latency delays each response by about the delay, and nothing after the revert', async () => {
    const before = await get();
    expect(before.status).toBe(200);
    const p = await applyFault('latency', { delay: '300ms' });
    const [t] = await toxics();
    expect(t).toMatchObject({
      name: 'chaoskit:test-run:f1',
      type: 'latency',
      attributes: { latency: 300, jitter: 0 },
      lease_ms: LEASE_MS,
    });
    const delayed: number[] = [];
    for (let i = 0; i < 3; i++) {
      const g = await get();
      expect(g.status).toBe(200);
      delayed.push(g.ms);
    }
    console.log(
      `latency 300ms: baseline ${before.ms.toFixed(1)}ms, with fault ${delayed.map((m) => m.toFixed(0)).join('/')}ms`,
    );
    for (const ms of delayed) {
      expect(ms).toBeGreaterThanOrEqual(290);
      expect(ms).toBeLessThan(1_500);
    }
    await revertAndCheck(p);
    const fast = await get();
    expect(fast.ms).toBeLessThan(200);
  });

  it('partition refuse: connections are reset and never reach the upstream', async () => {
    const p = await applyFault('partition', { mode: 'refuse' });
    const hits = upstreamHits;
    for (let i = 0; i < 3; i++) {
      const g = await get();
      expect(g.status).toBeUndefined();
      expect(g.error).toMatch(/ECONNRESET|socket hang up|EPIPE/);
      expect(g.ms).toBeLessThan(1_000);
    }
    expect(upstreamHits).toBe(hits);
    await revertAndCheck(p);
  });

  it('partition blackhole: requests stall, and a stalled one completes once the path heals', async () => {
    const p = await applyFault('partition', { mode: 'blackhole' });
    const stalled = await get('/', 600);
    expect(stalled.error).toBe('TIMEOUT');
    const held = get('/', 5_000);
    await new Promise((r) => setTimeout(r, 400));
    expect(await revertRecipe(p.recipe)).toBe('reverted');
    const g = await held;
    expect(g, JSON.stringify(g)).toMatchObject({ status: 200, body: 'ok' });
    expect(g.ms).toBeGreaterThanOrEqual(390);
    expect(await toxics()).toEqual([]);
    expect((await get()).status).toBe(200);
  });

  it('http-error (fraction 1): every request gets the injected status and the upstream sees none', async () => {
    const p = await applyFault('http-error', { status: 503, fraction: 1 });
    const hits = upstreamHits;
    for (let i = 0; i < 5; i++) {
      const g = await get(`/items/${i}`);
      expect(g.status).toBe(503);
      expect(g.body).toContain('injected 503');
    }
    expect(upstreamHits).toBe(hits);
    await revertAndCheck(p);
    expect(upstreamHits).toBe(hits + 1);
  });

  it('http-error matches only the given method and path', async () => {
    const p = await applyFault('http-error', {
      status: 429,
      fraction: '100%',
      method: 'GET',
      path: '/items',
    });
    expect((await get('/items/1')).status).toBe(429);
    expect((await get('/other')).status).toBe(200);
    await revertAndCheck(p);
  });

  it('http-delay holds matching requests for the delay; other paths pass at once', async () => {
    const p = await applyFault('http-delay', { delay: '400ms', path: '/items' });
    expect((await toxics())[0]).toMatchObject({
      type: 'http_delay',
      attributes: { delay: 400, path: '/items' },
    });
    const slow = await get('/items/1');
    expect(slow.status).toBe(200);
    expect(slow.ms).toBeGreaterThanOrEqual(390);
    const other = await get('/other');
    expect(other.status).toBe(200);
    expect(other.ms).toBeLessThan(300);
    await revertAndCheck(p);
    expect((await get('/items/1')).ms).toBeLessThan(300);
  });

  it('bandwidth limits throughput to about the rate', async () => {
    const p = await applyFault('bandwidth', { rate: '50KB/s' });
    expect((await toxics())[0]).toMatchObject({ type: 'bandwidth', attributes: { rate: 50 } });
    const g = await get('/?bytes=50000', 5_000);
    expect(g.status).toBe(200);
    expect(g.bytes).toBe(50_000);
    console.log(`bandwidth 50KB/s: 50000 bytes in ${g.ms.toFixed(0)}ms`);
    expect(g.ms).toBeGreaterThan(600); // ~1 s at 50 KB/s
    await revertAndCheck(p);
    const fast = await get('/?bytes=50000');
    expect(fast.bytes).toBe(50_000);
    expect(fast.ms).toBeLessThan(300);
  });

  it('limit-data closes the connection after the byte count', async () => {
    const p = await applyFault('limit-data', { bytes: 1000 });
    const g = await get('/?bytes=20000');
    expect(g.bytes).toBeLessThanOrEqual(1000);
    expect(g.error ?? (g.bytes < 20_000 ? 'short' : undefined)).toBeDefined();
    await revertAndCheck(p);
    expect((await get('/?bytes=20000')).bytes).toBe(20_000);
  });

  it('reset answers with a connection reset', async () => {
    const p = await applyFault('reset', {});
    const g = await get();
    expect(g.status).toBeUndefined();
    expect(g.error).toMatch(/ECONNRESET|socket hang up/);
    await revertAndCheck(p);
  });

  it('timeout (after 0) holds the connection with no data until reverted', async () => {
    const p = await applyFault('timeout', { after: '0ms' });
    const g = await get('/', 700);
    expect(g.error).toBe('TIMEOUT');
    await revertAndCheck(p);
  });

  it('timeout (after 300ms) closes the connection after about that time, with no data', async () => {
    const p = await applyFault('timeout', { after: '300ms' });
    const g = await get('/', 3_000);
    expect(g.status).toBeUndefined();
    expect(g.error).toMatch(/ECONNRESET|socket hang up/);
    expect(g.ms).toBeGreaterThanOrEqual(280);
    await revertAndCheck(p);
  });

  it('two faults on one proxy are separate toxics, reverted one by one', async () => {
    const a = await applyFault('latency', { delay: '100ms' }, 'f1');
    const b = await applyFault('http-error', { status: 500 }, 'f2');
    expect((await toxics()).map((t) => t.name).sort()).toEqual([
      'chaoskit:test-run:f1',
      'chaoskit:test-run:f2',
    ]);
    expect(await revertRecipe(b.recipe)).toBe('reverted');
    expect((await toxics()).map((t) => t.name)).toEqual(['chaoskit:test-run:f1']);
    await revertAndCheck(a);
  });

  it('the manual revert command it prints really removes the toxic', async () => {
    const p = await applyFault('latency', { delay: '50ms' });
    expect(p.manualRevert).toMatch(
      /^curl -X DELETE http:\/\/127\.0\.0\.1:\d+\/proxies\/dep\/toxics\/chaoskit%3Atest-run%3Af1$/,
    );
    // Async: the proxy lives in this process, so a blocking exec would deadlock it.
    await promisify(execFile)('/bin/sh', ['-c', `${p.manualRevert} --silent --fail --max-time 5`]);
    expect(await toxics()).toEqual([]);
  });

  it('fractional milliseconds are rounded to the whole milliseconds toxics take (no apply-time failure)', async () => {
    for (const [type, params, attr] of [
      ['latency', { delay: '10.4ms', jitter: '2.6ms' }, { latency: 10, jitter: 3 }],
      ['jitter', { jitter: '0.5ms' }, { latency: 0, jitter: 1 }],
      ['reset', { after: '1.2ms' }, { timeout: 1 }],
      ['timeout', { after: '1500.5ms' }, { timeout: 1501 }],
      ['slow-close', { delay: '3.3ms' }, { delay: 3 }],
    ] as const) {
      const p = await applyFault(type, params);
      expect((await toxics())[0]?.attributes, type).toEqual(attr);
      await revertRecipe(p.recipe);
    }
  });

  it('validation refuses what the proxy would refuse at apply time', () => {
    const httpError = faultDef('http-error')!;
    expect(httpError.params.safeParse({ status: 150 }).success).toBe(false); // the proxy takes 200..599
    expect(httpError.params.safeParse({ status: 200 }).success).toBe(true);
  });

  it('a revert against a proxy API that is down fails with a clear message', async () => {
    const p = await applyFault('latency', { delay: '50ms' });
    await api.close();
    await expect(revertRecipe(p.recipe)).rejects.toThrow(
      /fault proxy API .* is not reachable \(ECONNREFUSED\)/,
    );
  });
});

/** Parameters for every proxy fault in the registry; a new proxy fault must be added here. */
const PARAMS: Record<string, { params: Record<string, unknown>; toxic: string }> = {
  latency: { params: { delay: '10ms' }, toxic: 'latency' },
  jitter: { params: { jitter: '5ms' }, toxic: 'latency' },
  bandwidth: { params: { rate: '1MB/s' }, toxic: 'bandwidth' },
  partition: { params: {}, toxic: 'partition' },
  reset: { params: { after: '1s' }, toxic: 'reset_peer' },
  timeout: { params: { after: '1s' }, toxic: 'timeout' },
  'slow-close': { params: { delay: '10ms' }, toxic: 'slow_close' },
  slicer: { params: { averageSize: 64, delay: '1ms' }, toxic: 'slicer' },
  'limit-data': { params: { bytes: '1MB' }, toxic: 'limit_data' },
  'http-error': { params: { status: 502, fraction: 0.5 }, toxic: 'http_error' },
  'http-delay': { params: { delay: '50ms', fraction: 0.5 }, toxic: 'http_delay' },
  'grpc-error': { params: { status: 'UNAVAILABLE', fraction: 0.5, method: 'Generate' }, toxic: 'grpc_error' },
  'grpc-delay': { params: { delay: '100ms', method: '/chaoskit.demo.v1.Inference' }, toxic: 'grpc_delay' },
};

describe('every proxy fault in the registry', () => {
  const proxyFaults = Object.entries(faults)
    .filter(([, def]) => 'proxy' in def.on)
    .map(([type]) => type);

  it('has a case here', () => {
    expect(proxyFaults.sort()).toEqual(Object.keys(PARAMS).sort());
  });

  it.each(proxyFaults)(
    '%s adds one marked, leased toxic and reverts it from the recipe alone',
    async (type) => {
      const { params, toxic } = PARAMS[type]!;
      const def = faultDef(type)!;
      const prepared = await def.on.proxy!(ctx('f1'), def.params.parse(params));
      // Preparing only reads: nothing changed yet, and the recipe is already known.
      expect(await toxics()).toEqual([]);
      expect(prepared.recipe).toEqual({
        driver: 'proxy',
        api: api.url,
        proxy: 'dep',
        toxic: 'chaoskit:test-run:f1',
      });
      await prepared.apply();
      const list = await toxics();
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ name: 'chaoskit:test-run:f1', type: toxic, lease_ms: LEASE_MS });
      await revertAndCheck(prepared);
    },
  );
});
