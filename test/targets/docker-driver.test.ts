/**
 * The docker driver against an in-memory Docker API, and the preflight messages against fakes:
 * which containers are picked, what each lifecycle fault asks of the engine, what its recipe
 * says, and how a revert treats containers that are back, gone or failing. No Docker needed.
 */
import { describe, expect, it } from 'vitest';
import { faultDef } from '../../faults/index.ts';
import type { Target } from '../../src/scenario/schema.ts';
import { checkDockerTarget, dockerManualRevert, revertDocker } from '../../src/targets/docker.ts';
import { checkNetem, checkNetTools, checkPeers } from '../../src/targets/netns-preflight.ts';
import type { DockerRecipe } from '../../src/targets/types.ts';
import { testCtx } from '../helpers/docker.ts';
import { container, fakeDocker, fakeExec, on } from './fakes.ts';

const web: Target = { kind: 'docker', container: 'web' };

async function prepare(
  type: string,
  docker: ReturnType<typeof fakeDocker>,
  params: Record<string, unknown> = {},
  target = web,
) {
  const def = faultDef(type)!;
  return def.on.docker!(
    testCtx('web', target, { io: { docker, exec: fakeExec() } }),
    def.params.parse(params),
  );
}

describe('lifecycle faults on a docker target', () => {
  it.each([
    { type: 'stop', params: { grace: '3s' }, calls: ['stop web 3'], action: 'start' },
    { type: 'restart', params: { grace: '0s' }, calls: ['restart web 0'], action: 'start' },
    { type: 'pause', params: {}, calls: ['pause web'], action: 'unpause' },
  ])(
    '$type asks the engine for $calls and records a `$action` recipe',
    async ({ type, params, calls, action }) => {
      const docker = fakeDocker([container('web')]);
      const p = await prepare(type, docker, params);
      expect(docker.calls).toEqual([]); // preparing only reads
      expect(p.recipe).toEqual({
        driver: 'docker',
        action,
        containers: [{ id: container('web').id, name: 'web' }],
      });
      await p.apply();
      expect(docker.calls).toEqual(calls);
      expect(p.manualRevert).toBe(`docker ${action} ${container('web').id}`);
    },
  );

  it('crash keeps the health URL in its recipe, so any layer can wait for healthy after starting it', async () => {
    const docker = fakeDocker([container('web')]);
    const p = await prepare(
      'crash',
      docker,
      {},
      { kind: 'docker', container: 'web', health: 'http://127.0.0.1:9/health' },
    );
    expect(p.recipe).toEqual({
      driver: 'docker',
      action: 'start',
      containers: [{ id: container('web').id, name: 'web' }],
      health: 'http://127.0.0.1:9/health',
    });
    expect(p.description).toBe('SIGKILL to the init process of container web (web)');
  });

  it('a name matches exactly (not as an id prefix) and a stopped container is not a target', async () => {
    const docker = fakeDocker([container('web', { running: false, status: 'exited' })]);
    await expect(prepare('pause', docker)).rejects.toThrow('no running container named web (target web)');
    await expect(prepare('pause', fakeDocker([container('webby')]))).rejects.toThrow(
      'no running container named web',
    );
    // Paused already (another fault, or a person): left alone, so a revert never unpauses it.
    await expect(prepare('pause', fakeDocker([container('web', { paused: true })]))).rejects.toThrow(
      'no running container named web',
    );
  });

  it('labels select every running container carrying them all; count picks among them', async () => {
    const labels = { a: { tier: 'api' }, b: { tier: 'api' }, c: { tier: 'db' } };
    const docker = fakeDocker([container('a'), container('b'), container('c')], labels);
    const names = (r: unknown) => (r as { containers: { name: string }[] }).containers.map((c) => c.name);
    const all = await prepare('pause', docker, {}, { kind: 'docker', labels: { tier: 'api' } });
    expect(names(all.recipe).sort()).toEqual(['a', 'b']);
    const def = faultDef('pause')!;
    const one = await def.on.docker!(
      testCtx('api', { kind: 'docker', labels: { tier: 'api' } }, { io: { docker }, pick: { count: 1 } }),
      {},
    );
    expect(names(one.recipe)).toHaveLength(1);
    expect(['a', 'b']).toContain(names(one.recipe)[0]);
  });

  it('partition by disconnect: aliases without the short id Docker adds, the IP only on a user subnet', async () => {
    const id = container('web').id;
    const docker = fakeDocker([
      container('web', { networks: { fixed1: { ipv4: '10.1.0.7', aliases: ['api', id.slice(0, 12)] } } }),
    ]);
    const p = await prepare(
      'partition',
      docker,
      { method: 'disconnect' },
      { kind: 'docker', container: 'web', network: 'fixed1' },
    );
    expect(p.recipe).toEqual({
      driver: 'docker',
      action: 'reconnect',
      network: 'fixed1',
      endpoints: [{ id, name: 'web', aliases: ['api'], ipv4: '10.1.0.7' }],
    });
    expect(p.manualRevert).toBe(`docker network connect --alias api --ip 10.1.0.7 fixed1 ${id}`);
    await p.apply();
    expect(docker.calls).toEqual(['disconnect fixed1 web']);
    expect(await revertDocker(p.recipe as DockerRecipe, docker)).toEqual({ outcome: 'reverted', notes: [] });
    expect(docker.calls[1]).toBe('connect fixed1 web {"aliases":["api"],"ipv4":"10.1.0.7"}');
    // Reconnected already: nothing to do.
    expect(await revertDocker(p.recipe as DockerRecipe, docker)).toEqual({
      outcome: 'already-gone',
      notes: [],
    });

    const auto = fakeDocker([
      container('web', { networks: { appnet: { ipv4: '172.20.0.3', aliases: [] } } }),
    ]);
    const q = await prepare(
      'partition',
      auto,
      { method: 'disconnect' },
      { kind: 'docker', container: 'web', network: 'appnet' },
    );
    expect(q.recipe).toMatchObject({ endpoints: [{ aliases: [] }] });
    expect((q.recipe as Extract<DockerRecipe, { action: 'reconnect' }>).endpoints[0]).not.toHaveProperty(
      'ipv4',
    );
  });
});

