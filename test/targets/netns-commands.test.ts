/**
 * The exact command lines of the iptables/tc faults on docker and netns targets, through an
 * injected executor and an in-memory Docker API: no root, no Docker. Preparing runs only reads;
 * apply runs the adds inside the container's namespace (nsenter -t PID -n); the recipe holds the
 * matching deletes; the revert runs them, sweeps by mark and checks that nothing is left.
 */
import { describe, expect, it } from 'vitest';
import { faultDef } from '../../faults/index.ts';
import { createPrng } from '../../src/load/prng.ts';
import type { Target } from '../../src/scenario/schema.ts';
import { inNetns, netnsManualRevert, qdiscHandle } from '../../src/targets/netns.ts';
import { splitArgs } from '../../src/targets/netns-revert.ts';
import { manualRevertFor, revertRecipe } from '../../src/targets/revert.ts';
import type { NetnsCmdRecipe } from '../../src/targets/types.ts';
import { testCtx } from '../helpers/docker.ts';
import { container, fakeDocker, fakeExec, on, selfStartTime } from './fakes.ts';

const web: Target = { kind: 'docker', container: 'web' };
const MARK = 'chaoskit:run1:f1';
const H = qdiscHandle(MARK);
const IPT = ['iptables', '-w', '5'];
const drop = (chain: string, ...m: string[]) => [
  chain,
  ...m,
  '-m',
  'comment',
  '--comment',
  MARK,
  '-j',
  'DROP',
];
const stat = (p: string) => ['-m', 'statistic', '--mode', 'random', '--probability', p];
const LINKS = JSON.stringify([{ ifname: 'lo' }, { ifname: 'eth0' }]);
const DEFAULT_QDISC = JSON.stringify([{ kind: 'noqueue', handle: '0:', root: true }]);

function setup() {
  const docker = fakeDocker([
    container('web'),
    container('db', {
      networks: { app: { ipv4: '172.18.0.5', aliases: ['db'] }, bridge: { ipv4: '172.17.0.5', aliases: [] } },
    }),
  ]);
  const exec = fakeExec(
    on('ip -j link show', { stdout: LINKS }),
    on('tc -j qdisc show dev eth0', { stdout: DEFAULT_QDISC }),
  );
  const targets: Record<string, Target> = { web, db: { kind: 'docker', container: 'db', network: 'app' } };
  const ctx = {
    ...testCtx('web', web, { targets, io: { exec, docker } }),
    mark: MARK,
    faultId: 'f1',
    runId: 'run1',
  };
  return { docker, exec, ctx };
}

