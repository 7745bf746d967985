/**
 * Real containers and network namespaces for the docker/netns fault tests. Everything made here
 * is named `chaoskit-test-<random>-...` and labelled `chaoskit.test=<that prefix>`; cleanup
 * removes only those names and labels. Containers publish ports on 127.0.0.1 only; traffic goes
 * to loopback or between containers/namespaces the test created.
 *
 * The image comes from scripts/build-test-images.sh (docker import of Debian's static busybox).
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/core/paths.ts';
import { createPrng } from '../../src/load/prng.ts';
import { ownershipMark, type ApplyContext } from '../../src/targets/types.ts';
import type { Target } from '../../src/scenario/schema.ts';
import { processStartTime } from '../../src/targets/process.ts';

export const IMAGE = 'chaoskit-test/busybox:1';

export interface Sh {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv (no shell); never throws for a non-zero exit. */
export function sh(argv: string[], timeoutMs = 30_000): Promise<Sh> {
  return new Promise((resolve) => {
    execFile(
      argv[0]!,
      argv.slice(1),
      { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export async function must(argv: string[], timeoutMs = 30_000): Promise<string> {
  const r = await sh(argv, timeoutMs);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr || r.stdout}`);
  return r.stdout.trim();
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Whether the Docker tests can run here, and why not: a reason is printed and the suite skips.
 * Builds the test image (fast when it is up to date).
 */
export function dockerReady(): { ok: true } | { ok: false; reason: string } {
  return required('docker', checkDocker());
}

/**
 * .ci/run sets CHAOSKIT_REQUIRE_DOCKER=1: there a missing engine, image or tool is a failure of
 * the set-up, not a reason to skip (a skipped suite would pass CI without testing anything).
 */
function required<T extends { ok: boolean; reason?: string }>(what: string, r: T): T {
  if (!r.ok && process.env.CHAOSKIT_REQUIRE_DOCKER === '1')
    throw new Error(
      `CHAOSKIT_REQUIRE_DOCKER=1 (set by .ci/run) but the ${what} tests cannot run: ${r.reason}`,
    );
  return r;
}

function checkDocker(): { ok: true } | { ok: false; reason: string } {
  if (!isRoot())
    return { ok: false, reason: 'not root: the docker/netns tests need root for nsenter, iptables and tc' };
  try {
    execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], {
      stdio: 'pipe',
      timeout: 10_000,
    });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    const why = (e.stderr?.toString().trim() || e.message).split('\n').at(-1);
    return {
      ok: false,
      reason: `the Docker engine is not reachable (${why}); .ci/run installs and starts it`,
    };
  }
  try {
    execFileSync(join(PACKAGE_ROOT, 'scripts/build-test-images.sh'), { stdio: 'pipe', timeout: 120_000 });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    return {
      ok: false,
      reason: `scripts/build-test-images.sh failed: ${e.stderr?.toString().trim() || e.message}`,
    };
  }
  for (const tool of [
    ['iptables', '--version'],
    ['tc', '-V'],
    ['nsenter', '--version'],
  ]) {
    try {
      execFileSync(tool[0]!, tool.slice(1), { stdio: 'pipe' });
    } catch {
      return { ok: false, reason: `${tool[0]} is not installed (.ci/run installs iptables and iproute2)` };
    }
  }
  return { ok: true };
}

export function netnsReady(): { ok: true } | { ok: false; reason: string } {
  return required('netns', checkNetns());
}

function checkNetns(): { ok: true } | { ok: false; reason: string } {
  if (!isRoot())
    return { ok: false, reason: 'not root: the netns tests need root for ip netns, iptables and tc' };
  for (const tool of [
    ['ip', '-V'],
    ['iptables', '--version'],
    ['tc', '-V'],
    ['nsenter', '--version'],
    ['busybox', '--help'],
  ]) {
    try {
      execFileSync(tool[0]!, tool.slice(1), { stdio: 'pipe' });
    } catch {
      return {
        ok: false,
        reason: `${tool[0]} is not installed (.ci/run installs iproute2, iptables and busybox-static)`,
      };
    }
  }
  return { ok: true };
}

export const randomPrefix = () => `chaoskit-test-${randomBytes(4).toString('hex')}`;

export interface RunOptions {
  network?: string;
  aliases?: string[];
  ip?: string;
  /** Publish container port 80 on 127.0.0.1:hostPort. */
  hostPort?: number;
  restart?: 'no' | 'always' | 'unless-stopped';
  labels?: Record<string, string>;
  /** A shell command instead of the image's httpd. */
  cmd?: string;
}

/** `pid:starttime` of this test process, labelled on everything it makes (see sweepOrphans). */
const OWNER = `${process.pid}:${processStartTime(process.pid) ?? 0}`;

/**
 * Removes containers and networks that a test process of ours made (label chaoskit.test.owner)
 * and left behind when it died or a timed-out test body ran on past its cleanup. Only those
 * whose owner process is gone; never anything without our label.
 */
export async function sweepOrphans(): Promise<void> {
  const alive = (owner: string) => {
    const [pid, start] = owner.split(':').map(Number);
    return processStartTime(pid!) === start;
  };
  const list = async (kind: 'ps' | 'network') => {
    const args = kind === 'ps' ? ['docker', 'ps', '-a'] : ['docker', 'network', 'ls'];
    const format = '{{.ID}} {{.Label "chaoskit.test.owner"}}';
    const out = await sh([...args, '--filter', 'label=chaoskit.test.owner', '--format', format]);
    return out.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ') as [string, string]);
  };
  const containers = (await list('ps')).filter(([, o]) => !alive(o)).map(([id]) => id);
  if (containers.length) await sh(['docker', 'rm', '-f', ...containers]);
  const networks = (await list('network')).filter(([, o]) => !alive(o)).map(([id]) => id);
  if (networks.length) await sh(['docker', 'network', 'rm', ...networks]);
}

/** A set of containers and networks owned by one test file. */
export class DockerLab {
  readonly prefix = randomPrefix();
  /** Set by close(): a test body that runs on after its timeout cannot create more. */
  private closed = false;

  name(suffix: string): string {
    return `${this.prefix}-${suffix}`;
  }

  async network(suffix: string, subnet?: string): Promise<string> {
    const name = this.name(suffix);
    if (this.closed) throw new Error('the docker lab is closed');
    await must([
      'docker',
      'network',
      'create',
      '--label',
      `chaoskit.test=${this.prefix}`,
      '--label',
      `chaoskit.test.owner=${OWNER}`,
      ...(subnet ? ['--subnet', subnet] : []),
      name,
    ]);
    return name;
  }

  /** A network with a user-configured subnet (so fixed IPs are allowed); retries a few random /24s. */
  async networkWithSubnet(suffix: string): Promise<{ name: string; subnet: string }> {
    let last: unknown;
    for (let i = 0; i < 8; i++) {
      const subnet = `10.${200 + ((Math.random() * 50) | 0)}.${(Math.random() * 250) | 0}.0/24`;
      try {
        return { name: await this.network(suffix, subnet), subnet };
      } catch (err) {
        last = err;
      }
    }
    throw last;
  }

  async run(suffix: string, o: RunOptions = {}): Promise<string> {
    const name = this.name(suffix);
    if (this.closed) throw new Error('the docker lab is closed');
    const args = ['docker', 'run', '-d', '--name', name, '--label', `chaoskit.test=${this.prefix}`];
    args.push('--label', `chaoskit.test.owner=${OWNER}`);
    for (const [k, v] of Object.entries(o.labels ?? {})) args.push('--label', `${k}=${v}`);
    if (o.network) args.push('--network', o.network);
    for (const a of o.aliases ?? []) args.push('--network-alias', a);
    if (o.ip) args.push('--ip', o.ip);
    if (o.hostPort) args.push('-p', `127.0.0.1:${o.hostPort}:80`);
    if (o.restart) args.push('--restart', o.restart);
    args.push(IMAGE);
    if (o.cmd) args.push('sh', '-c', o.cmd);
    await must(args);
    return name;
  }

  async inspect(name: string): Promise<{
    Id: string;
    State: { Status: string; Running: boolean; Paused: boolean; Pid: number; StartedAt: string };
    RestartCount: number;
    NetworkSettings: { Networks: Record<string, { IPAddress: string; Aliases: string[] | null }> };
  }> {
    return JSON.parse(await must(['docker', 'inspect', '--type', 'container', name]))[0];
  }

  async ip(name: string, network?: string): Promise<string> {
    const nets = (await this.inspect(name)).NetworkSettings.Networks;
    const n = network ? nets[network] : Object.values(nets)[0];
    if (!n?.IPAddress) throw new Error(`${name} has no IP${network ? ` on ${network}` : ''}`);
    return n.IPAddress;
  }

  /** The container's iptables rules (filter table) seen from inside its network namespace. */
  async rules(name: string): Promise<string[]> {
    const pid = (await this.inspect(name)).State.Pid;
    return (await must(['nsenter', '-t', String(pid), '-n', '--', 'iptables', '-w', '5', '-S']))
      .split('\n')
      .filter((l) => l.startsWith('-A'));
  }

  async qdiscs(name: string): Promise<string> {
    const pid = (await this.inspect(name)).State.Pid;
    return must(['nsenter', '-t', String(pid), '-n', '--', 'tc', 'qdisc', 'show']);
  }

  exec(name: string, argv: string[], timeoutMs = 30_000): Promise<Sh> {
    return sh(['docker', 'exec', name, ...argv], timeoutMs);
  }

  /** One HTTP/1.0 GET from inside `from` to ip:80 with busybox nc; true when it got a 200. */
  async canReach(from: string, ip: string, waitS = 2): Promise<boolean> {
    const r = await this.exec(
      from,
      ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w ${waitS} ${ip} 80`],
      (waitS + 10) * 1000,
    );
    return r.stdout.startsWith('HTTP/1.1 200') || r.stdout.startsWith('HTTP/1.0 200');
  }

  /** afterAll: no more containers from this lab, and everything it made removed. */
  async close(): Promise<void> {
    this.closed = true;
    await this.cleanup();
  }

  /** Removes every container and network labelled with this lab's prefix (and nothing else). */
  async cleanup(): Promise<void> {
    const label = `label=chaoskit.test=${this.prefix}`;
    const ids = (await sh(['docker', 'ps', '-aq', '--filter', label])).stdout.split('\n').filter(Boolean);
    if (ids.length) await sh(['docker', 'rm', '-f', ...ids]);
    const nets = (await sh(['docker', 'network', 'ls', '-q', '--filter', label])).stdout
      .split('\n')
      .filter(Boolean);
    if (nets.length) await sh(['docker', 'network', 'rm', ...nets]);
  }
}

/** Two network namespaces joined by a veth pair, each with one address on a random /30 in 10.254.0.0/16. */
export class NetnsLab {
  readonly prefix = randomPrefix();
  readonly a = `${this.prefix}-a`;
  readonly b = `${this.prefix}-b`;
  ipA = '';
  ipB = '';
  /** Interface names are limited to 15 characters. */
  readonly devA = `ck${this.prefix.slice(-8)}a`;
  readonly devB = `ck${this.prefix.slice(-8)}b`;

  async create(): Promise<void> {
    const n = (Math.random() * 16_000) | 0;
    const base = `10.254.${n >> 6}.${(n & 63) * 4}`;
    const [p, q, r] = base.split('.').slice(0, 3);
    const last = Number(base.split('.')[3]);
    this.ipA = `${p}.${q}.${r}.${last + 1}`;
    this.ipB = `${p}.${q}.${r}.${last + 2}`;
    await must(['ip', 'netns', 'add', this.a]);
    await must(['ip', 'netns', 'add', this.b]);
    await must([
      'ip',
      'link',
      'add',
      this.devA,
      'netns',
      this.a,
      'type',
      'veth',
      'peer',
      'name',
      this.devB,
      'netns',
      this.b,
    ]);
    for (const [ns, dev, ip] of [
      [this.a, this.devA, this.ipA],
      [this.b, this.devB, this.ipB],
    ] as const) {
      await must(['ip', '-n', ns, 'addr', 'add', `${ip}/30`, 'dev', dev]);
      await must(['ip', '-n', ns, 'link', 'set', dev, 'up']);
      await must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
  }

  inNs(ns: string, argv: string[], timeoutMs = 30_000): Promise<Sh> {
    return sh(['ip', 'netns', 'exec', ns, ...argv], timeoutMs);
  }

  async rules(ns: string): Promise<string[]> {
    return (await must(['ip', 'netns', 'exec', ns, 'iptables', '-w', '5', '-S']))
      .split('\n')
      .filter((l) => l.startsWith('-A'));
  }

  /** Deletes only this lab's namespaces (the veth pair goes with them). */
  async cleanup(): Promise<void> {
    for (const ns of [this.a, this.b]) await sh(['ip', 'netns', 'del', ns]);
  }
}

/** Fraction of lost pings in busybox ping's summary ("..., 23% packet loss"). */
export function pingLoss(out: string): number {
  const m = /(\d+) packets transmitted, (\d+) packets received/.exec(out);
  if (!m) throw new Error(`no ping summary in: ${out}`);
  return 1 - Number(m[2]) / Number(m[1]);
}

export function testCtx(targetName: string, target: Target, extra: Partial<ApplyContext> = {}): ApplyContext {
  const faultId = `f${randomBytes(3).toString('hex')}`;
  return {
    selfRevert: false, // driver tests revert by hand; the timers are tested end to end
    targetName,
    target,
    faultId,
    runId: 'test-run',
    mark: ownershipMark('test-run', faultId),
    leaseMs: 10_000,
    durationMs: 30_000,
    prng: createPrng(7).fork(faultId),
    pick: {},
    log: () => {},
    ...extra,
  };
}