describe('reverting docker recipes', () => {
  const ref = (n: string) => ({ id: container(n).id, name: n });

  it('starts what is stopped, leaves running ones, notes removed ones, and still reverts the rest when one fails', async () => {
    const docker = fakeDocker([
      container('a', { running: false, status: 'exited' }),
      container('b'),
      container('c', { running: false, status: 'exited' }),
      container('d', { running: false, status: 'exited' }),
    ]);
    docker.failOn = 'c';
    const r: DockerRecipe = {
      driver: 'docker',
      action: 'start',
      containers: [ref('a'), ref('b'), ref('c'), ref('gone'), ref('d')],
    };
    await expect(revertDocker(r, docker)).rejects.toThrow('could not revert container(s): c: engine said no');
    expect(docker.calls).toEqual(['start a', 'start d']);
    docker.failOn = undefined;
    expect(await revertDocker(r, docker)).toEqual({
      outcome: 'reverted',
      notes: [
        `target gone: container gone (${ref('gone').id.slice(0, 12)}) no longer exists; nothing to revert there`,
      ],
    });
    expect(docker.calls.at(-1)).toBe('start c');
  });

  it('unpause only what is paused; nothing paused is already-gone', async () => {
    const docker = fakeDocker([container('a', { paused: true }), container('b')]);
    const r: DockerRecipe = { driver: 'docker', action: 'unpause', containers: [ref('a'), ref('b')] };
    expect((await revertDocker(r, docker)).outcome).toBe('reverted');
    expect(docker.calls).toEqual(['unpause a']);
    expect((await revertDocker(r, docker)).outcome).toBe('already-gone');
    expect(dockerManualRevert(r)).toBe(`docker unpause ${ref('a').id}; docker unpause ${ref('b').id}`);
  });
});

