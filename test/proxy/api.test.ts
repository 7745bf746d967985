/** Every API endpoint and status code, with the exact messages. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProxyServer } from '../../src/proxy/server.ts';
import { call, cleanup, connect, echoTime, outcome, portOf, startApi, startEcho } from './helpers.ts';

let api: ProxyServer;
let upstream: string;
const req = (method: string, path: string, body?: unknown) => call(api.url, method, path, body);

beforeEach(async () => {
  api = await startApi();
  upstream = `127.0.0.1:${portOf(await startEcho())}`;
});
afterEach(cleanup);

const create = (name = 'db', extra: Record<string, unknown> = {}) =>
  req('POST', '/proxies', { name, listen: '127.0.0.1:0', upstream, ...extra });

describe('GET /version', () => {
  it('answers JSON like current Toxiproxy, or text when only text is accepted', async () => {
    const r = await req('GET', '/version');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ version: '2.6.0', server: 'chaoskit' });
    const t = await call(api.url, 'GET', '/version', undefined, { accept: 'text/plain' });
    expect(t.text).toBe('2.6.0\n');
    expect(t.headers.get('content-type')).toMatch(/text\/plain/);
  });
});

describe('/proxies', () => {
  it('POST creates (201) with the real listen address; GET lists a map by name', async () => {
    const r = await create();
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ name: 'db', upstream, enabled: true, toxics: [] });
    expect(r.json.listen).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(r.json.listen).not.toBe('127.0.0.1:0');
    const list = await req('GET', '/proxies');
    expect(list.status).toBe(200);
    expect(Object.keys(list.json)).toEqual(['db']);
    expect(list.json.db.listen).toBe(r.json.listen);
  });

  it('defaults listen to an ephemeral loopback port and enabled to true', async () => {
    const r = await req('POST', '/proxies', { name: 'x', upstream });
    expect(r.status).toBe(201);
    expect(r.json.listen).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
    expect(r.json.enabled).toBe(true);
  });

  it('accepts the fields the Go client sends (toxics: null)', async () => {
    const r = await req('POST', '/proxies', {
      name: 'go',
      listen: '127.0.0.1:0',
      upstream,
      enabled: true,
      toxics: null,
    });
    expect(r.status).toBe(201);
  });

  it('409 when the name exists', async () => {
    await create();
    const r = await create();
    expect(r.status).toBe(409);
    expect(r.json).toEqual({ error: 'proxy already exists: db', status: 409 });
  });

  it('400 for missing name or upstream, and for bad addresses', async () => {
    expect((await req('POST', '/proxies', { upstream })).json).toEqual({
      error: 'missing required field: name',
      status: 400,
    });
    expect((await req('POST', '/proxies', { name: 'a' })).json).toEqual({
      error: 'missing required field: upstream',
      status: 400,
    });
    const bad = await req('POST', '/proxies', { name: 'a', upstream: 'nohost' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe('bad request body: upstream "nohost" is not a valid "host:port" address');
    const badListen = await req('POST', '/proxies', { name: 'a', upstream, listen: '127.0.0.1:99999' });
    expect(badListen.status).toBe(400);
    const slash = await req('POST', '/proxies', { name: 'a/b', upstream });
    expect(slash.status).toBe(400);
    expect(slash.json.error).toMatch(/without \/ or control characters/);
  });

  it('409 when the listen port is taken', async () => {
    const first = await create('one');
    const r = await req('POST', '/proxies', { name: 'two', listen: first.json.listen, upstream });
    expect(r.status).toBe(409);
    expect(r.json.error).toMatch(/^proxy two: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    expect((await req('GET', '/proxies/two')).status).toBe(404);
  });
});

describe('/proxies/{name}', () => {
  it('GET shows one proxy; 404 with a message when missing', async () => {
    await create();
    expect((await req('GET', '/proxies/db')).json.name).toBe('db');
    expect(await req('GET', '/proxies/nope').then((r) => [r.status, r.json])).toEqual([
      404,
      { error: 'proxy not found: nope', status: 404 },
    ]);
  });

  it('POST and PATCH update; disabling closes the listener and open connections', async () => {
    const created = await create();
    const port = Number(created.json.listen.split(':')[1]);
    const s = await connect(port);
    expect(await echoTime(s, 'hi')).toBeLessThan(1000);
    const closed = outcome(s);
    const off = await req('POST', '/proxies/db', { enabled: false });
    expect(off.status).toBe(200);
    expect(off.json.enabled).toBe(false);
    expect((await closed).how).not.toBe('timeout');
    await expect(connect(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const on = await req('PATCH', '/proxies/db', { enabled: true });
    expect(on.json).toMatchObject({ enabled: true, listen: created.json.listen });
    expect(await echoTime(await connect(port), 'again')).toBeLessThan(1000);
  });

  it('changing listen rebinds; a Go-client Save() body (full proxy JSON) is accepted', async () => {
    const created = await create();
    const moved = await req('POST', '/proxies/db', { listen: '127.0.0.1:0' });
    expect(moved.status).toBe(200);
    expect(moved.json.listen).not.toBe(created.json.listen);
    const save = await req('POST', '/proxies/db', { ...moved.json, toxics: [] });
    expect(save.json.listen).toBe(moved.json.listen);
  });

  it('an update answered 409 (listen address taken) leaves the proxy enabled on its old listener', async () => {
    const created = await create();
    const port = Number(created.json.listen.split(':')[1]);
    const open = await connect(port);
    expect(await echoTime(open, 'before')).toBeLessThan(1000);
    const other = await create('other');
    const r = await req('POST', '/proxies/db', { listen: other.json.listen, upstream: '127.0.0.1:1' });
    expect(r.status).toBe(409);
    expect(r.json.error).toMatch(/^proxy db: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    const after = await req('GET', '/proxies/db');
    expect(after.json).toMatchObject({ enabled: true, listen: created.json.listen, upstream });
    expect(await echoTime(open, 'still open')).toBeLessThan(1000);
    expect(await echoTime(await connect(port), 'new')).toBeLessThan(1000);
  });

  it('a refused re-enable leaves the proxy disabled with its address; a bad body changes nothing', async () => {
    const created = await create();
    const port = Number(created.json.listen.split(':')[1]);
    await req('POST', '/proxies/db', { enabled: false });
    const squatter = await startEcho(); // takes the freed port (or another one: then nothing to test)
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', () => resolve()));
    const r = await req('POST', '/proxies/db', { enabled: true });
    expect(r.status).toBe(409);
    expect((await req('GET', '/proxies/db')).json).toMatchObject({
      enabled: false,
      listen: created.json.listen,
    });
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
    const on = await req('POST', '/proxies/db', { enabled: true, upstream: 'nonsense' });
    expect(on.status).toBe(400);
    expect((await req('GET', '/proxies/db')).json).toMatchObject({ enabled: false, upstream });
  });

  it('a changed upstream closes open connections and keeps the listener', async () => {
    const created = await create();
    const port = Number(created.json.listen.split(':')[1]);
    const s = await connect(port);
    expect(await echoTime(s, 'x')).toBeLessThan(1000);
    const closed = outcome(s);
    const other = `127.0.0.1:${portOf(await startEcho())}`;
    const r = await req('POST', '/proxies/db', { upstream: other });
    expect(r.json).toMatchObject({ enabled: true, listen: created.json.listen, upstream: other });
    expect((await closed).how).not.toBe('timeout');
    expect(await echoTime(await connect(port), 'y')).toBeLessThan(1000);
  });

  it('moving to the same port on another host name of this machine works (the old listener makes way)', async () => {
    const created = await create();
    const port = Number(created.json.listen.split(':')[1]);
    const r = await req('POST', '/proxies/db', { listen: `localhost:${port}` });
    expect(r.status).toBe(200);
    expect(r.json.enabled).toBe(true);
    expect(Number(r.json.listen.split(':').pop())).toBe(port);
  });

  it('400 for a bad update, 404 for a missing proxy', async () => {
    await create();
    const bad = await req('POST', '/proxies/db', { enabled: 'yes' });
    expect(bad.json).toEqual({ error: 'bad request body: enabled must be true or false', status: 400 });
    expect((await req('POST', '/proxies/none', { enabled: false })).status).toBe(404);
  });

  it('DELETE removes (204), then 404', async () => {
    await create();
    const r = await req('DELETE', '/proxies/db');
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    expect((await req('DELETE', '/proxies/db')).status).toBe(404);
  });
});

describe('POST /populate', () => {
  it('creates, keeps identical ones, replaces changed ones (201 {proxies})', async () => {
    const first = await req('POST', '/populate', [
      { name: 'a', listen: '127.0.0.1:0', upstream },
      { name: 'b', listen: '127.0.0.1:0', upstream, enabled: false },
    ]);
    expect(first.status).toBe(201);
    expect(first.json.proxies.map((p: { name: string; enabled: boolean }) => [p.name, p.enabled])).toEqual([
      ['a', true],
      ['b', false],
    ]);
    await req('POST', '/proxies/a/toxics', { type: 'latency', attributes: { latency: 5 } });
    const again = await req('POST', '/populate', [
      { name: 'a', listen: '127.0.0.1:0', upstream },
      { name: 'b', listen: '127.0.0.1:0', upstream: '127.0.0.1:1' },
    ]);
    expect(again.status).toBe(201);
    const [a, b] = again.json.proxies;
    expect(a.listen).toBe(first.json.proxies[0].listen);
    expect(a.toxics).toHaveLength(1); // kept as it was
    expect(b.upstream).toBe('127.0.0.1:1'); // replaced
  });

  it('400 for a non-array, a missing field (naming the entry) or duplicate names; nothing applied', async () => {
    expect((await req('POST', '/populate', { name: 'a' })).json).toEqual({
      error: 'bad request body: expected a json array of proxies',
      status: 400,
    });
    expect((await req('POST', '/populate', [{ name: 'a', upstream }, { name: 'b' }])).json).toEqual({
      error: 'missing required field: upstream at proxy 2',
      status: 400,
    });
    const dup = await req('POST', '/populate', [
      { name: 'a', upstream },
      { name: 'a', upstream },
    ]);
    expect(dup.json.error).toBe('bad request body: duplicate proxy name "a"');
    expect((await req('GET', '/proxies')).json).toEqual({});
  });
});

describe('/proxies/{name}/toxics', () => {
  beforeEach(async () => {
    await create();
  });

  it('POST adds a toxic with Toxiproxy defaults (200, name type_stream, downstream, toxicity 1)', async () => {
    const r = await req('POST', '/proxies/db/toxics', { type: 'latency', attributes: { latency: 10 } });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      name: 'latency_downstream',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 10, jitter: 0 },
    });
    expect((await req('GET', '/proxies/db/toxics')).json).toEqual([r.json]);
    expect((await req('GET', '/proxies/db')).json.toxics).toEqual([r.json]);
  });

  it('409 for a duplicate name, 404 for a missing proxy', async () => {
    await req('POST', '/proxies/db/toxics', { type: 'latency', stream: 'upstream' });
    const dup = await req('POST', '/proxies/db/toxics', { type: 'latency', stream: 'upstream' });
    expect(dup.json).toEqual({ error: 'toxic already exists: latency_upstream', status: 409 });
    expect((await req('POST', '/proxies/nope/toxics', { type: 'latency' })).json).toEqual({
      error: 'proxy not found: nope',
      status: 404,
    });
    expect((await req('GET', '/proxies/nope/toxics')).status).toBe(404);
  });

  it('400 for an unknown type, a bad stream, bad toxicity and bad attributes', async () => {
    const unknown = await req('POST', '/proxies/db/toxics', { type: 'explode' });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatch(/^invalid toxic type: "explode" \(known: noop, latency, /);
    expect((await req('POST', '/proxies/db/toxics', { type: 'latency', stream: 'sideways' })).json).toEqual({
      error: 'stream was invalid, can be either upstream or downstream',
      status: 400,
    });
    expect((await req('POST', '/proxies/db/toxics', { type: 'latency', toxicity: 2 })).json.error).toBe(
      'bad request body: toxicity must be a number from 0 to 1, got 2',
    );
    expect(
      (await req('POST', '/proxies/db/toxics', { type: 'latency', attributes: { latency: 'slow' } })).json
        .error,
    ).toBe('bad request body: attributes.latency must be a number, got "slow"');
    expect(
      (await req('POST', '/proxies/db/toxics', { type: 'latency', attributes: { latency: -1 } })).json.error,
    ).toBe('bad request body: attributes.latency must be at least 0, got -1');
    expect((await req('POST', '/proxies/db/toxics', { type: 'slicer', attributes: {} })).json.error).toBe(
      'bad request body: attributes.average_size must be at least 1, got 0',
    );
    expect(
      (await req('POST', '/proxies/db/toxics', { type: 'partition', attributes: { mod: 'x' } })).json.error,
    ).toBe('bad request body: unknown attribute mod (known: mode)');
    expect((await req('GET', '/proxies/db/toxics')).json).toEqual([]);
  });

  it('Toxiproxy types ignore unknown attributes, as Toxiproxy does', async () => {
    const r = await req('POST', '/proxies/db/toxics', {
      type: 'latency',
      attributes: { latency: 1, extra: 2 },
    });
    expect(r.status).toBe(200);
    expect(r.json.attributes).toEqual({ latency: 1, jitter: 0 });
  });
});

describe('/proxies/{name}/toxics/{toxic}', () => {
  beforeEach(async () => {
    await create();
    await req('POST', '/proxies/db/toxics', {
      name: 'slow',
      type: 'latency',
      attributes: { latency: 10, jitter: 2 },
    });
  });

  it('GET shows it; 404 for a missing toxic', async () => {
    expect((await req('GET', '/proxies/db/toxics/slow')).json.attributes).toEqual({ latency: 10, jitter: 2 });
    expect((await req('GET', '/proxies/db/toxics/none')).json).toEqual({
      error: 'toxic not found: none',
      status: 404,
    });
  });

  it('POST/PATCH merge attributes and keep toxicity unless given', async () => {
    const r = await req('POST', '/proxies/db/toxics/slow', { attributes: { latency: 50 } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ toxicity: 1, attributes: { latency: 50, jitter: 2 } });
    const p = await req('PATCH', '/proxies/db/toxics/slow', { toxicity: 0.5 });
    expect(p.json).toMatchObject({ toxicity: 0.5, attributes: { latency: 50, jitter: 2 } });
    const bad = await req('PATCH', '/proxies/db/toxics/slow', { attributes: { jitter: 'x' } });
    expect(bad.status).toBe(400);
    expect((await req('GET', '/proxies/db/toxics/slow')).json.attributes).toEqual({ latency: 50, jitter: 2 });
    expect((await req('PATCH', '/proxies/db/toxics/none', {})).status).toBe(404);
  });

  it('DELETE removes (204), then 404', async () => {
    expect((await req('DELETE', '/proxies/db/toxics/slow')).status).toBe(204);
    expect((await req('DELETE', '/proxies/db/toxics/slow')).json).toEqual({
      error: 'toxic not found: slow',
      status: 404,
    });
  });

  it('names with ":" (chaoskit ownership marks) and percent-encoding work in paths', async () => {
    const r = await req('POST', '/proxies/db/toxics', { name: 'chaoskit:run-1:lat', type: 'latency' });
    expect(r.status).toBe(200);
    expect((await req('GET', '/proxies/db/toxics/chaoskit:run-1:lat')).status).toBe(200);
    expect(
      (await req('DELETE', `/proxies/db/toxics/${encodeURIComponent('chaoskit:run-1:lat')}`)).status,
    ).toBe(204);
  });
});

describe('POST /reset', () => {
  it('removes every toxic and enables every proxy (204)', async () => {
    await create('a');
    await create('b', { enabled: false });
    await req('POST', '/proxies/a/toxics', { type: 'latency' });
    const r = await req('POST', '/reset');
    expect(r.status).toBe(204);
    const all = (await req('GET', '/proxies')).json;
    expect(all.a.toxics).toEqual([]);
    expect(all.b.enabled).toBe(true);
  });
});

describe('routing', () => {
  it('404 for unknown paths, 405 for a wrong method, 403 for browsers', async () => {
    expect((await req('GET', '/nothing')).json).toEqual({ error: 'not found: /nothing', status: 404 });
    expect((await req('PUT', '/proxies')).json).toEqual({
      error: 'method PUT not allowed on /proxies',
      status: 405,
    });
    const browser = await call(api.url, 'GET', '/proxies', undefined, { 'user-agent': 'Mozilla/5.0' });
    expect(browser.status).toBe(403);
  });

  it('GET /chaoskit lists the extensions apart from the Toxiproxy toxics', async () => {
    const r = await req('GET', '/chaoskit');
    expect(r.json.toxics).toEqual([
      'noop',
      'latency',
      'bandwidth',
      'slow_close',
      'timeout',
      'reset_peer',
      'slicer',
      'limit_data',
    ]);
    expect(r.json.extension_toxics).toEqual([
      'partition',
      'http_error',
      'http_delay',
      'grpc_error',
      'grpc_delay',
    ]);
  });

  it('POST /chaoskit/remove-toxics removes by name prefix across proxies', async () => {
    await create('a');
    await create('b');
    await req('POST', '/proxies/a/toxics', { name: 'chaoskit:1', type: 'latency' });
    await req('POST', '/proxies/b/toxics', { name: 'chaoskit:2', type: 'latency' });
    await req('POST', '/proxies/b/toxics', { name: 'mine', type: 'latency' });
    const r = await req('POST', '/chaoskit/remove-toxics', { prefix: 'chaoskit:' });
    expect(r.json.removed).toEqual([
      { proxy: 'a', toxic: 'chaoskit:1' },
      { proxy: 'b', toxic: 'chaoskit:2' },
    ]);
    expect((await req('GET', '/proxies/b/toxics')).json.map((t: { name: string }) => t.name)).toEqual([
      'mine',
    ]);
    expect((await req('POST', '/chaoskit/remove-toxics', {})).status).toBe(400);
  });
});
