/**
 * Drives the API exactly as stock Toxiproxy clients do, with plain fetch:
 * - Go client (github.com/Shopify/toxiproxy/v2/client): User-Agent toxiproxy-cli, JSON of its
 *   Proxy/Toxic structs (empty strings and `toxics: null` included), Save() = POST the whole
 *   proxy, UpdateToxic = PATCH, ResetState = POST /reset with an empty body; it treats any 2xx
 *   as success, and AddToxic in older versions checks for exactly 200.
 * - Node client (toxiproxy-node-client): createProxy expects 201, addToxic expects 200,
 *   update POSTs {enabled, listen, upstream}, remove expects 204, getVersion returns the body.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { call, cleanup, connect, echoTime, portOf, startApi, startEcho } from './helpers.ts';

afterEach(cleanup);

describe('Go client flow', () => {
  it('create, add toxic, update toxic, list, disable via Save(), reset, delete, populate', async () => {
    const api = await startApi();
    const upstream = `127.0.0.1:${portOf(await startEcho())}`;
    const go = (method: string, path: string, body?: unknown) => call(api.url, method, path, body);

    const version = await go('GET', '/version');
    expect(version.status).toBe(200);
    expect(version.json.version).toMatch(/^2\./);

    // client.CreateProxy(name, listen, upstream) -> proxy.Save() -> POST /proxies
    const created = await go('POST', '/proxies', {
      name: 'redis',
      listen: '127.0.0.1:0',
      upstream,
      enabled: true,
      toxics: null,
    });
    expect(created.status).toBe(201);
    const proxy = created.json;
    const port = Number(proxy.listen.split(':')[1]);

    // proxy.AddToxic("", "latency", "", 1, Attributes{"latency": 100}) marshals every field.
    const added = await go('POST', '/proxies/redis/toxics', {
      name: '',
      type: 'latency',
      stream: '',
      toxicity: 1,
      attributes: { latency: 100 },
    });
    expect(added.status).toBe(200);
    expect(added.json).toMatchObject({ name: 'latency_downstream', stream: 'downstream', toxicity: 1 });
    expect(await echoTime(await connect(port), 'x')).toBeGreaterThanOrEqual(95);

    // proxy.UpdateToxic("latency_downstream", -1, Attributes{"latency": 10}) omits toxicity.
    const updated = await go('PATCH', '/proxies/redis/toxics/latency_downstream', {
      attributes: { latency: 10 },
    });
    expect(updated.json).toMatchObject({ toxicity: 1, attributes: { latency: 10 } });

    // proxy.Toxics() and client.Proxies()
    expect((await go('GET', '/proxies/redis/toxics')).json).toHaveLength(1);
    const all = await go('GET', '/proxies');
    expect(all.json.redis.toxics).toHaveLength(1);

    // proxy.Disable() -> Save() POSTs the whole proxy back, toxics included.
    const disabled = await go('POST', '/proxies/redis', { ...all.json.redis, enabled: false });
    expect(disabled.status).toBe(200);
    expect(disabled.json.enabled).toBe(false);
    expect(disabled.json.toxics).toHaveLength(1); // the toxics field of the body is ignored

    // client.ResetState(): POST /reset, empty body.
    const reset = await call(api.url, 'POST', '/reset', '');
    expect(reset.status).toBe(204);
    const after = (await go('GET', '/proxies/redis')).json;
    expect(after).toMatchObject({ enabled: true, toxics: [] });

    // client.Populate([]Proxy{...}) reads {"proxies": [...]}.
    const populated = await go('POST', '/populate', [
      { name: 'redis', listen: after.listen, upstream, enabled: true, toxics: null },
      { name: 'mysql', listen: '127.0.0.1:0', upstream, enabled: true, toxics: null },
    ]);
    expect(populated.status).toBe(201);
    expect(populated.json.proxies.map((p: { name: string }) => p.name)).toEqual(['redis', 'mysql']);

    // proxy.RemoveToxic / proxy.Delete
    await go('POST', '/proxies/mysql/toxics', {
      name: 't',
      type: 'timeout',
      stream: 'upstream',
      toxicity: 1,
      attributes: { timeout: 0 },
    });
    expect((await go('DELETE', '/proxies/mysql/toxics/t')).status).toBe(204);
    expect((await go('DELETE', '/proxies/mysql')).status).toBe(204);

    // Errors decode into the Go client's ApiError {error, status}.
    const missing = await go('GET', '/proxies/mysql');
    expect(missing.json).toEqual({ error: 'proxy not found: mysql', status: 404 });
  });
});

describe('Node client flow (toxiproxy-node-client)', () => {
  it('uses the status codes that client checks for', async () => {
    const api = await startApi();
    const upstream = `127.0.0.1:${portOf(await startEcho())}`;
    const node = (method: string, path: string, body?: unknown) =>
      call(api.url, method, path, body, { 'user-agent': 'axios/1.7.0' });

    expect((await node('GET', '/version')).text).toContain('2.');
    const created = await node('POST', '/proxies', { name: 'svc', listen: '127.0.0.1:0', upstream });
    expect(created.status).toBe(201);
    const toxic = await node('POST', '/proxies/svc/toxics', {
      name: 'bw',
      type: 'bandwidth',
      stream: 'upstream',
      toxicity: 1,
      attributes: { rate: 1000 },
    });
    expect(toxic.status).toBe(200);
    const upd = await node('POST', '/proxies/svc/toxics/bw', { attributes: { rate: 2000 } });
    expect([upd.status, upd.json.attributes.rate]).toEqual([200, 2000]);
    const saved = await node('POST', '/proxies/svc', {
      enabled: true,
      listen: created.json.listen,
      upstream,
    });
    expect(saved.status).toBe(200);
    expect((await node('GET', '/proxies')).status).toBe(200);
    expect((await node('DELETE', '/proxies/svc/toxics/bw')).status).toBe(204);
    expect((await node('POST', '/reset')).status).toBe(204);
    expect((await node('DELETE', '/proxies/svc')).status).toBe(204);
  });
});
