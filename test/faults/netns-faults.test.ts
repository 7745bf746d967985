/**
 * Faults on network-namespace targets (`kind: netns`): two namespaces this file creates, joined
 * by a veth pair on a private /30. Traffic flows only between them. Each test asserts the effect
 * and the complete revert (no marked rule, no chaoskit qdisc left). Skips, saying why, without root.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { faultDef } from '../../faults/index.ts';
import type { Target } from '../../src/scenario/schema.ts';
import { revertRecipe } from '../../src/targets/revert.ts';
import type { ApplyContext, Prepared, RevertRecipe } from '../../src/targets/types.ts';
import { NetnsLab, must, netnsReady, pingLoss, testCtx } from '../helpers/docker.ts';
import { tempDir } from '../helpers/files.ts';
import { killAll, spawnProc, waitUntil } from '../helpers/procs.ts';

const ready = netnsReady();
if (!ready.ok) console.log(`skipping the netns fault tests: ${ready.reason}`);

let lab: NetnsLab | null = null;
afterEach(async () => {
  await killAll();
  await lab?.cleanup();
  lab = null;
});

async function newLab(): Promise<NetnsLab> {
  lab = new NetnsLab();
  await lab.create();
  return lab;
}

const ns = (namespace: string): Target => ({ kind: 'netns', namespace });

async function prepare(type: string, ctx: ApplyContext, params: Record<string, unknown>): Promise<Prepared> {
  const def = faultDef(type)!;
  return def.on.netns!(ctx, def.params.parse(params));
}

const revert = (r: RevertRecipe) => revertRecipe(JSON.parse(JSON.stringify(r)) as RevertRecipe);

async function ping(l: NetnsLab, from: string, to: string, count: number): Promise<number> {
  const r = await l.inNs(from, ['busybox', 'ping', '-q', '-c', String(count), '-i', '0.005', '-W', '2', to]);
  // A DROP on OUTPUT makes sendto fail at once (EPERM): ping gives up without a summary.
  if (r.code !== 0 && /Operation not permitted/.test(r.stderr)) return 1;
  return pingLoss(r.stdout);
}

describe.skipIf(!ready.ok)('netns faults on real network namespaces', { timeout: 60_000 }, () => {
  it('partition between two namespaces: B is unreachable from A (and A from B) during, reachable after', async () => {
    const l = await newLab();
    expect(await ping(l, l.a, l.ipB, 3)).toBe(0);
    const ctx = testCtx('ns-a', ns(l.a), { targets: { 'ns-a': ns(l.a), 'ns-b': ns(l.b) } });
    const p = await prepare('partition', ctx, { peers: ['ns-b'] });
    expect(p.recipe).toEqual({
      driver: 'netns-cmd',
      mark: ctx.mark,
      places: [
        {
          enter: { netns: l.a },
          undo: [
            [
              'iptables',
              '-w',
              '5',
              '-D',
              'INPUT',
              '-s',
              l.ipB,
              '-m',
              'comment',
              '--comment',
              ctx.mark,
              '-j',
              'DROP',
            ],
            [
              'iptables',
              '-w',
              '5',
              '-D',
              'OUTPUT',
              '-d',
              l.ipB,
              '-m',
              'comment',
              '--comment',
              ctx.mark,
              '-j',
              'DROP',
            ],
          ],
        },
      ],
    });
    await p.apply();
    expect(await l.rules(l.a)).toEqual([
      `-A INPUT -s ${l.ipB}/32 -m comment --comment "${ctx.mark}" -j DROP`,
      `-A OUTPUT -d ${l.ipB}/32 -m comment --comment "${ctx.mark}" -j DROP`,
    ]);
    expect(await ping(l, l.a, l.ipB, 3)).toBe(1);
    expect(await ping(l, l.b, l.ipA, 3)).toBe(1);

    expect(await revert(p.recipe)).toBe('reverted');
    expect(await l.rules(l.a)).toEqual([]);
    expect(await ping(l, l.a, l.ipB, 3)).toBe(0);
    expect(await ping(l, l.b, l.ipA, 3)).toBe(0);
  });

  it('packet-loss 20% both ways between namespaces: roughly 1-(0.8*0.8)=36% of pings lost during, none after', async () => {
    const l = await newLab();
    const ctx = testCtx('ns-a', ns(l.a));
    const p = await prepare('packet-loss', ctx, { loss: '20%', direction: 'both' });
    await p.apply();
    expect(await l.rules(l.a)).toHaveLength(2);
    const loss = await ping(l, l.b, l.ipA, 400);
    console.log(
      `netns packet-loss 20% both ways: ${(loss * 100).toFixed(1)}% of 400 pings lost (expected ~36%)`,
    );
    expect(loss).toBeGreaterThan(0.24);
    expect(loss).toBeLessThan(0.48);
    expect(await revert(p.recipe)).toBe('reverted');
    expect(await l.rules(l.a)).toEqual([]);
    expect(await ping(l, l.b, l.ipA, 100)).toBe(0);
  });

  it('bandwidth 250KB/s on the namespace device: a 1 MB transfer from A to B slows to about that rate; qdisc gone after', async () => {
    const l = await newLab();
    const www = tempDir('chaoskit-netns-www-');
    mkdirSync(www, { recursive: true });
    writeFileSync(join(www, 'big'), Buffer.alloc(1 << 20));
    spawnProc('ip', ['netns', 'exec', l.a, 'busybox', 'httpd', '-f', '-p', `${l.ipA}:8080`, '-h', www], {
      label: 'httpd in ns a',
    });
    const fetchTime = async () => {
      const t0 = performance.now();
      const r = await l.inNs(l.b, [
        'sh',
        '-c',
        `printf 'GET /big HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 10 ${l.ipA} 8080 | wc -c`,
      ]);
      const bytes = Number(r.stdout.trim());
      return { bytes, rate: bytes / ((performance.now() - t0) / 1000) };
    };
    await waitUntil(async () => (await fetchTime()).bytes > 1 << 20, 5_000, 'httpd in namespace a');
    const base = await fetchTime();
    const ctx = testCtx('ns-a', { kind: 'netns', namespace: l.a, device: l.devA });
    const p = await prepare('bandwidth', ctx, { rate: '250KB/s' });
    expect(p.recipe).toMatchObject({
      places: [
        {
          enter: { netns: l.a },
          undo: [
            ['tc', 'qdisc', 'del', 'dev', l.devA, 'root', 'handle', expect.stringMatching(/^c[0-9a-f]{3}:$/)],
          ],
        },
      ],
    });
    await p.apply();
    const limited = await fetchTime();
    console.log(
      `netns bandwidth 250KB/s: ${(base.rate / 1e6).toFixed(1)} MB/s before, ${(limited.rate / 1e3).toFixed(0)} KB/s during`,
    );
    expect(limited.bytes).toBeGreaterThan(1 << 20);
    expect(limited.rate).toBeLessThan(250_000 * 1.5);
    expect(limited.rate).toBeGreaterThan(250_000 * 0.5);
    expect(await revert(p.recipe)).toBe('reverted');
    expect(await must(['tc', '-n', l.a, 'qdisc', 'show', 'dev', l.devA])).not.toMatch(/tbf/);
    expect((await fetchTime()).rate).toBeGreaterThan(250_000 * 3);
  });

  it('a namespace deleted mid-fault: the revert says "target gone" instead of failing', async () => {
    const l = await newLab();
    const p = await prepare('packet-loss', testCtx('ns-a', ns(l.a)), { loss: '10%' });
    await p.apply();
    await must(['ip', 'netns', 'del', l.a]);
    const notes: string[] = [];
    expect(await revertRecipe(p.recipe, { onNote: (n) => notes.push(n) })).toBe('already-gone');
    expect(notes).toEqual([`target gone: network namespace ${l.a} no longer exists; its rules went with it`]);
  });

  it('preflight: a namespace that does not exist is named, with how to create it', async () => {
    const def = faultDef('packet-loss')!;
    expect(await def.preflight!(ns('chaoskit-test-no-such-ns'), def.params.parse({ loss: '5%' }))).toBe(
      'network namespace chaoskit-test-no-such-ns does not exist (see ip netns list); create it with ip netns add chaoskit-test-no-such-ns',
    );
  });
});
