/**
 * Docker faults on real containers this file starts (image from scripts/build-test-images.sh):
 * each test asserts the effect while the fault is applied AND the complete revert (rules and
 * qdiscs gone, container running, unpaused and reconnected). Load goes only to ports published
 * on 127.0.0.1, or between this file's own containers. Skips, saying why, without Docker/root.
 *
 * The containers are made once (beforeAll) and shared: every test ends with its fault reverted
 * and checks that, so the next one finds them running, unpaused, connected and free of rules
 * and qdiscs. The tests that change a container for good (a foreign qdisc, a removal) use their
 * own. Tests read addresses when they need them (a restarted container may get a new one).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faultDef } from '../../faults/index.ts';
import type { Target } from '../../src/scenario/schema.ts';
import { revertRecipe } from '../../src/targets/revert.ts';
import type { ApplyContext, Prepared, RevertRecipe } from '../../src/targets/types.ts';
import { DockerLab, dockerReady, sweepOrphans, must, pingLoss, sh, testCtx } from '../helpers/docker.ts';
import { freePort, sleep, waitUntil } from '../helpers/procs.ts';

const ready = dockerReady();
if (!ready.ok) console.log(`skipping the docker fault tests: ${ready.reason}`);

const lab = new DockerLab();
// Everything this file made (and nothing else) is removed at the end, failed tests included.
afterAll(() => lab.close());

async function prepare(
  type: string,
  ctx: ApplyContext,
  params: Record<string, unknown> = {},
): Promise<Prepared> {
  const def = faultDef(type)!;
  const fn = def.on[ctx.target.kind];
  if (!fn) throw new Error(`${type} has no ${ctx.target.kind} driver`);
  return fn(ctx, def.params.parse(params));
}

/** Reverts from the recipe alone, as the guard would: through JSON, collecting the notes. */
async function revert(recipe: RevertRecipe): Promise<{ outcome: string; notes: string[] }> {
  const notes: string[] = [];
  const outcome = await revertRecipe(JSON.parse(JSON.stringify(recipe)) as RevertRecipe, {
    onNote: (n) => notes.push(n),
  });
  return { outcome, notes };
}

const docker = (container: string, extra: Partial<Extract<Target, { kind: 'docker' }>> = {}): Target => ({
  kind: 'docker',
  container,
  ...extra,
});

async function get(port: number, path = '/', timeoutMs = 1_000): Promise<number | string> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    await r.arrayBuffer();
    return r.status;
  } catch (err) {
    return ((err as Error).cause as { code?: string } | undefined)?.code ?? (err as Error).name;
  }
}

