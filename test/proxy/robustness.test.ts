/** Bad API input, abrupt disconnects under load, and byte integrity while toxics come and go. */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  call,
  cleanup,
  connect,
  echoTime,
  makeProxy,
  outcome,
  portOf,
  readBytes,
  sleep,
  startApi,
  startEcho,
  startTcp,
} from './helpers.ts';

afterEach(cleanup);

describe('malformed API input', () => {
  it('answers 400 with a message and keeps serving', async () => {
    const api = await startApi();
    await api.registry.createProxy({ name: 'p', upstream: '127.0.0.1:9' });
    const cases: Array<[string, string, string]> = [
      ['POST', '/proxies', '{"name": "x",'],
      ['POST', '/proxies', '[1, 2]'],
      ['POST', '/proxies', ''],
      ['POST', '/populate', 'null'],
      ['POST', '/proxies/p/toxics', '{not json}'],
      ['POST', '/proxies/p/toxics', '"latency"'],
      ['POST', '/proxies/p/toxics', '{"type": "latency", "attributes": [1]}'],
      ['POST', '/proxies/p/toxics', '{"type": "http_error", "attributes": {"path_regex": "("}}'],
      ['POST', '/proxies/p/toxics', '{"type": "http_error", "attributes": {"status": 99}}'],
      ['PATCH', '/proxies/p/toxics/none', '{'],
    ];
    for (const [method, path, body] of cases) {
      const r = await call(api.url, method, path, body);
      expect(r.status, `${method} ${path} ${body}`).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(typeof r.json.error).toBe('string');
      expect(r.json.status).toBe(r.status);
    }
    const bad = await call(api.url, 'POST', '/proxies', '{"name": "x",');
    expect(bad.json.error).toMatch(/^bad request body: /);
    expect(
      (
        await call(
          api.url,
          'POST',
          '/proxies/p/toxics',
          '{"type": "http_error", "attributes": {"path_regex": "("}}',
        )
      ).json.error,
    ).toMatch(/^bad request body: attributes\.path_regex is not a valid regular expression/);
    expect((await call(api.url, 'GET', '/version')).status).toBe(200);
    expect(api.registry.listToxics('p')).toEqual([]);
  });

  it('413 for an oversized body; garbage and half-sent requests do not hurt the server', async () => {
    const api = await startApi();
    const big = await call(
      api.url,
      'POST',
      '/proxies',
      JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }),
    );
    expect(big.status).toBe(413);
    const port = Number(new URL(api.url).port);
    const garbage = await connect(port);
    garbage.write('\x00\x01\x02 not http at all\r\n\r\n');
    expect((await outcome(garbage)).how).not.toBe('timeout');
    for (let i = 0; i < 20; i++) {
      const half = await connect(port);
      half.write('POST /proxies HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{"na');
      if (i % 2) half.resetAndDestroy();
      else half.destroy();
    }
    await sleep(50);
    expect((await call(api.url, 'GET', '/version')).status).toBe(200);
  });
});

describe('abrupt disconnects under load', () => {
  it('survives clients resetting and closing mid-transfer, with toxics on', async () => {
    const api = await startApi();
    const port = await makeProxy(api, 'echo', portOf(await startEcho()));
    api.registry.addToxic('echo', { type: 'latency', attributes: { latency: 5, jitter: 5 } });
    api.registry.addToxic('echo', { type: 'bandwidth', stream: 'upstream', attributes: { rate: 10_000 } });
    const rounds = Array.from({ length: 150 }, async (_, i) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => {});
      await new Promise((r) => s.once('connect', r));
      s.write(Buffer.alloc(8192 + i * 64, i));
      await sleep(i % 7);
      if (i % 3 === 0) s.resetAndDestroy();
      else if (i % 3 === 1) s.destroy();
      else s.end();
    });
    await Promise.all(rounds);
    // The proxy still works, and lets go of every connection.
    const s = await connect(port);
    expect(await echoTime(s, 'still here')).toBeLessThan(2000);
    s.destroy();
    // A live connection may remain from `end()` rounds until the echo server closes; wait it out.
    for (let i = 0; i < 100 && api.registry.connectionCount() > 0; i++) await sleep(20);
    expect(api.registry.connectionCount('echo')).toBe(0);
  });

  it('an upstream reset reaches the client as a reset; a dead upstream closes the client', async () => {
    const resetting = await startTcp((sock) => sock.once('data', () => sock.resetAndDestroy()));
    const api = await startApi();
    const port = await makeProxy(api, 'rst', portOf(resetting));
    const s = await connect(port);
    s.write('x');
    expect((await outcome(s)).how).toBe('ECONNRESET');

    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const deadPort = portOf(closed);
    await new Promise((r) => closed.close(r));
    const port2 = await makeProxy(api, 'dead', deadPort);
    const s2 = net.connect({ host: '127.0.0.1', port: port2 });
    s2.on('error', () => {});
    expect((await outcome(s2)).how).not.toBe('timeout');
    expect((await call(api.url, 'GET', '/version')).status).toBe(200);
  });
});

describe('integrity while toxics come and go', () => {
  it('a long stream arrives byte for byte while toxics are added, updated and removed', async () => {
    const api = await startApi();
    const port = await makeProxy(api, 'echo', portOf(await startEcho()));
    const s = await connect(port);
    const total = 8 * 1024 * 1024;
    const payload = Buffer.alloc(total);
    for (let i = 0; i < total; i++) payload[i] = (i * 31 + (i >> 11)) & 0xff;
    const back = readBytes(s, total, 20_000);
    let sent = 0;
    const writer = (async () => {
      while (sent < total) {
        const part = payload.subarray(sent, sent + 16 * 1024);
        sent += part.length;
        if (!s.write(part)) await new Promise((r) => s.once('drain', r));
        if (sent % (128 * 1024) === 0) await sleep(1); // pace it so toxics change mid-stream
      }
    })();
    const reg = api.registry;
    let rounds = 0;
    for (; rounds < 10 && sent < total; rounds++) {
      reg.addToxic('echo', { name: 'lat', type: 'latency', attributes: { latency: 3, jitter: 2 } });
      await sleep(5);
      reg.addToxic('echo', {
        name: 'bw',
        type: 'bandwidth',
        stream: 'upstream',
        attributes: { rate: 50_000 },
      });
      reg.addToxic('echo', {
        name: 'sl',
        type: 'slicer',
        attributes: { average_size: 700, size_variation: 300 },
      });
      await sleep(5);
      reg.updateToxic('echo', 'lat', { attributes: { latency: 1 } });
      reg.removeToxic('echo', 'bw');
      await sleep(5);
      reg.removeToxic('echo', 'lat');
      reg.removeToxic('echo', 'sl');
      await sleep(5);
    }
    await writer;
    expect((await back).equals(payload)).toBe(true);
    expect(rounds).toBeGreaterThanOrEqual(3); // toxics really changed while bytes flowed
  });
});