describe('preflight messages', () => {
  const NO_CAPS = 'Name:\tnode\nCapEff:\t0000000000000000\n';
  const ALL_CAPS = 'CapEff:\t000001ffffffffff\n';

  it('the Docker engine not reachable: where it was looked for and how to start it', async () => {
    const docker = {
      ...fakeDocker([]),
      ping: async () => Promise.reject(new Error('connect ENOENT /var/run/docker.sock')),
    };
    expect(await checkDockerTarget({ kind: 'docker', container: 'web' }, docker)).toMatch(
      /^the Docker engine is not reachable at \S+ \(connect ENOENT \/var\/run\/docker.sock\); start it \(systemctl start docker, or dockerd &\), or set DOCKER_HOST$/,
    );
  });

  it('no such container, by name or by labels', async () => {
    expect(await checkDockerTarget({ kind: 'docker', container: 'web' }, fakeDocker([]))).toBe(
      'no running container named web; start it, or fix the target in the environment',
    );
    expect(await checkDockerTarget({ kind: 'docker', labels: { app: 'x', tier: 'y' } }, fakeDocker([]))).toBe(
      'no running container with labels app=x,tier=y; start it, or fix the target in the environment',
    );
  });

  it('not root: which capabilities are missing', async () => {
    expect(await checkNetTools(fakeExec(), ['iptables'], NO_CAPS)).toBe(
      'changing iptables inside a network namespace needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN, missing: CAP_NET_ADMIN, CAP_SYS_ADMIN); run chaoskit as root (sudo)',
    );
  });

  it('a missing tool: which package has it', async () => {
    const exec = fakeExec(on('tc -V', { code: 127, stderr: 'tc: command not found' }));
    expect(await checkNetTools(exec, ['tc'], ALL_CAPS)).toBe(
      'tc is not installed; install it (apt-get install -y iproute2)',
    );
    const noIpt = fakeExec(on('iptables --version', { code: 127 }));
    expect(await checkNetTools(noIpt, ['iptables'], ALL_CAPS)).toBe(
      'iptables is not installed; install it (apt-get install -y iptables)',
    );
    expect(await checkNetTools(fakeExec(), ['iptables', 'tc'], ALL_CAPS)).toBeNull();
  });

  it('a kernel without sch_netem: what is missing, how to get it, and the proxy alternative', async () => {
    const exec = fakeExec(
      on('netem delay 1ms', { code: 2, stderr: 'Error: Specified qdisc kind is unknown.\n' }),
    );
    expect(await checkNetem(exec)).toBe(
      'this kernel has no sch_netem qdisc (tc said: Error: Specified qdisc kind is unknown.), so latency cannot be added inside a container or namespace; load it (modprobe sch_netem; on Ubuntu it is in linux-modules-extra-$(uname -r)), or put the latency on a proxy target instead (chaos proxy in front of the service, fault type latency)',
    );
    expect(exec.calls).toEqual([
      ['unshare', '--net', '--', 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms'],
    ]);
    expect(await checkNetem(fakeExec())).toBeNull();
  });

  it('peers: unknown names and non-network targets', () => {
    const targets = { db: { kind: 'docker' }, api: { kind: 'http' } };
    expect(checkPeers(['db', '10.0.0.0/8', '192.168.1.1'], targets)).toBeNull();
    expect(checkPeers(['nope'], targets)).toBe(
      'peer "nope" is neither an IPv4 address (or CIDR) nor a target in the environment',
    );
    expect(checkPeers(['api'], targets)).toBe(
      'peer api is a http target; peers are docker or netns targets, or IPv4 addresses',
    );
    expect(checkPeers(['10.0.0.0/33'], targets)).toMatch(/^peer "10.0.0.0\/33" is neither/);
  });

  it('partition parameters that do not fit the target kind', async () => {
    const def = faultDef('partition')!;
    const proxy: Target = { kind: 'proxy', proxy: 'p', api: 'http://127.0.0.1:9' };
    expect(await def.preflight!(proxy, def.params.parse({ peers: ['db'] }))).toBe(
      'peers and method are for docker and netns targets',
    );
    expect(await def.preflight!(web, def.params.parse({ mode: 'refuse' }))).toBe(
      'a docker partition drops packets (mode: blackhole); mode: refuse is for proxy targets',
    );
    expect(await def.preflight!(web, def.params.parse({ method: 'disconnect' }))).toBe(
      'method: disconnect needs a docker target with network: set',
    );
    const bw = faultDef('bandwidth')!;
    expect(await bw.preflight!(web, bw.params.parse({ rate: '1MB/s', stream: 'upstream' }))).toMatch(
      /^stream: upstream is for proxy targets/,
    );
  });
});
