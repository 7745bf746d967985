/** startProxyServer: loopback by default, who may use the api, errors, shutdown. */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.ts';
import { isLoopback } from '../../src/proxy/address.ts';
import { startProxyServer } from '../../src/proxy/server.ts';
import { call, cleanup, connect, makeProxy, outcome, portOf, startApi, startEcho } from './helpers.ts';

afterEach(cleanup);

describe('listen address', () => {
  it('binds 127.0.0.1 and needs no auth there', async () => {
    const api = await startApi();
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(api.port).toBeGreaterThan(0);
    expect((await call(api.url, 'GET', '/proxies')).status).toBe(200);
  });

  it('refuses a non-loopback address without --allow or --token, before binding anything', async () => {
    for (const host of ['0.0.0.0', '::', '', '10.1.2.3']) {
      const err = await startProxyServer({ host, port: 0 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(
        /a non-loopback listen address requires --allow with the networks of your clients, or --token/,
      );
    }
  });

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1'])
      expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '', '10.0.0.1', '192.168.1.1', 'example.com'])
      expect(isLoopback(h)).toBe(false);
  });

  it('rejects bad ports and empty tokens; a taken port is invalid input naming the port', async () => {
    await expect(startProxyServer({ port: 70000 })).rejects.toThrow(/port must be a whole number/);
    await expect(startProxyServer({ port: 0, token: ' ' })).rejects.toThrow(/--token must not be empty/);
    const api = await startApi();
    const err = await startProxyServer({ port: api.port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err).toMatchObject({ code: 'EADDRINUSE' });
    expect((err as Error).message).toBe(
      `proxy api cannot listen on 127.0.0.1 port ${api.port}: port ${api.port} is already in use on 127.0.0.1 ` +
        '(another chaos proxy or toxiproxy-server?); stop it or choose another port with --port',
    );
  });
});

describe('who may use the api', () => {
  it('loopback clients need no token even when one is set; /version is open', async () => {
    const api = await startApi({ token: 's3cret' });
    expect((await call(api.url, 'GET', '/proxies')).status).toBe(200);
    expect((await call(api.url, 'POST', '/proxies', { name: 'p', upstream: '127.0.0.1:9' })).status).toBe(
      201,
    );
    expect((await call(api.url, 'GET', '/version')).status).toBe(200);
  });
});

describe('close()', () => {
  it('closes proxies, their connections and the api; twice is fine', async () => {
    const api = await startProxyServer({ port: 0 });
    const port = await makeProxy(api, 'p', portOf(await startEcho()));
    const s = await connect(port);
    const ended = outcome(s);
    await api.close();
    await api.close();
    expect((await ended).how).not.toBe('timeout');
    const probe = net.connect({ host: '127.0.0.1', port: api.port });
    expect(await new Promise((r) => probe.once('error', (e: NodeJS.ErrnoException) => r(e.code)))).toBe(
      'ECONNREFUSED',
    );
  });
});
