/** Lease TTLs: a leased toxic removes itself unless renewed. */
import { afterEach, describe, expect, it } from 'vitest';
import { ProxyRegistry } from '../../src/proxy/registry.ts';
import { FakeClock } from './fake-clock.ts';
import {
  call,
  cleanup,
  connect,
  echoTime,
  makeProxy,
  portOf,
  sleep,
  startApi,
  startEcho,
} from './helpers.ts';

afterEach(cleanup);

async function fakeRegistry() {
  const clock = new FakeClock();
  const lines: string[] = [];
  const reg = new ProxyRegistry({ clock, log: (l) => lines.push(l) });
  await reg.createProxy({ name: 'p', upstream: '127.0.0.1:9' });
  return { clock, reg, lines };
}

describe('lease_ms', () => {
  it('shows lease_ms and expires_at, and drops the toxic when the lease runs out', async () => {
    const { clock, reg, lines } = await fakeRegistry();
    const t = reg.addToxic('p', { name: 'chaoskit:lat', type: 'latency', lease_ms: 1000 });
    expect(t.lease_ms).toBe(1000);
    expect(t.expires_at).toBe(new Date(clock.now() + 1000).toISOString());
    clock.advance(999);
    expect(reg.getToxic('p', 'chaoskit:lat')).toBeDefined();
    clock.advance(1);
    expect(reg.getToxic('p', 'chaoskit:lat')).toBeUndefined();
    expect(lines).toContain('lease expired: removed toxic chaoskit:lat from proxy p');
    await reg.close();
  });

  it('renew restarts the lease (same length, or a new one)', async () => {
    const { clock, reg } = await fakeRegistry();
    reg.addToxic('p', { name: 'x', type: 'latency', lease_ms: 1000 });
    clock.advance(800);
    reg.renewToxic('p', 'x');
    clock.advance(800);
    expect(reg.getToxic('p', 'x')).toBeDefined();
    expect(reg.renewToxic('p', 'x', 5000).lease_ms).toBe(5000);
    clock.advance(4999);
    expect(reg.getToxic('p', 'x')).toBeDefined();
    clock.advance(1);
    expect(reg.getToxic('p', 'x')).toBeUndefined();
    expect(clock.pending).toBe(0);
    await reg.close();
  });

  it('an update carrying lease_ms renews; attributes.lease_ms is accepted for stock clients', async () => {
    const { clock, reg } = await fakeRegistry();
    const t = reg.addToxic('p', { name: 'x', type: 'latency', attributes: { latency: 5, lease_ms: 1000 } });
    expect(t.lease_ms).toBe(1000);
    expect(t.attributes).toEqual({ latency: 5, jitter: 0 });
    clock.advance(900);
    reg.updateToxic('p', 'x', { lease_ms: 1000, attributes: { latency: 7 } });
    clock.advance(900);
    expect(reg.getToxic('p', 'x')?.attributes).toEqual({ latency: 7, jitter: 0 });
    clock.advance(100);
    expect(reg.getToxic('p', 'x')).toBeUndefined();
    await reg.close();
  });

  it('a removed and re-added toxic is not dropped by the old lease; no lease means no timer', async () => {
    const { clock, reg } = await fakeRegistry();
    reg.addToxic('p', { name: 'x', type: 'latency', lease_ms: 100 });
    reg.removeToxic('p', 'x');
    reg.addToxic('p', { name: 'x', type: 'latency' });
    expect(clock.pending).toBe(0);
    clock.advance(1000);
    expect(reg.getToxic('p', 'x')).toBeDefined();
    await reg.close();
  });

  it('rejects bad leases and renewing without one', async () => {
    const { reg } = await fakeRegistry();
    expect(() => reg.addToxic('p', { type: 'latency', lease_ms: -5 })).toThrow(
      'bad request body: lease_ms must be a whole number of milliseconds between 1 and 2147483647',
    );
    reg.addToxic('p', { name: 'x', type: 'latency' });
    expect(() => reg.renewToxic('p', 'x')).toThrow(
      'bad request body: toxic x has no lease; pass lease_ms to give it one',
    );
    expect(() => reg.renewToxic('p', 'y')).toThrow('toxic not found: y');
    await reg.close();
  });
});

describe('lease over HTTP, in real time', () => {
  it('POST .../renew keeps it; then it expires and latency stops', async () => {
    const api = await startApi();
    const port = await makeProxy(api, 'echo', portOf(await startEcho()));
    const add = await call(api.url, 'POST', '/proxies/echo/toxics', {
      name: 'chaoskit:lat',
      type: 'latency',
      attributes: { latency: 200 },
      lease_ms: 600,
    });
    expect(add.status).toBe(200);
    const s = await connect(port);
    expect(await echoTime(s, 'slow')).toBeGreaterThanOrEqual(195);
    await sleep(150);
    const renewedAt = performance.now();
    const renew = await call(api.url, 'POST', '/proxies/echo/toxics/chaoskit:lat/renew', { lease_ms: 600 });
    expect(renew.status).toBe(200);
    expect(renew.json.lease_ms).toBe(600);
    await sleep(500); // past the first lease's end, inside the renewed one
    expect((await call(api.url, 'GET', '/proxies/echo/toxics/chaoskit:lat')).status).toBe(200);
    await sleep(Math.max(0, 700 - (performance.now() - renewedAt)));
    expect((await call(api.url, 'GET', '/proxies/echo/toxics/chaoskit:lat')).status).toBe(404);
    expect(await echoTime(s, 'fast')).toBeLessThan(150);
    expect((await call(api.url, 'POST', '/proxies/echo/toxics/none/renew')).status).toBe(404);
  });
});