describe.skipIf(!ready.ok)('docker faults on real containers', { timeout: 60_000 }, () => {
  /** a (fixed IP `fixed`, alias alpha), b, c on network `net` (a user subnet); web publishes port 80. */
  let net: string;
  let fixed: string;
  let a: string;
  let b: string;
  let c: string;
  let web: string;
  let webPort: number;
  beforeAll(async () => {
    await sweepOrphans();
    const made = await lab.networkWithSubnet('net');
    net = made.name;
    fixed = made.subnet.replace(/0\/24$/, '77');
    webPort = await freePort();
    // a first: its fixed address is taken before any is handed out.
    a = await lab.run('a', { network: net, aliases: ['alpha'], ip: fixed });
    [b, c, web] = await Promise.all([
      lab.run('b', { network: net }),
      lab.run('c', { network: net }),
      // /big for the bandwidth test; a restart policy for the crash test.
      lab.run('web', {
        hostPort: webPort,
        restart: 'unless-stopped',
        cmd: 'dd if=/dev/zero of=/www/big bs=1024 count=1024 2>/dev/null; exec httpd -f -p 80 -h /www',
      }),
    ]);
    await waitUntil(async () => (await get(webPort, '/big')) === 200, 10_000, 'the web container to answer');
  }, 120_000);

  it('partition (iptables, default): A cannot reach B nor B reach A during; both can after; only marked rules were touched', async () => {
    const [ipA, ipB, ipC] = [await lab.ip(a), await lab.ip(b), await lab.ip(c)];
    expect(await lab.canReach(a, ipB)).toBe(true);
    const ctx = testCtx('a', docker(a), { targets: { a: docker(a), b: docker(b) } });
    const p = await prepare('partition', ctx, { peers: ['b'] });
    expect(p.description).toContain(`to and from ${ipB}`);
    expect(await lab.rules(a)).toEqual([]); // preparing changes nothing
    await p.apply();
    const rules = await lab.rules(a);
    expect(rules).toHaveLength(2);
    for (const r of rules) expect(r).toContain(`--comment "${ctx.mark}"`);
    // The four checks at once (each its own docker exec): the cut ones wait out nc's 1 s.
    expect(
      await Promise.all([
        lab.canReach(a, ipB, 1),
        lab.canReach(b, ipA, 1),
        // Only the peer is cut off.
        lab.canReach(a, ipC),
        lab.canReach(c, ipA),
      ]),
    ).toEqual([false, false, true, true]);

    expect(await revert(p.recipe)).toEqual({ outcome: 'reverted', notes: [] });
    expect(await lab.rules(a)).toEqual([]);
    expect(await Promise.all([lab.canReach(a, ipB), lab.canReach(b, ipA)])).toEqual([true, true]);
    // Idempotent: a second revert finds nothing of ours.
    expect((await revert(p.recipe)).outcome).toBe('already-gone');
  });

  it('partition by disconnect: off the network during, reconnected with the same aliases and IP after', async () => {
    expect(await lab.canReach(b, fixed)).toBe(true);
    const p = await prepare('partition', testCtx('a', docker(a, { network: net })), { method: 'disconnect' });
    expect(p.recipe).toMatchObject({
      driver: 'docker',
      action: 'reconnect',
      network: net,
      endpoints: [{ name: a, aliases: ['alpha'], ipv4: fixed }],
    });
    await p.apply();
    expect(Object.keys((await lab.inspect(a)).NetworkSettings.Networks)).toEqual([]);
    expect(await lab.canReach(b, fixed, 1)).toBe(false);

    expect((await revert(p.recipe)).outcome).toBe('reverted');
    const n = (await lab.inspect(a)).NetworkSettings.Networks[net];
    expect(n?.IPAddress).toBe(fixed);
    expect(n?.Aliases).toContain('alpha');
    expect(await lab.canReach(b, fixed)).toBe(true);
  });

  it('pause: requests to the published port stall during; the container is unpaused and answers after', async () => {
    const port = webPort;
    expect(await get(port)).toBe(200);
    const p = await prepare('pause', testCtx('web', docker(web)));
    expect(p.recipe).toMatchObject({ driver: 'docker', action: 'unpause', containers: [{ name: web }] });
    await p.apply();
    expect((await lab.inspect(web)).State.Paused).toBe(true);
    expect(await get(port, '/', 500)).toBe('TimeoutError');
    expect(await revert(p.recipe)).toEqual({ outcome: 'reverted', notes: [] });
    expect((await lab.inspect(web)).State).toMatchObject({ Running: true, Paused: false });
    expect(await get(port)).toBe(200);
  });

  it('stop and restart: stopped during and started at revert; restart records the time back to running', async () => {
    const stop = await prepare('stop', testCtx('c', docker(c)), { grace: '1s' });
    await stop.apply();
    expect((await lab.inspect(c)).State.Running).toBe(false);
    expect(await revert(stop.recipe)).toEqual({ outcome: 'reverted', notes: [] });
    expect((await lab.inspect(c)).State.Running).toBe(true);

    const before = (await lab.inspect(c)).State.StartedAt;
    const restart = await prepare('restart', testCtx('c', docker(c)), { grace: '0s' });
    const applied = await restart.apply();
    expect((await lab.inspect(c)).State.StartedAt).not.toBe(before);
    const obs = await applied.observation;
    console.log(`restart: ${obs}`);
    expect(obs).toMatch(/^running again \d+ms after the restart$/);
    expect(await revert(restart.recipe)).toEqual({ outcome: 'reverted', notes: [] }); // running: nothing to start
  });

  it('packet-loss 30% egress: about 30% of pings from a peer lost during, none after; rules gone', async () => {
    const ipA = await lab.ip(a);
    const ctx = testCtx('a', docker(a));
    const p = await prepare('packet-loss', ctx, { loss: '30%' });
    await p.apply();
    const rules = await lab.rules(a);
    expect(rules).toHaveLength(1);
    // iptables stores the probability as a 31-bit fraction: 0.3 reads back as 0.29999999981.
    expect(rules[0]).toMatch(
      /^-A OUTPUT ! -o lo -m statistic --mode random --probability 0\.2999\d+ -m comment --comment "chaoskit:test-run:f\w+" -j DROP$/,
    );
    expect(rules[0]).toContain(ctx.mark);
    // 200 pings (-W: 1 s for the stragglers after the last): the lost fraction has a standard
    // deviation of sqrt(0.3 * 0.7 / 200) = 3.2 points, so 15%..45% is more than 4.6 of them either
    // side (a false failure about once in 250,000 runs), while 0% or 100% is far outside.
    const during = await lab.exec(b, ['ping', '-q', '-c', '200', '-i', '0.005', '-W', '1', ipA]);
    const loss = pingLoss(during.stdout);
    console.log(`packet-loss 30%: measured ${(loss * 100).toFixed(1)}% of 200 pings lost`);
    expect(loss).toBeGreaterThan(0.15);
    expect(loss).toBeLessThan(0.45);

    expect((await revert(p.recipe)).outcome).toBe('reverted');
    expect(await lab.rules(a)).toEqual([]);
    const after = await lab.exec(b, ['ping', '-q', '-c', '100', '-i', '0.005', '-W', '1', ipA]);
    expect(pingLoss(after.stdout)).toBe(0);
  });

  it('bandwidth 500KB/s: a 1 MB download from the published port slows to about that rate; full speed and no qdisc after', async () => {
    // The token bucket's burst is 20 ms of traffic (10 KB here): 1 MB takes about 2 s at the limit.
    const port = webPort;
    const a = web;
    const rate = async () => {
      const t0 = performance.now();
      const r = await fetch(`http://127.0.0.1:${port}/big`, { signal: AbortSignal.timeout(20_000) });
      const n = (await r.arrayBuffer()).byteLength;
      expect(n).toBe(1024 * 1024);
      return n / ((performance.now() - t0) / 1000);
    };
    const base = await rate();
    const ctx = testCtx('web', docker(a));
    const p = await prepare('bandwidth', ctx, { rate: '500KB/s' });
    await p.apply();
    expect(await lab.qdiscs(a)).toMatch(/qdisc tbf c[0-9a-f]{3}: dev eth0 root .*rate 4Mbit/);
    const limited = await rate();
    console.log(
      `bandwidth 500KB/s: ${(base / 1e6).toFixed(1)} MB/s before, ${(limited / 1e3).toFixed(0)} KB/s during`,
    );
    expect(limited).toBeLessThan(500_000 * 1.5);
    expect(limited).toBeGreaterThan(500_000 * 0.5);
    expect(limited).toBeLessThan(base / 2);

    expect((await revert(p.recipe)).outcome).toBe('reverted');
    expect(await lab.qdiscs(a)).not.toMatch(/tbf/);
    const after = await rate();
    expect(after).toBeGreaterThan(500_000 * 2);
  });

  it('bandwidth refuses a device whose root qdisc chaoskit did not set up, and leaves it alone', async () => {
    // Its own container: the foreign qdisc stays.
    const a = await lab.run('foreign');
    const pid = (await lab.inspect(a)).State.Pid;
    await must([
      'nsenter',
      '-t',
      String(pid),
      '-n',
      '--',
      'tc',
      'qdisc',
      'add',
      'dev',
      'eth0',
      'root',
      'handle',
      '1:',
      'tbf',
      'rate',
      '10mbit',
      'burst',
      '32kb',
      'latency',
      '50ms',
    ]);
    await expect(prepare('bandwidth', testCtx('a', docker(a)), { rate: '1MB/s' })).rejects.toThrow(
      `container ${a} already has a root qdisc tbf 1: on eth0 that chaoskit did not set up`,
    );
    expect(
      await faultDef('bandwidth')!.preflight!(
        docker(a),
        faultDef('bandwidth')!.params.parse({ rate: '1MB/s' }),
      ),
    ).toContain('already has a root qdisc tbf 1:');
    expect(await lab.qdiscs(a)).toMatch(/qdisc tbf 1: dev eth0 root/);
  });

  it('crash under load: SIGKILL of the init process, the restart policy brings it back, and the time to healthy is measured', async () => {
    const port = webPort;
    const a = web;
    expect((await lab.inspect(a)).State).toMatchObject({ Running: true, Paused: false });
    expect(await get(port)).toBe(200);
    const health = `http://127.0.0.1:${port}/health`;
    const target = docker(a, { health });
    const before = await lab.inspect(a);
    const p = await prepare('crash', testCtx('web', target));
    expect(p.recipe).toEqual({
      driver: 'docker',
      action: 'start',
      containers: [{ id: before.Id, name: a }],
      health,
    });

    // Load: 40 req/s to 127.0.0.1 until 0.5 s after the container is healthy again (bounded: at
    // most 600 requests, 15 s), the crash 0.5 s in.
    const results: { at: number; status: number | string }[] = [];
    const t0 = performance.now();
    let healthyAt = Infinity;
    const load = (async () => {
      const inflight: Promise<void>[] = [];
      for (let i = 0; i < 600 && performance.now() < healthyAt + 500; i++) {
        const due = t0 + i * 25;
        await sleep(Math.max(0, due - performance.now()));
        inflight.push(get(port, '/', 1_000).then((status) => void results.push({ at: due - t0, status })));
      }
      await Promise.all(inflight);
    })();
    await sleep(500);
    const applied = await p.apply();
    const killedAt = performance.now() - t0;
    const obs = await applied.observation;
    healthyAt = performance.now();
    await load;
    results.sort((x, y) => x.at - y.at);
    const after = await lab.inspect(a);
    expect(after.State.Pid).not.toBe(before.State.Pid);
    expect(after.RestartCount).toBe(before.RestartCount + 1);
    const failed = results.filter((r) => r.status !== 200);
    const lastFailure = Math.max(...failed.map((r) => r.at));
    console.log(
      `crash under load: ${obs}; ${failed.length}/${results.length} requests failed, the last one sent ${Math.round(lastFailure - killedAt)}ms after the kill`,
    );
    expect(obs).toMatch(/^healthy again \d+ms after the kill$/);
    expect(Number(/(\d+)ms/.exec(obs!)![1])).toBeLessThan(10_000);
    expect(failed.length).toBeGreaterThan(0);
    expect(results.filter((r) => r.at > lastFailure).every((r) => r.status === 200)).toBe(true);
    expect(results.at(-1)!.status).toBe(200);
    // Back by itself: the revert finds it running and healthy.
    expect(await revert(p.recipe)).toEqual({ outcome: 'reverted', notes: [] });
  });

  it('crash without a restart policy: the revert starts the container again', async () => {
    const a = c;
    const p = await prepare('crash', testCtx('c', docker(a)));
    await p.apply();
    await waitUntil(async () => !(await lab.inspect(a)).State.Running, 5_000, 'the container to exit');
    expect(p.manualRevert).toBe(`docker start ${(await lab.inspect(a)).Id}`);
    expect((await revert(p.recipe)).outcome).toBe('reverted');
    expect((await lab.inspect(a)).State.Running).toBe(true);
  });

  it('a container removed by hand mid-fault: its revert says "target gone", and the other containers are still reverted', async () => {
    // Their own pair (one is removed), on the shared network.
    const labels = { 'chaoskit.test.group': lab.name('grp') };
    const [a, b] = await Promise.all([
      lab.run('grp-a', { network: net, labels }),
      lab.run('grp-b', { network: net, labels }),
    ]);
    const target: Target = { kind: 'docker', labels };
    const loss = await prepare('packet-loss', testCtx('grp', target), { loss: '50%', direction: 'both' });
    const pause = await prepare('pause', testCtx('grp', target));
    expect(loss.description).toMatch(
      new RegExp(`packet loss in container (${a}|${b}), container (${a}|${b}) \\(grp\\)$`),
    );
    await loss.apply();
    await pause.apply();
    expect(await lab.rules(b)).toHaveLength(2);
    const idA = (await lab.inspect(a)).Id;
    await must(['docker', 'rm', '-f', a]);

    const r1 = await revert(pause.recipe);
    expect(r1.outcome).toBe('reverted');
    expect(r1.notes).toEqual([
      `target gone: container ${a} (${idA.slice(0, 12)}) no longer exists; nothing to revert there`,
    ]);
    expect((await lab.inspect(b)).State.Paused).toBe(false);

    const r2 = await revert(loss.recipe);
    expect(r2.outcome).toBe('reverted');
    expect(r2.notes).toEqual([
      `target gone: container ${a} (${idA.slice(0, 12)}) no longer exists; its network namespace and the rules in it went with it`,
    ]);
    expect(await lab.rules(b)).toEqual([]);
  });

  it('latency/jitter on a container: the preflight says whether this kernel has netem, and how to get it', async () => {
    const probe = await sh([
      'unshare',
      '--net',
      '--',
      'tc',
      'qdisc',
      'add',
      'dev',
      'lo',
      'root',
      'netem',
      'delay',
      '1ms',
    ]);
    for (const type of ['latency', 'jitter']) {
      const def = faultDef(type)!;
      const problem = await def.preflight!(
        docker(a),
        def.params.parse(type === 'latency' ? { delay: '100ms' } : { jitter: '20ms' }),
      );
      if (probe.code === 0) {
        expect(problem).toBeNull();
      } else {
        console.log(`${type} preflight here: ${problem}`);
        expect(problem).toContain('this kernel has no sch_netem qdisc');
        expect(problem).toContain('modprobe sch_netem');
        expect(problem).toContain('proxy target');
      }
    }
  });
});
