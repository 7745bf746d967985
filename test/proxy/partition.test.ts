/** The partition extension: refuse and blackhole, on new and open connections, and recovery. */
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import {
  cleanup,
  connect,
  echoTime,
  makeProxy,
  outcome,
  readBytes,
  sleep,
  startApi,
  startEcho,
} from './helpers.ts';

afterEach(cleanup);

/** Connects, writes, and reports how it ended; a reset may even beat the connect callback. */
function refusedOutcome(port: number): Promise<{ how: string; bytes: number }> {
  const s = net.connect({ host: '127.0.0.1', port });
  s.on('connect', () => s.write('x'));
  return outcome(s);
}

async function setup() {
  const api = await startApi();
  const echo = await startEcho();
  let upstreamConnections = 0;
  echo.on('connection', () => upstreamConnections++);
  const port = await makeProxy(api, 'dep', (echo.address() as { port: number }).port);
  return { api, port, upstreamConnections: () => upstreamConnections };
}

describe('partition mode=refuse', () => {
  it('resets new connections without dialing the upstream, and cuts open ones', async () => {
    const { api, port, upstreamConnections } = await setup();
    const open = await connect(port);
    expect(await echoTime(open, 'before')).toBeLessThan(1000);
    const cut = outcome(open);
    api.registry.addToxic('dep', {
      name: 'chaoskit:part',
      type: 'partition',
      attributes: { mode: 'refuse' },
    });
    expect((await cut).how).toBe('ECONNRESET');

    const dialsBefore = upstreamConnections();
    for (let i = 0; i < 3; i++) {
      const r = await refusedOutcome(port); // the kernel completes the handshake; the proxy resets at once
      expect(r.how).toBe('ECONNRESET');
      expect(r.bytes).toBe(0);
    }
    expect(upstreamConnections()).toBe(dialsBefore);

    api.registry.removeToxic('dep', 'chaoskit:part');
    expect(await echoTime(await connect(port), 'after')).toBeLessThan(1000);
  });

  it('defaults to refuse and applies to both directions whatever the stream', async () => {
    const { api, port } = await setup();
    const t = api.registry.addToxic('dep', { type: 'partition', stream: 'upstream' });
    expect(t.attributes).toEqual({ mode: 'refuse' });
    expect((await refusedOutcome(port)).how).toBe('ECONNRESET');
  });
});

describe('partition mode=blackhole', () => {
  it('stalls open and new connections both ways; removal lets the held bytes through', async () => {
    const { api, port } = await setup();
    const open = await connect(port);
    expect(await echoTime(open, 'before')).toBeLessThan(1000);
    api.registry.addToxic('dep', { name: 'bh', type: 'partition', attributes: { mode: 'blackhole' } });

    const heldOpen = readBytes(open, 4, 3000);
    open.write('held');
    const fresh = await connect(port); // accepted: a blackhole does not refuse
    const heldFresh = readBytes(fresh, 5, 3000);
    fresh.write('fresh');
    let arrived = false;
    void heldOpen.then(() => (arrived = true));
    await sleep(300);
    expect(arrived).toBe(false);

    const t0 = performance.now();
    api.registry.removeToxic('dep', 'bh');
    expect((await heldOpen).toString()).toBe('held');
    expect((await heldFresh).toString()).toBe('fresh');
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(await echoTime(await connect(port), 'new')).toBeLessThan(1000);
  });

  it('holds large transfers without buffering them in the proxy (the source is paused)', async () => {
    const { api, port } = await setup();
    api.registry.addToxic('dep', { name: 'bh', type: 'partition', attributes: { mode: 'blackhole' } });
    const s = await connect(port);
    const payload = Buffer.alloc(2 * 1024 * 1024, 3);
    const back = readBytes(s, payload.length, 5000);
    s.write(payload);
    await sleep(200);
    api.registry.removeToxic('dep', 'bh');
    expect((await back).equals(payload)).toBe(true);
  });
});
