/**
 * Fuzz: generated bodies for the fault proxy's Toxiproxy-compatible API (create and update
 * proxies, add and update toxics, /populate), sent over real HTTP to `chaos proxy`'s server on
 * loopback. Each answer must be a 2xx, or a 4xx with a JSON error saying what was wrong — never a
 * 5xx, never a hang over 5 s — and the server must keep answering afterwards.
 * Every listen address stays on loopback (a generated one that is not becomes 127.0.0.1:0).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { freePort } from '../helpers/cli.ts';
import { int, mutateText, mutateValue, pick, prng, type Rand } from './generate.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const CASE_MS = 5_000;

let server: ProxyServer;
let closedPort: number;

beforeAll(async () => {
  server = await startProxyServer({ port: 0 });
  closedPort = await freePort(); // nothing listens there: upstreams are never reached anyway
  const r = await send('POST', '/proxies', JSON.stringify(proxyBody('base')));
  expect(r.status).toBe(201);
  const t = await send('POST', '/proxies/base/toxics', JSON.stringify(TOXICS[0]));
  expect(t.status).toBe(200);
});
afterAll(async () => {
  await server?.close();
});

const proxyBody = (name: string) => ({
  name,
  listen: '127.0.0.1:0',
  upstream: `127.0.0.1:${closedPort}`,
  enabled: true,
});
const TOXICS: Record<string, unknown>[] = [
  {
    name: 'lat',
    type: 'latency',
    stream: 'downstream',
    toxicity: 1,
    attributes: { latency: 100, jitter: 10 },
  },
  { name: 'bw', type: 'bandwidth', stream: 'upstream', toxicity: 0.5, attributes: { rate: 100 } },
  { name: 'sc', type: 'slow_close', attributes: { delay: 100 } },
  { name: 'to', type: 'timeout', attributes: { timeout: 100 } },
  { name: 'rp', type: 'reset_peer', attributes: { timeout: 0 } },
  { name: 'sl', type: 'slicer', attributes: { average_size: 10, size_variation: 5, delay: 10 } },
  { name: 'ld', type: 'limit_data', attributes: { bytes: 1000 } },
  { name: 'pt', type: 'partition', attributes: { mode: 'refuse' } },
  { name: 'he', type: 'http_error', attributes: { status: 503, fraction: 0.5 } },
  { name: 'hd', type: 'http_delay', attributes: { delay: 100 } },
];

async function send(
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; text: string; ms: number }> {
  const t = performance.now();
  const res = await fetch(`${server.url}${path}`, {
    method,
    body,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(CASE_MS),
  });
  return { status: res.status, text: await res.text(), ms: performance.now() - t };
}

/** Keeps a generated listen address on loopback (or leaves it invalid). */
function loopbackOnly(body: unknown): unknown {
  const fix = (b: Record<string, unknown>) => {
    if (
      typeof b.listen === 'string' &&
      /:\d+\s*$/.test(b.listen) &&
      !/^\s*(127\.0\.0\.1|localhost|\[::1\]):/.test(b.listen)
    )
      b.listen = '127.0.0.1:0';
  };
  if (Array.isArray(body))
    body.forEach((b) => b && typeof b === 'object' && fix(b as Record<string, unknown>));
  else if (body && typeof body === 'object') fix(body as Record<string, unknown>);
  return body;
}

interface Request {
  name: string;
  method: string;
  path: string;
  body: string;
}

function cases(r: Rand, n: number): Request[] {
  return Array.from({ length: n }, (_, i) => {
    const kind = int(r, 0, 4);
    let method = 'POST';
    let path: string;
    let base: unknown;
    if (kind === 0) {
      path = '/proxies';
      base = proxyBody(`p${i}`);
    } else if (kind === 1) {
      path = '/proxies/base';
      base = { enabled: r() < 0.5, upstream: `127.0.0.1:${closedPort}` };
    } else if (kind === 2) {
      path = '/proxies/base/toxics';
      base = { ...pick(r, TOXICS), name: `t${i}` };
    } else if (kind === 3) {
      path = '/proxies/base/toxics/lat';
      base = { toxicity: 0.5, attributes: { latency: 50 } };
    } else {
      path = '/populate';
      base = [proxyBody(`q${i}`), proxyBody(`base`)];
    }
    let v = base;
    for (let k = int(r, 1, 3); k > 0; k--) v = mutateValue(r, v);
    let body = JSON.stringify(loopbackOnly(v));
    if (r() < 0.2) body = mutateText(r, body);
    if (r() < 0.03) method = pick(r, ['PUT', 'PATCH']);
    return { name: `${method} ${path} #${i} (seed ${SEED})`, method, path, body };
  });
}

describe(`fuzz (seed ${SEED}): fault proxy API bodies over HTTP`, () => {
  it('each answer is 2xx, or 4xx with a JSON error; never 5xx, never over 5 s; the server lives on', async () => {
    const failures: string[] = [];
    const statuses: Record<number, number> = {};
    for (const c of cases(prng(SEED + 20), 200)) {
      let res;
      try {
        res = await send(c.method, c.path, c.body);
      } catch (err) {
        failures.push(`${c.name}: ${(err as Error).message}`);
        continue;
      }
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status >= 500)
        failures.push(`${c.name}: ${res.status} ${res.text.slice(0, 200)} for ${c.body.slice(0, 120)}`);
      else if (res.status >= 400) {
        let msg = '';
        try {
          msg = (JSON.parse(res.text) as { error?: string }).error ?? '';
        } catch {
          msg = '';
        }
        if (!msg.trim())
          failures.push(`${c.name}: ${res.status} without a JSON error message: ${res.text.slice(0, 120)}`);
      }
      if (res.ms > CASE_MS) failures.push(`${c.name}: took ${Math.round(res.ms)} ms`);
    }
    expect((await send('GET', '/version')).status).toBe(200);
    expect(failures).toEqual([]);
    expect(statuses[400] ?? 0).toBeGreaterThan(30); // the mutations do break bodies
  }, 180_000);

  it('an update answered 409 leaves the proxy as it was', async () => {
    const a = await send('POST', '/proxies', JSON.stringify(proxyBody('conflict-a')));
    const b = await send('POST', '/proxies', JSON.stringify(proxyBody('conflict-b')));
    const taken = (JSON.parse(a.text) as { listen: string }).listen;
    const before = JSON.parse(b.text) as { listen: string; enabled: boolean };
    expect((await send('POST', '/proxies/conflict-b', JSON.stringify({ listen: taken }))).status).toBe(409);
    const after = JSON.parse((await send('GET', '/proxies/conflict-b')).text) as typeof before;
    expect({ listen: after.listen, enabled: after.enabled }).toEqual({
      listen: before.listen,
      enabled: true,
    });
  });
});
