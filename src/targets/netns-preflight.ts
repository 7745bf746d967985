/**
 * Preflight checks for network faults on docker and netns targets: what is missing (privilege,
 * tool, kernel module, namespace, a foreign qdisc) in plain words, with how to get it.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Target } from '../scenario/schema.ts';
import { checkDockerTarget, checkLocalPids, dockerOf, findContainers } from './docker.ts';
import type { Executor } from './exec.ts';
import { devicesOf, execOf, foreignRootQdisc, isCidr, NETNS_DIR, type Place } from './netns.ts';
import { processStartTime } from './process.ts';
import type { TargetIo } from './types.ts';

/** Preflight: peers name docker/netns targets or are IPv4 addresses. */
export function checkPeers(
  peers: readonly string[] | undefined,
  targets: Readonly<Record<string, { kind: string }>> | undefined,
): string | null {
  for (const p of peers ?? []) {
    if (isCidr(p)) continue;
    const t = targets?.[p];
    if (!t)
      return `peer ${JSON.stringify(p)} is neither an IPv4 address (or CIDR) nor a target in the environment`;
    if (t.kind !== 'docker' && t.kind !== 'netns')
      return `peer ${p} is a ${t.kind} target; peers are docker or netns targets, or IPv4 addresses`;
  }
  return null;
}

const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;
const PACKAGE: Record<string, string> = {
  iptables: 'iptables',
  tc: 'iproute2',
  ip: 'iproute2',
  nsenter: 'util-linux',
  unshare: 'util-linux',
};

/** Root-like privileges (CAP_NET_ADMIN to change rules, CAP_SYS_ADMIN to enter namespaces) and the tools. */
export async function checkNetTools(
  exec: Executor,
  tools: readonly ('iptables' | 'tc')[],
  status = readSelfStatus(),
): Promise<string | null> {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  const caps = m ? BigInt(`0x${m[1]}`) : 0n;
  const missing = [CAP_NET_ADMIN, CAP_SYS_ADMIN].filter((c) => ((caps >> c) & 1n) === 0n);
  if (missing.length > 0) {
    return `changing ${tools.join('/')} inside a network namespace needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN, missing: ${missing.map((c) => (c === CAP_NET_ADMIN ? 'CAP_NET_ADMIN' : 'CAP_SYS_ADMIN')).join(', ')}); run chaoskit as root (sudo)`;
  }
  for (const [tool, probe] of [
    ['nsenter', ['nsenter', '--version']],
    ['ip', ['ip', '-V']],
    ...tools.map((t) => [t, t === 'tc' ? ['tc', '-V'] : ['iptables', '--version']]),
  ] as [string, string[]][]) {
    if ((await exec(probe)).code === 127)
      return `${tool} is not installed; install it (apt-get install -y ${PACKAGE[tool]})`;
  }
  return null;
}

function readSelfStatus(): string {
  try {
    return readFileSync('/proc/self/status', 'utf8');
  } catch {
    return '';
  }
}

/** netem needs the sch_netem kernel module; tried in a throwaway namespace that vanishes with the probe. */
export async function checkNetem(exec: Executor): Promise<string | null> {
  const r = await exec([
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
  if (r.code === 0) return null;
  if (r.code === 127)
    return 'unshare (util-linux) or tc (iproute2) is not installed; install them (apt-get install -y util-linux iproute2)';
  return `this kernel has no sch_netem qdisc (tc said: ${r.stderr.trim() || `exit ${r.code}`}), so latency cannot be added inside a container or namespace; load it (modprobe sch_netem; on Ubuntu it is in linux-modules-extra-$(uname -r)), or put the latency on a proxy target instead (chaos proxy in front of the service, fault type latency)`;
}

export function checkNamespace(ns: string): string | null {
  return existsSync(`${NETNS_DIR}/${ns}`)
    ? null
    : `network namespace ${ns} does not exist (see ip netns list); create it with ip netns add ${ns}`;
}

/** Preflight for iptables/tc faults on a docker or netns target. */
export async function checkNetTarget(
  t: Target,
  tools: readonly ('iptables' | 'tc')[],
  io?: TargetIo,
): Promise<string | null> {
  const exec = execOf(io);
  if (t.kind === 'netns') return checkNamespace(t.namespace) ?? (await checkNetTools(exec, tools));
  if (t.kind !== 'docker') return null;
  const docker = dockerOf(io);
  const problem = await checkDockerTarget(t, docker);
  if (problem) return problem;
  const found = await findContainers(t, docker);
  return checkLocalPids(found) ?? (await checkNetTools(exec, tools));
}

/** Preflight for qdisc faults: no device of the target has a root qdisc chaoskit did not set up. */
export async function checkRootQdiscs(t: Target, io?: TargetIo): Promise<string | null> {
  const exec = execOf(io);
  const places: Place[] = [];
  if (t.kind === 'netns') places.push({ enter: { netns: t.namespace }, label: `namespace ${t.namespace}` });
  else if (t.kind === 'docker') {
    for (const c of await findContainers(t, dockerOf(io))) {
      places.push({
        enter: { pid: c.pid, startTime: processStartTime(c.pid) ?? 0 },
        label: `container ${c.name}`,
      });
    }
  }
  for (const p of places) {
    for (const dev of await devicesOf(exec, p.enter, t.kind === 'netns' ? t.device : undefined)) {
      const foreign = await foreignRootQdisc(exec, p.enter, dev);
      if (foreign)
        return `${p.label} already has a root qdisc ${foreign} on ${dev} that chaoskit did not set up; remove it first (tc qdisc del dev ${dev} root), chaoskit never replaces one it does not own`;
    }
  }
  return null;
}
