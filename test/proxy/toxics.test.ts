/** Each Toxiproxy toxic through a real proxy, a real upstream and real sockets on loopback. */
import { afterEach, describe, expect, it } from 'vitest';
import {
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

async function echoProxy(name = 'echo') {
  const api = await startApi();
  const echo = await startEcho();
  const port = await makeProxy(api, name, portOf(echo));
  return { api, port };
}

describe('no toxics', () => {
  it('forwards bytes both ways unchanged, and a half-close', async () => {
    const { port } = await echoProxy();
    const s = await connect(port);
    const payload = Buffer.alloc(256 * 1024, 7);
    const got = readBytes(s, payload.length);
    s.write(payload);
    expect((await got).equals(payload)).toBe(true);
    s.end();
    expect((await outcome(s)).how).toBe('end');
  });
});

describe('latency', () => {
  it('adds latency to data after it is added, and stops when removed', async () => {
    const { api, port } = await echoProxy();
    const s = await connect(port);
    expect(await echoTime(s, 'warm')).toBeLessThan(100);
    api.registry.addToxic('echo', { type: 'latency', attributes: { latency: 200 } });
    const slow = await echoTime(s, 'slow');
    expect(slow).toBeGreaterThanOrEqual(195);
    expect(slow).toBeLessThan(350);
    api.registry.removeToxic('echo', 'latency_downstream');
    expect(await echoTime(s, 'fast')).toBeLessThan(100);
  });

  it('latency on both streams adds up, jitter stays within bounds', async () => {
    const { api, port } = await echoProxy();
    api.registry.addToxic('echo', {
      type: 'latency',
      stream: 'upstream',
      attributes: { latency: 60, jitter: 20 },
    });
    api.registry.addToxic('echo', { type: 'latency', stream: 'downstream', attributes: { latency: 60 } });
    const s = await connect(port);
    const t = await echoTime(s, 'x');
    expect(t).toBeGreaterThanOrEqual(95); // a single 60 ms toxic could not reach this
    expect(t).toBeLessThan(300);
  });

  it('removing a latency toxic releases held data at once, in order', async () => {
    const { api, port } = await echoProxy();
    const s = await connect(port);
    api.registry.addToxic('echo', { type: 'latency', attributes: { latency: 5000 } });
    const got = readBytes(s, 6, 2000);
    s.write('abc');
    await sleep(20);
    s.write('def');
    await sleep(30);
    const t0 = performance.now();
    api.registry.removeToxic('echo', 'latency_downstream');
    expect((await got).toString()).toBe('abcdef');
    expect(performance.now() - t0).toBeLessThan(200);
  });
});

describe('bandwidth', () => {
  it('limits throughput to rate KB/s', async () => {
    const { api, port } = await echoProxy();
    api.registry.addToxic('echo', { type: 'bandwidth', attributes: { rate: 100 } }); // 100 KB/s
    const s = await connect(port);
    const t = await echoTime(s, Buffer.alloc(30_000, 1)); // 30 KB -> ~300 ms
    expect(t).toBeGreaterThanOrEqual(250);
    expect(t).toBeLessThan(700);
  });
});

describe('slicer', () => {
  it('cuts data into small slices spaced by delay µs', async () => {
    let chunks = 0;
    let received = 0;
    const sink = await startTcp((sock) =>
      sock.on('data', (c: Buffer) => {
        chunks++;
        received += c.length;
      }),
    );
    const api = await startApi();
    const port = await makeProxy(api, 'sl', portOf(sink));
    api.registry.addToxic('sl', {
      type: 'slicer',
      stream: 'upstream',
      attributes: { average_size: 100, size_variation: 20, delay: 5000 },
    });
    const s = await connect(port);
    const t0 = performance.now();
    s.write(Buffer.alloc(1000, 2));
    for (let i = 0; i < 200 && received < 1000; i++) await sleep(5);
    expect(received).toBe(1000);
    // About 10 slices 5 ms apart: at least 7 gaps, and several separate reads at the far end.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(35);
    expect(chunks).toBeGreaterThanOrEqual(4);
  });
});

describe('slow_close', () => {
  it('holds the close (FIN) for delay ms', async () => {
    const server = await startTcp((sock) => sock.end('bye'));
    const api = await startApi();
    const port = await makeProxy(api, 'sc', portOf(server));
    api.registry.addToxic('sc', { type: 'slow_close', attributes: { delay: 200 } });
    const s = await connect(port);
    const r = await outcome(s);
    expect(r.how).toBe('end');
    expect(r.bytes).toBe(3);
    expect(r.ms).toBeGreaterThanOrEqual(180);
    expect(r.ms).toBeLessThan(600);
  });
});

describe('timeout', () => {
  it('drops data and closes the connection after timeout ms', async () => {
    const { api, port } = await echoProxy();
    api.registry.addToxic('echo', { type: 'timeout', attributes: { timeout: 150 } });
    const s = await connect(port);
    s.write('hello');
    const r = await outcome(s);
    expect(r.bytes).toBe(0);
    expect(['end', 'close', 'ECONNRESET']).toContain(r.how);
    expect(r.ms).toBeGreaterThanOrEqual(130);
    expect(r.ms).toBeLessThan(600);
  });

  it('timeout 0 stalls forever; removing the toxic closes the stalled connection', async () => {
    const { api, port } = await echoProxy();
    api.registry.addToxic('echo', { type: 'timeout', attributes: { timeout: 0 } });
    const s = await connect(port);
    s.write('hello');
    const r = outcome(s, 3000);
    await sleep(200);
    api.registry.removeToxic('echo', 'timeout_downstream');
    const done = await r;
    expect(done.bytes).toBe(0);
    expect(done.how).not.toBe('timeout');
    expect(done.ms).toBeGreaterThanOrEqual(180);
    // A new connection works again.
    const s2 = await connect(port);
    expect(await echoTime(s2, 'ok')).toBeLessThan(1000);
  });

  it('holds an upstream close like data: the client sees it only when the toxic closes the connection', async () => {
    const api = await startApi();
    // An upstream that answers and hangs up at once.
    const upstream = await startTcp((c) => c.end('bye'));
    const port = await makeProxy(api, 'closer', portOf(upstream));
    api.registry.addToxic('closer', { type: 'timeout', attributes: { timeout: 0 } });
    const s = await connect(port);
    const held = await outcome(s, 500);
    expect(held.how).toBe('timeout'); // neither the data nor the close came through
    expect(held.bytes).toBe(0);
    const r = outcome(s, 3000);
    api.registry.removeToxic('closer', 'timeout_downstream');
    const done = await r;
    expect(done.how).not.toBe('timeout');
    expect(done.bytes).toBe(0);
  });
});

describe('reset_peer', () => {
  it('resets the connection when data flows, immediately', async () => {
    const { api, port } = await echoProxy();
    api.registry.addToxic('echo', { type: 'reset_peer', stream: 'upstream', attributes: { timeout: 0 } });
    const s = await connect(port);
    s.write('hello');
    const r = await outcome(s);
    expect(r.how).toBe('ECONNRESET');
    expect(r.ms).toBeLessThan(500);
  });

  it('resets after timeout ms', async () => {
    const { api, port } = await echoProxy();
    api.registry.addToxic('echo', { type: 'reset_peer', stream: 'upstream', attributes: { timeout: 150 } });
    const s = await connect(port);
    s.write('hello');
    const r = await outcome(s);
    expect(r.how).toBe('ECONNRESET');
    expect(r.ms).toBeGreaterThanOrEqual(130);
    expect(r.ms).toBeLessThan(600);
  });
});

describe('limit_data', () => {
  it('passes exactly `bytes` bytes, then closes', async () => {
    const { api, port } = await echoProxy();
    api.registry.addToxic('echo', { type: 'limit_data', attributes: { bytes: 10 } });
    const s = await connect(port);
    s.write('0123456789abcdef');
    const r = await outcome(s);
    expect(r.bytes).toBe(10);
    expect(['end', 'close']).toContain(r.how);
  });
});

describe('toxicity', () => {
  it('toxicity 0 never applies, toxicity 1 always does', async () => {
    const { api, port } = await echoProxy();
    api.registry.addToxic('echo', {
      name: 'never',
      type: 'latency',
      toxicity: 0,
      attributes: { latency: 300 },
    });
    const a = await connect(port);
    expect(await echoTime(a, 'x')).toBeLessThan(250);
    api.registry.updateToxic('echo', 'never', { toxicity: 1 });
    const b = await connect(port);
    expect(await echoTime(b, 'x')).toBeGreaterThanOrEqual(280);
  });

  it('applies to about `toxicity` of connections (seeded randomness)', async () => {
    let seed = 42;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const api = await startApi({ registry: { random } });
    const echo = await startEcho();
    const port = await makeProxy(api, 'half', portOf(echo));
    api.registry.addToxic('half', { type: 'latency', toxicity: 0.5, attributes: { latency: 150 } });
    let slow = 0;
    for (let i = 0; i < 20; i++) {
      const s = await connect(port);
      if ((await echoTime(s, 'x')) > 120) slow++;
      s.destroy();
    }
    expect(slow).toBeGreaterThanOrEqual(4);
    expect(slow).toBeLessThanOrEqual(16);
  });
});

describe('updates on open connections', () => {
  it('an updated latency applies in place; an updated timeout restarts without closing', async () => {
    const { api, port } = await echoProxy();
    const s = await connect(port);
    api.registry.addToxic('echo', { name: 'lat', type: 'latency', attributes: { latency: 50 } });
    expect(await echoTime(s, 'a')).toBeGreaterThanOrEqual(45);
    api.registry.updateToxic('echo', 'lat', { attributes: { latency: 150 } });
    expect(await echoTime(s, 'b')).toBeGreaterThanOrEqual(145);
    api.registry.removeToxic('echo', 'lat');

    api.registry.addToxic('echo', { name: 't', type: 'timeout', attributes: { timeout: 0 } });
    const ended = outcome(s, 600);
    api.registry.updateToxic('echo', 't', { attributes: { timeout: 300 } });
    const r = await ended;
    expect(r.how).not.toBe('timeout'); // closed by the restarted 300 ms timer...
    expect(r.ms).toBeGreaterThanOrEqual(250); // ...not by the update itself
  });
});