const table: {
  name: string;
  type: string;
  params: Record<string, unknown>;
  rules?: string[][];
  add?: string[][];
  undo?: string[][];
}[] = [
  {
    name: 'partition from literal peers (IP and CIDR), both directions',
    type: 'partition',
    params: { peers: ['10.9.0.7', '10.9.1.0/24'] },
    rules: [
      drop('INPUT', '-s', '10.9.0.7'),
      drop('OUTPUT', '-d', '10.9.0.7'),
      drop('INPUT', '-s', '10.9.1.0/24'),
      drop('OUTPUT', '-d', '10.9.1.0/24'),
    ],
  },
  {
    name: 'partition from a peer target (its address on the target network)',
    type: 'partition',
    params: { peers: ['db'] },
    rules: [drop('INPUT', '-s', '172.18.0.5'), drop('OUTPUT', '-d', '172.18.0.5')],
  },
  {
    name: 'partition without peers: all but loopback',
    type: 'partition',
    params: {},
    rules: [drop('INPUT', '!', '-i', 'lo'), drop('OUTPUT', '!', '-o', 'lo')],
  },
  {
    name: 'packet-loss egress (default)',
    type: 'packet-loss',
    params: { loss: '25%' },
    rules: [drop('OUTPUT', '!', '-o', 'lo', ...stat('0.25'))],
  },
  {
    name: 'packet-loss ingress from one peer',
    type: 'packet-loss',
    params: { loss: 0.1, direction: 'ingress', peers: ['10.0.0.1'] },
    rules: [drop('INPUT', '-s', '10.0.0.1', ...stat('0.1'))],
  },
  {
    name: 'packet-loss both ways',
    type: 'packet-loss',
    params: { loss: '33.3%', direction: 'both' },
    rules: [
      drop('OUTPUT', '!', '-o', 'lo', ...stat('0.333')),
      drop('INPUT', '!', '-i', 'lo', ...stat('0.333')),
    ],
  },
  {
    name: 'bandwidth: a tbf root qdisc with the fault’s own handle on each device',
    type: 'bandwidth',
    params: { rate: '1MB/s' },
    add: [
      [
        'tc',
        'qdisc',
        'add',
        'dev',
        'eth0',
        'root',
        'handle',
        H,
        'tbf',
        'rate',
        '8000000bit',
        'burst',
        '20000',
        'latency',
        '100ms',
      ],
    ],
    undo: [['tc', 'qdisc', 'del', 'dev', 'eth0', 'root', 'handle', H]],
  },
  {
    name: 'bandwidth: a low rate still gets a burst of four full frames',
    type: 'bandwidth',
    params: { rate: '64KB/s' },
    add: [
      [
        'tc',
        'qdisc',
        'add',
        'dev',
        'eth0',
        'root',
        'handle',
        H,
        'tbf',
        'rate',
        '512000bit',
        'burst',
        '6056',
        'latency',
        '100ms',
      ],
    ],
    undo: [['tc', 'qdisc', 'del', 'dev', 'eth0', 'root', 'handle', H]],
  },
  {
    name: 'latency through netem (where the kernel has it)',
    type: 'latency',
    params: { delay: '100ms', jitter: '10ms' },
    add: [
      [
        'tc',
        'qdisc',
        'add',
        'dev',
        'eth0',
        'root',
        'handle',
        H,
        'netem',
        'delay',
        '100ms',
        '10ms',
        'distribution',
        'normal',
      ],
    ],
    undo: [['tc', 'qdisc', 'del', 'dev', 'eth0', 'root', 'handle', H]],
  },
  {
    name: 'jitter through netem, no base delay',
    type: 'jitter',
    params: { jitter: '30ms' },
    add: [
      [
        'tc',
        'qdisc',
        'add',
        'dev',
        'eth0',
        'root',
        'handle',
        H,
        'netem',
        'delay',
        '0ms',
        '30ms',
        'distribution',
        'normal',
      ],
    ],
    undo: [['tc', 'qdisc', 'del', 'dev', 'eth0', 'root', 'handle', H]],
  },
];

