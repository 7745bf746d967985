/**
 * A real, unmodified Toxiproxy client library (toxiproxy-node-client from npm) against the real
 * `chaos proxy` process: the calls such a client makes (version, create, add/update/remove toxics,
 * list, reset, update the proxy, populate, delete), with traffic checked through the proxy.
 * Then from another network namespace, as a client on a real non-loopback address: it works when
 * its address is in --allow, and gets 401 (while /version stays open) when only --token is given.
 */
import { join } from 'node:path';
import { Toxiproxy } from 'toxiproxy-node-client';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI_BIN, PACKAGE_ROOT } from '../../src/core/paths.ts';
import { NetnsLab, netnsReady } from '../helpers/docker.ts';
import { tempDir } from '../helpers/files.ts';
import { cliEnv, killAll, spawnProc, startCliProxy, type Proc } from '../helpers/procs.ts';
import { cleanup, connect, echoTime, outcome, portOf, startEcho } from './helpers.ts';

let lab: NetnsLab | null = null;
afterEach(async () => {
  await cleanup();
  await killAll();
  await lab?.cleanup();
  lab = null;
});

const portOfListen = (listen: string) => Number(listen.split(':').pop());

describe('toxiproxy-node-client against chaos proxy (loopback)', { timeout: 60_000 }, () => {
  it('version, create, toxics added/updated/read/removed, list, reset, disable/enable, populate, delete', async () => {
    const { url } = await startCliProxy(tempDir('chaoskit-state-'));
    const upstream = `127.0.0.1:${portOf(await startEcho())}`;
    const tp = new Toxiproxy(url);

    expect(JSON.parse(await tp.getVersion())).toMatchObject({ version: '2.6.0' });

    const proxy = await tp.createProxy({ name: 'redis', listen: '127.0.0.1:0', upstream });
    expect(proxy.enabled).toBe(true);
    const port = portOfListen(proxy.listen);
    expect(port).toBeGreaterThan(0);

    const toxic = await proxy.addToxic<{ latency: number; jitter: number }>({
      name: 'slow',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 200, jitter: 0 },
    });
    expect(toxic.toJson()).toEqual({
      name: 'slow',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 200, jitter: 0 },
    });
    expect(await echoTime(await connect(port), 'x')).toBeGreaterThanOrEqual(190);

    // Toxic.update POSTs the whole toxic back, name, type and stream included.
    const updated = await toxic.update({ ...toxic.toJson(), attributes: { latency: 5, jitter: 0 } });
    expect(updated.attributes).toEqual({ latency: 5, jitter: 0 });
    expect(await echoTime(await connect(port), 'y')).toBeLessThan(150);
    expect((await proxy.getToxic('slow')).attributes).toEqual({ latency: 5, jitter: 0 });

    await toxic.remove();
    await expect(proxy.getToxic('slow')).rejects.toThrow('Request failed with status code 404');

    await proxy.addToxic({
      name: 'stall',
      type: 'timeout',
      stream: 'upstream',
      toxicity: 1,
      attributes: { timeout: 0 },
    });
    const all = await tp.getAll();
    expect(Object.keys(all)).toEqual(['redis']);
    await tp.reset();
    expect(await echoTime(await connect(port), 'after reset')).toBeLessThan(1000);
    await expect(proxy.getToxic('stall')).rejects.toThrow('status code 404');

    // Proxy.update POSTs {enabled, listen, upstream}: disabling closes the listener and connections.
    const open = await connect(port);
    const ended = outcome(open);
    const off = await proxy.update({ enabled: false, listen: proxy.listen, upstream });
    expect(off.enabled).toBe(false);
    expect((await ended).how).not.toBe('timeout');
    await expect(connect(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const on = await off.update({ enabled: true, listen: off.listen, upstream });
    expect(on).toMatchObject({ enabled: true, listen: proxy.listen });

    const populated = await tp.populate([
      { name: 'redis', listen: proxy.listen, upstream },
      { name: 'pg', listen: '127.0.0.1:0', upstream },
    ]);
    expect(Object.keys(populated).sort()).toEqual(['pg', 'redis']);
    expect(await echoTime(await connect(portOfListen(populated.pg!.listen)), 'pg')).toBeLessThan(1000);

    await (await tp.get('pg')).remove();
    await expect(tp.get('pg')).rejects.toThrow('status code 404');
    expect(Object.keys(await tp.getAll())).toEqual(['redis']);
  });
});

