/**
 * Network faults inside network namespaces: a container's (entered through its init process) or
 * a named one (`ip netns add`). Rules are made with the host's iptables and tc through nsenter,
 * so the container needs no tools of its own. Every iptables rule carries the fault's mark as a
 * comment and every qdisc a handle derived from it; a revert deletes exactly those, then sweeps
 * for any left with the mark, and checks that none remain.
 *
 *   prepare: places (picked containers / the namespace) ─> add + undo command lists (plain argv)
 *   apply:   run the adds         revert (netns-revert.ts): run the undos, sweep by mark, verify
 * Preflight checks live in netns-preflight.ts.
 */
import { existsSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { dockerOf, findContainers, pickContainers, refOf } from './docker.ts';
import { realExecutor, run, shellLine, type Executor } from './exec.ts';
import { processStartTime } from './process.ts';
import { armSelfRevert } from './self-revert.ts';
import type { ApplyContext, NetnsCmdRecipe, NetnsEnter, Prepared } from './types.ts';
import { IPTABLES, qdiscHandle } from './marks.ts';

export { IPTABLES, qdiscHandle };

export const NETNS_DIR = '/run/netns';

export interface Place {
  enter: NetnsEnter;
  /** `container web-1` or `namespace ns-a`, for messages. */
  label: string;
}

export const execOf = (io?: { exec?: Executor }): Executor => io?.exec ?? realExecutor;

/** argv run inside the place's network namespace. */
export function inNetns(enter: NetnsEnter, argv: readonly string[]): string[] {
  return 'netns' in enter
    ? ['nsenter', `--net=${NETNS_DIR}/${enter.netns}`, '--', ...argv]
    : ['nsenter', '-t', String(enter.pid), '-n', '--', ...argv];
}

/** Is the namespace still there (the same init process: a recycled PID is never entered)? */
export function placeAlive(enter: NetnsEnter): boolean {
  return 'netns' in enter
    ? existsSync(`${NETNS_DIR}/${enter.netns}`)
    : processStartTime(enter.pid) === enter.startTime;
}

/** The target's places: picked running containers, or its named namespace. */
export async function placesOf(ctx: ApplyContext): Promise<Place[]> {
  if (ctx.target.kind === 'netns') {
    if (!existsSync(`${NETNS_DIR}/${ctx.target.namespace}`))
      throw new Error(`network namespace ${ctx.target.namespace} does not exist`);
    return [{ enter: { netns: ctx.target.namespace }, label: `namespace ${ctx.target.namespace}` }];
  }
  const out: Place[] = [];
  for (const c of await pickContainers(ctx)) {
    const startTime = processStartTime(c.pid);
    if (startTime === undefined || !c.local)
      throw new Error(
        `the init process (pid ${c.pid}) of container ${c.name} is not visible here; run chaoskit on the Docker host`,
      );
    out.push({ enter: { pid: c.pid, startTime, container: refOf(c) }, label: `container ${c.name}` });
  }
  return out;
}

// ---- rules and qdiscs (pure argv builders; tests assert them) ----------------------------------

/** A DROP rule's spec (chain and matches), without -I/-D; the mark makes it ours. */
export function dropRule(chain: 'INPUT' | 'OUTPUT', match: readonly string[], mark: string): string[] {
  return [chain, ...match, '-m', 'comment', '--comment', mark, '-j', 'DROP'];
}
export const insertRule = (spec: readonly string[]) => [...IPTABLES, '-I', ...spec];
export const deleteRule = (spec: readonly string[]) => [...IPTABLES, '-D', ...spec];

/** Both directions to/from each peer; with no peers, everything but loopback. */
export function partitionRules(peers: readonly string[], mark: string): string[][] {
  if (peers.length === 0)
    return [dropRule('INPUT', ['!', '-i', 'lo'], mark), dropRule('OUTPUT', ['!', '-o', 'lo'], mark)];
  return peers.flatMap((p) => [dropRule('INPUT', ['-s', p], mark), dropRule('OUTPUT', ['-d', p], mark)]);
}

export type Direction = 'egress' | 'ingress' | 'both';

/** Random drops of `probability` of packets leaving (egress) and/or arriving (ingress); loopback spared. */
export function lossRules(
  probability: number,
  direction: Direction,
  peers: readonly string[],
  mark: string,
): string[][] {
  const stat = [
    '-m',
    'statistic',
    '--mode',
    'random',
    '--probability',
    String(Number(probability.toFixed(6))),
  ];
  const rules: string[][] = [];
  const to = peers.length ? peers : [null];
  for (const p of to) {
    if (direction !== 'ingress')
      rules.push(dropRule('OUTPUT', [...(p ? ['-d', p] : ['!', '-o', 'lo']), ...stat], mark));
    if (direction !== 'egress')
      rules.push(dropRule('INPUT', [...(p ? ['-s', p] : ['!', '-i', 'lo']), ...stat], mark));
  }
  return rules;
}

/** Token bucket at `bytesPerS`: a burst of ~20 ms of traffic (at least four full frames), 100 ms of queue. */
export function tbfAdd(dev: string, handle: string, bytesPerS: number): string[] {
  const burst = Math.max(4 * 1514, Math.ceil(bytesPerS / 50));
  return [
    'tc',
    'qdisc',
    'add',
    'dev',
    dev,
    'root',
    'handle',
    handle,
    'tbf',
    'rate',
    `${bytesPerS * 8}bit`,
    'burst',
    String(burst),
    'latency',
    '100ms',
  ];
}

export function netemAdd(dev: string, handle: string, delayMs: number, jitterMs: number): string[] {
  const jitter = jitterMs > 0 ? [`${jitterMs}ms`, 'distribution', 'normal'] : [];
  return [
    'tc',
    'qdisc',
    'add',
    'dev',
    dev,
    'root',
    'handle',
    handle,
    'netem',
    'delay',
    `${delayMs}ms`,
    ...jitter,
  ];
}

export const qdiscDel = (dev: string, handle: string) => [
  'tc',
  'qdisc',
  'del',
  'dev',
  dev,
  'root',
  'handle',
  handle,
];

/** Devices in the namespace other than loopback (or just `device`). */
export async function devicesOf(exec: Executor, enter: NetnsEnter, device?: string): Promise<string[]> {
  if (device) return [device];
  const links = JSON.parse(await run(exec, inNetns(enter, ['ip', '-j', 'link', 'show']))) as {
    ifname: string;
  }[];
  return links.map((l) => l.ifname).filter((n) => n !== 'lo');
}

/** A root qdisc someone set up (kernel defaults have handle 0:); chaoskit never replaces those. */
export async function foreignRootQdisc(
  exec: Executor,
  enter: NetnsEnter,
  dev: string,
): Promise<string | null> {
  const qs = JSON.parse(await run(exec, inNetns(enter, ['tc', '-j', 'qdisc', 'show', 'dev', dev]))) as {
    kind: string;
    handle: string;
    root?: boolean;
  }[];
  const root = qs.find((q) => q.root);
  return root && root.handle !== '0:' ? `${root.kind} ${root.handle}` : null;
}

// ---- prepare / apply ---------------------------------------------------------------------------

export interface PlaceCommands {
  place: Place;
  add: string[][];
  undo: string[][];
}

/** A Prepared whose apply runs `add` in each place and whose recipe holds the `undo` lists. */
export function prepared(ctx: ApplyContext, cmds: readonly PlaceCommands[], what: string): Prepared {
  const exec = execOf(ctx.io);
  const recipe: NetnsCmdRecipe = {
    driver: 'netns-cmd',
    mark: ctx.mark,
    places: cmds.map((c) => ({ enter: c.place.enter, undo: c.undo })),
  };
  return {
    recipe,
    description: `${what} in ${cmds.map((c) => c.place.label).join(', ')} (${ctx.targetName})`,
    manualRevert: netnsManualRevert(recipe),
    apply: async () => {
      armSelfRevert(ctx);
      for (const c of cmds) {
        if (!placeAlive(c.place.enter)) throw new Error(`${c.place.label} is gone`);
        for (const argv of c.add) await run(exec, inNetns(c.place.enter, argv));
      }
      return {};
    },
  };
}

/** iptables rules (specs) inserted in every place of the target. */
export async function prepareRules(
  ctx: ApplyContext,
  specs: (place: Place) => Promise<string[][]> | string[][],
  what: string,
): Promise<Prepared> {
  const cmds: PlaceCommands[] = [];
  for (const place of await placesOf(ctx)) {
    const rules = await specs(place);
    cmds.push({ place, add: rules.map(insertRule), undo: rules.map(deleteRule) });
  }
  return prepared(ctx, cmds, what);
}

/** One root qdisc (built by `add(dev, handle)`) per device in every place; refuses to replace a foreign one. */
export async function prepareQdisc(
  ctx: ApplyContext,
  add: (dev: string, handle: string) => string[],
  what: string,
): Promise<Prepared> {
  const exec = execOf(ctx.io);
  const handle = qdiscHandle(ctx.mark);
  const device = ctx.target.kind === 'netns' ? ctx.target.device : undefined;
  const cmds: PlaceCommands[] = [];
  for (const place of await placesOf(ctx)) {
    const devs = await devicesOf(exec, place.enter, device);
    for (const dev of devs) {
      const foreign = await foreignRootQdisc(exec, place.enter, dev);
      if (foreign)
        throw new Error(
          `${place.label} already has a root qdisc ${foreign} on ${dev} that chaoskit did not set up; remove it first (chaoskit never replaces one it does not own)`,
        );
    }
    cmds.push({ place, add: devs.map((d) => add(d, handle)), undo: devs.map((d) => qdiscDel(d, handle)) });
  }
  return prepared(ctx, cmds, what);
}

// ---- peers -------------------------------------------------------------------------------------

export const isCidr = (s: string) => {
  const [ip, len, extra] = s.split('/');
  return (
    extra === undefined && isIPv4(ip ?? '') && (len === undefined || (/^\d+$/.test(len) && Number(len) <= 32))
  );
};

/** Peers as IPv4 addresses: literal addresses/CIDRs, or other docker/netns targets of the environment. */
export async function resolvePeers(ctx: ApplyContext, peers: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of peers) {
    if (isCidr(p)) {
      out.push(p);
      continue;
    }
    const t = ctx.targets?.[p];
    if (!t)
      throw new Error(`peer ${JSON.stringify(p)} is neither an IPv4 address nor a target in the environment`);
    let ips: string[] = [];
    if (t.kind === 'docker') {
      const cs = await findContainers(t, dockerOf(ctx.io), true);
      ips = cs.flatMap((c) =>
        Object.entries(c.networks)
          .filter(([n]) => !t.network || n === t.network)
          .map(([, e]) => e.ipv4),
      );
    } else if (t.kind === 'netns') {
      const exec = execOf(ctx.io);
      const out4 = await run(exec, inNetns({ netns: t.namespace }, ['ip', '-j', '-4', 'addr', 'show']));
      const links = JSON.parse(out4) as { ifname: string; addr_info?: { local: string }[] }[];
      ips = links
        .filter((l) => l.ifname !== 'lo' && (!t.device || l.ifname === t.device))
        .flatMap((l) => (l.addr_info ?? []).map((a) => a.local));
    } else {
      throw new Error(
        `peer ${p} is a ${t.kind} target; peers are docker or netns targets, or IPv4 addresses`,
      );
    }
    ips = ips.filter(Boolean);
    if (ips.length === 0) throw new Error(`peer ${p} has no IPv4 address right now`);
    out.push(...ips);
  }
  return [...new Set(out)];
}

export function netnsManualRevert(r: NetnsCmdRecipe): string {
  return r.places.flatMap((p) => p.undo.map((a) => shellLine(inNetns(p.enter, a)))).join('; ');
}