describe('command lines of network faults on a docker target', () => {
  const ns = (argv: string[]) => ['nsenter', '-t', String(process.pid), '-n', '--', ...argv];

  it.each(table)('$name', async ({ type, params, rules, add, undo }) => {
    const { exec, ctx, docker } = setup();
    const def = faultDef(type)!;
    const prepared = await def.on.docker!(ctx, def.params.parse(params));
    const wantAdd = add ?? rules!.map((r) => [...IPT, '-I', ...r]);
    const wantUndo = undo ?? rules!.map((r) => [...IPT, '-D', ...r]);
    // Preparing only reads.
    expect(exec.calls.filter((c) => c.includes('-I') || c.includes('add'))).toEqual([]);
    expect(docker.calls).toEqual([]);
    const web0 = (await docker.inspect('web'))!;
    expect(prepared.recipe).toEqual({
      driver: 'netns-cmd',
      mark: MARK,
      places: [
        {
          enter: { pid: process.pid, startTime: selfStartTime(), container: { id: web0.id, name: 'web' } },
          undo: wantUndo,
        },
      ],
    });
    const before = exec.calls.length;
    await prepared.apply();
    expect(exec.calls.slice(before)).toEqual(wantAdd.map(ns));
    expect(prepared.manualRevert).toBe(
      wantUndo
        .map((u) =>
          ns(u)
            .map((a) => (a === '!' ? `'!'` : a))
            .join(' '),
        )
        .join('; '),
    );
  });

  it('bandwidth refuses a device whose root qdisc it does not own, before changing anything', async () => {
    const { ctx, docker } = setup();
    const exec = fakeExec(
      on('ip -j link show', { stdout: LINKS }),
      on('tc -j qdisc show dev eth0', {
        stdout: JSON.stringify([{ kind: 'htb', handle: '1:', root: true }]),
      }),
    );
    const def = faultDef('bandwidth')!;
    await expect(
      def.on.docker!({ ...ctx, io: { exec, docker } }, def.params.parse({ rate: '1MB/s' })),
    ).rejects.toThrow(
      'container web already has a root qdisc htb 1: on eth0 that chaoskit did not set up; remove it first',
    );
    expect(exec.calls.every((c) => !c.includes('add'))).toBe(true);
  });

  it('a paused peer container still resolves to its address', async () => {
    const { ctx, docker } = setup();
    await docker.pause((await docker.inspect('db'))!.id);
    const def = faultDef('partition')!;
    const p = await def.on.docker!(ctx, def.params.parse({ peers: ['db'] }));
    expect(p.description).toBe('iptables DROP to and from 172.18.0.5 in container web (web)');
  });

  it('a peer that is not a target nor an address is an error naming it', async () => {
    const { ctx } = setup();
    const def = faultDef('partition')!;
    await expect(def.on.docker!(ctx, def.params.parse({ peers: ['nope'] }))).rejects.toThrow(
      'peer "nope" is neither an IPv4 address nor a target in the environment',
    );
  });

  it('picks `count` containers with the seeded PRNG: one place per picked container', async () => {
    const docker = fakeDocker([container('w1'), container('w2'), container('w3')], {
      w1: { app: 'w' },
      w2: { app: 'w' },
      w3: { app: 'w' },
    });
    const exec = fakeExec();
    const t: Target = { kind: 'docker', labels: { app: 'w' } };
    const def = faultDef('packet-loss')!;
    const ctx = () => testCtx('w', t, { io: { exec, docker }, pick: { count: 2 }, prng: createPrng(3) });
    const p1 = await def.on.docker!(ctx(), def.params.parse({ loss: '5%' }));
    const p2 = await def.on.docker!(ctx(), def.params.parse({ loss: '5%' }));
    const names = (r: typeof p1.recipe) =>
      (r as NetnsCmdRecipe).places.map((p) => ('pid' in p.enter ? p.enter.container?.name : ''));
    expect(names(p1.recipe)).toHaveLength(2);
    expect(names(p2.recipe)).toEqual(names(p1.recipe));
  });
});