const ready = netnsReady();
if (!ready.ok) console.log(`skipping the non-loopback stock client tests: ${ready.reason}`);

/** Runs `argv` inside network namespace `ns` as a tracked child process. */
function inNs(ns: string, argv: string[], label: string): Proc {
  return spawnProc('ip', ['netns', 'exec', ns, ...argv], { env: cliEnv(tempDir('chaoskit-state-')), label });
}

async function clientFlow(l: NetnsLab, api: string, upstream: string, token?: string) {
  const script = join(PACKAGE_ROOT, 'test/fixtures/toxiproxy-client-flow.mjs');
  const client = inNs(
    l.b,
    [process.execPath, script, api, l.ipA, upstream, ...(token ? [token] : [])],
    'client',
  );
  const exit = await client.wait(30_000);
  expect(exit.code, client.output()).toBe(0);
  return JSON.parse(client.stdout) as Record<string, unknown>;
}

/** Starts an echo server on the loopback of namespace A (the proxies' upstream). */
async function echoInA(l: NetnsLab): Promise<string> {
  const echo = inNs(
    l.a,
    [
      process.execPath,
      '-e',
      "require('net').createServer((s) => s.pipe(s)).listen(0, '127.0.0.1', function () { console.log(this.address().port) })",
    ],
    'echo',
  );
  const m = await echo.waitForOutput(/^(\d+)$/m, 20_000);
  return `127.0.0.1:${m[1]}`;
}

async function proxyInA(l: NetnsLab, flags: string[]): Promise<string> {
  const proxy = inNs(
    l.a,
    [process.execPath, CLI_BIN, 'proxy', '--host', l.ipA, '--port', '8474', ...flags],
    'proxy',
  );
  const m = await proxy.waitForOutput(/fault proxy API on (http:\/\/\S+)/, 30_000);
  return m[1]!;
}

describe.skipIf(!ready.ok)('a stock client on another host (network namespaces)', { timeout: 90_000 }, () => {
  it('works from an address in --allow: create, toxics, list, reset, delete, with traffic through the proxy', async () => {
    lab = new NetnsLab();
    await lab.create();
    const upstream = await echoInA(lab);
    const api = await proxyInA(lab, ['--allow', `${lab.ipB}/32`, '--token', 'only-for-others']);
    const seen = await clientFlow(lab, api, upstream);
    expect(seen.error).toBeUndefined();
    expect(JSON.parse(seen.version as string)).toMatchObject({ version: '2.6.0' });
    expect(seen.created).toMatchObject({ name: 'echo', enabled: true, upstream });
    expect(seen.withLatencyMs).toBeGreaterThanOrEqual(290);
    expect(seen.updatedMs).toBeLessThan(250);
    expect(seen.listed).toEqual(['echo']);
    expect(seen.toxicsBeforeReset).toBe('cut');
    expect(seen.afterReset).toEqual([]);
    expect(seen.afterRemove).toEqual([]);
  });

  it('outside --allow: /version answers, everything else is 401 without the token and served with it', async () => {
    lab = new NetnsLab();
    await lab.create();
    const upstream = await echoInA(lab);
    const api = await proxyInA(lab, ['--token', 's3cret']);
    const seen = await clientFlow(lab, api, upstream, 's3cret');
    expect(JSON.parse(seen.version as string)).toMatchObject({ version: '2.6.0' });
    expect(seen.error).toBe('Request failed with status code 401');
    expect(seen.withToken).toBe(201);
  });
});