describe('reverting a netns-cmd recipe', () => {
  const enter = () => ({
    pid: process.pid,
    startTime: selfStartTime(),
    container: { id: 'web-id', name: 'web' },
  });
  const recipe = (): NetnsCmdRecipe => ({
    driver: 'netns-cmd',
    mark: MARK,
    places: [{ enter: enter(), undo: [[...IPT, '-D', ...drop('OUTPUT', '-d', '10.0.0.1')]] }],
  });
  const listed = `-P INPUT ACCEPT\n-A OUTPUT -d 10.0.0.1/32 -m comment --comment "${MARK}" -j DROP\n-A OUTPUT -d 10.0.0.2/32 -m comment --comment "someone-else" -j DROP\n`;
  const ns = (argv: string[]) => ['nsenter', '-t', String(process.pid), '-n', '--', ...argv];

  it('deletes the rule, sweeps a duplicate left with the mark (and only that), and verifies', async () => {
    let lists = 0;
    const exec = fakeExec(on('iptables -w 5 -S', () => ({ stdout: lists++ === 0 ? listed : '' })));
    expect(await revertRecipe(recipe(), { io: { exec, docker: fakeDocker([]) } })).toBe('reverted');
    expect(exec.calls).toEqual([
      ns([...IPT, '-D', ...drop('OUTPUT', '-d', '10.0.0.1')]),
      ns([...IPT, '-S']),
      ns([...IPT, '-D', 'OUTPUT', '-d', '10.0.0.1/32', '-m', 'comment', '--comment', MARK, '-j', 'DROP']),
      ns([...IPT, '-S']),
    ]);
  });

  it('a rule already gone is no failure: already-gone', async () => {
    const exec = fakeExec(
      on('-j DROP', { code: 1, stderr: 'iptables: Bad rule (does a matching rule exist in that chain?).' }),
    );
    expect(await revertRecipe(recipe(), { io: { exec, docker: fakeDocker([]) } })).toBe('already-gone');
  });

  it('a marked rule that will not go away fails the revert, naming it', async () => {
    const exec = fakeExec(
      on('iptables -w 5 -S', { stdout: listed }),
      on('-j DROP', { code: 1, stderr: 'nope' }),
    );
    await expect(revertRecipe(recipe(), { io: { exec, docker: fakeDocker([]) } })).rejects.toThrow(
      `container web still has rule -A OUTPUT -d 10.0.0.1/32 -m comment --comment ${MARK} -j DROP`,
    );
  });

  it('a container whose init process is gone: nothing to run, "target gone" noted', async () => {
    const exec = fakeExec();
    const notes: string[] = [];
    const r: NetnsCmdRecipe = {
      ...recipe(),
      places: [
        {
          enter: { pid: process.pid, startTime: 1, container: { id: 'web-id', name: 'web' } },
          undo: [['true']],
        },
      ],
    };
    expect(
      await revertRecipe(r, { io: { exec, docker: fakeDocker([]) }, onNote: (n) => notes.push(n) }),
    ).toBe('already-gone');
    expect(exec.calls).toEqual([]);
    expect(notes).toEqual([
      'target gone: container web (web-id) no longer exists; its network namespace and the rules in it went with it',
    ]);
  });

  it('qdisc undo plus a sweep of the fault’s own handle', async () => {
    const exec = fakeExec(
      on('tc -j qdisc show', { stdout: JSON.stringify([{ dev: 'eth0', handle: '0:', root: true }]) }),
    );
    const r: NetnsCmdRecipe = {
      driver: 'netns-cmd',
      mark: MARK,
      places: [{ enter: enter(), undo: [['tc', 'qdisc', 'del', 'dev', 'eth0', 'root', 'handle', H]] }],
    };
    expect(await revertRecipe(r, { io: { exec, docker: fakeDocker([]) } })).toBe('reverted');
    expect(exec.calls).toEqual([
      ns(['tc', 'qdisc', 'del', 'dev', 'eth0', 'root', 'handle', H]),
      ns(['tc', '-j', 'qdisc', 'show']),
      ns(['tc', '-j', 'qdisc', 'show']),
    ]);
    expect(manualRevertFor(r)).toBe(`nsenter -t ${process.pid} -n -- tc qdisc del dev eth0 root handle ${H}`);
  });

  it('named namespaces are entered by path', () => {
    expect(inNetns({ netns: 'ns-a' }, ['tc', 'qdisc', 'show'])).toEqual([
      'nsenter',
      '--net=/run/netns/ns-a',
      '--',
      'tc',
      'qdisc',
      'show',
    ]);
    expect(
      netnsManualRevert({
        driver: 'netns-cmd',
        mark: MARK,
        places: [{ enter: { netns: 'ns-a' }, undo: [['iptables', '-D', 'INPUT', '!', '-i', 'lo']] }],
      }),
    ).toBe(`nsenter --net=/run/netns/ns-a -- iptables -D INPUT '!' -i lo`);
  });
});

describe('small pure pieces', () => {
  it('qdisc handles are derived from the mark: stable, in chaoskit’s range c000-cfff', () => {
    expect(qdiscHandle(MARK)).toBe(qdiscHandle(MARK));
    expect(qdiscHandle(MARK)).toMatch(/^c[0-9a-f]{3}:$/);
    expect(
      new Set(Array.from({ length: 50 }, (_, i) => qdiscHandle(`chaoskit:r:f${i}`))).size,
    ).toBeGreaterThan(45);
  });

  it('iptables -S lines split into argv, quoted comments unquoted', () => {
    expect(splitArgs('-A INPUT -s 10.0.0.1/32 -m comment --comment "chaoskit:r 1:f1" -j DROP')).toEqual([
      '-A',
      'INPUT',
      '-s',
      '10.0.0.1/32',
      '-m',
      'comment',
      '--comment',
      'chaoskit:r 1:f1',
      '-j',
      'DROP',
    ]);
  });
});
