/**
 * Driver for docker targets: containers named by `container` and/or `labels`, through the Docker
 * Engine API (dockerode). The API sits behind a small interface so tests can inject a fake.
 * Containers are recorded by full id, so a container re-created under the same name is never
 * touched by a revert; a container removed by hand counts as gone, with a note, not as a failure.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type Docker from 'dockerode';
import type { Target } from '../scenario/schema.ts';
import { armSelfRevert } from './self-revert.ts';
import { pick } from './pick.ts';
import { waitHealthy } from './process.ts';
import type { ApplyContext, ContainerRef, DockerRecipe, Prepared } from './types.ts';

export type DockerTarget = Extract<Target, { kind: 'docker' }>;

export interface ContainerEndpoint {
  ipv4: string;
  aliases: string[];
}

export interface ContainerInfo extends ContainerRef {
  status: string;
  running: boolean;
  paused: boolean;
  /** The init process on the Docker host (0 when not running). */
  pid: number;
  /** Whether that process is visible from here as the container's (see isContainerProcess). */
  local: boolean;
  startedAt: string;
  restartPolicy: string;
  networks: Record<string, ContainerEndpoint>;
}

/** The slice of the Docker Engine API chaoskit uses. Ids are full container ids. */
export interface DockerApi {
  ping(): Promise<void>;
  /** Ids of running containers carrying every one of `labels`. */
  listRunning(labels: Record<string, string>): Promise<string[]>;
  /** null when there is no such container. */
  inspect(idOrName: string): Promise<ContainerInfo | null>;
  /** Whether the network's subnet was configured by the user (only then may an IP be fixed). */
  networkHasUserSubnet(network: string): Promise<boolean>;
  kill(id: string, signal: string): Promise<void>;
  stop(id: string, graceS: number): Promise<void>;
  start(id: string): Promise<void>;
  restart(id: string, graceS: number): Promise<void>;
  pause(id: string): Promise<void>;
  unpause(id: string): Promise<void>;
  disconnect(network: string, id: string): Promise<void>;
  connect(network: string, id: string, endpoint: { aliases: string[]; ipv4?: string }): Promise<void>;
}

/** Where the engine is expected, for messages. */
export function dockerEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
}

// dockerode pulls in ssh2, cpu-features, gRPC and protobufjs (~0.5 s): loaded only when used.
const newDocker = () => new (createRequire(import.meta.url)('dockerode') as typeof Docker)();

export function dockerodeApi(client: Docker = newDocker()): DockerApi {
  const c = (id: string) => client.getContainer(id);
  return {
    ping: async () => void (await client.ping()),
    listRunning: async (labels) => {
      const list = await client.listContainers({
        filters: { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`), status: ['running'] },
      });
      return list.map((x) => x.Id);
    },
    inspect: async (idOrName) => {
      try {
        const i = await c(idOrName).inspect();
        const networks: Record<string, ContainerEndpoint> = {};
        for (const [name, n] of Object.entries(i.NetworkSettings.Networks ?? {})) {
          networks[name] = { ipv4: n.IPAddress ?? '', aliases: n.Aliases ?? [] };
        }
        return {
          id: i.Id,
          name: i.Name.replace(/^\//, ''),
          status: i.State.Status,
          running: i.State.Running,
          paused: i.State.Paused,
          pid: i.State.Pid,
          local: isContainerProcess(i.State.Pid, i.Id),
          startedAt: i.State.StartedAt,
          restartPolicy: i.HostConfig.RestartPolicy?.Name || 'no',
          networks,
        };
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return null;
        throw err;
      }
    },
    networkHasUserSubnet: async (network) => {
      const n = (await client.getNetwork(network).inspect()) as { IPAM?: { Config?: { Subnet?: string }[] } };
      return (n.IPAM?.Config ?? []).some((x) => Boolean(x.Subnet));
    },
    kill: async (id, signal) => void (await c(id).kill({ signal })),
    stop: async (id, graceS) => void (await notModified(c(id).stop({ t: graceS }))),
    start: async (id) => void (await notModified(c(id).start())),
    restart: async (id, graceS) => void (await c(id).restart({ t: graceS })),
    pause: async (id) => void (await c(id).pause()),
    unpause: async (id) => void (await c(id).unpause()),
    disconnect: async (network, id) => void (await client.getNetwork(network).disconnect({ Container: id })),
    connect: async (network, id, e) =>
      void (await client.getNetwork(network).connect({
        Container: id,
        EndpointConfig: { Aliases: e.aliases, ...(e.ipv4 ? { IPAMConfig: { IPv4Address: e.ipv4 } } : {}) },
      })),
  };
}

/** 304 Not Modified (already started / already stopped) is success for us. */
async function notModified(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 304) throw err;
  }
}

let shared: DockerApi | null = null;
export function dockerOf(io?: { docker?: DockerApi }): DockerApi {
  if (io?.docker) return io.docker;
  shared ??= dockerodeApi();
  return shared;
}

const describeTarget = (t: DockerTarget) =>
  [
    t.container ? `named ${t.container}` : '',
    t.labels
      ? `with labels ${Object.entries(t.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(',')}`
      : '',
  ]
    .filter(Boolean)
    .join(' and ');

/**
 * The running containers the target names, sorted by name (so seeded picks are stable). Paused
 * ones are left out (another fault is in progress there) unless `withPaused` (peer addresses).
 */
export async function findContainers(
  t: DockerTarget,
  docker: DockerApi,
  withPaused = false,
): Promise<ContainerInfo[]> {
  let ids: string[];
  if (t.container) {
    const one = await docker.inspect(t.container);
    // A name lookup also accepts id prefixes; only an exact name or full id counts as the target.
    ids = one && (one.name === t.container || one.id === t.container) ? [one.id] : [];
  } else {
    ids = await docker.listRunning(t.labels ?? {});
  }
  const found: ContainerInfo[] = [];
  for (const id of ids) {
    const info = await docker.inspect(id);
    if (!info || !info.running || (info.paused && !withPaused)) continue;
    if (t.labels && t.container && !(await docker.listRunning(t.labels)).includes(info.id)) continue;
    found.push(info);
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** The containers a fault acts on: the target's running containers, picked by count/percent. */
export async function pickContainers(ctx: ApplyContext): Promise<ContainerInfo[]> {
  if (ctx.target.kind !== 'docker') throw new Error(`${ctx.targetName} is not a docker target`);
  const found = await findContainers(ctx.target, dockerOf(ctx.io));
  if (found.length === 0)
    throw new Error(`no running container ${describeTarget(ctx.target)} (target ${ctx.targetName})`);
  return pick(found, ctx.pick, ctx.prng);
}

export const refOf = (c: ContainerRef): ContainerRef => ({ id: c.id, name: c.name });
export const namesOf = (cs: readonly ContainerRef[]) => cs.map((c) => c.name).join(', ');

/** Preflight: the engine answers and the target names at least one running container. */
export async function checkDockerTarget(t: DockerTarget, docker: DockerApi): Promise<string | null> {
  try {
    await docker.ping();
  } catch (err) {
    return `the Docker engine is not reachable at ${dockerEndpoint()} (${(err as Error).message}); start it (systemctl start docker, or dockerd &), or set DOCKER_HOST`;
  }
  const found = await findContainers(t, docker);
  if (found.length === 0)
    return `no running container ${describeTarget(t)}; start it, or fix the target in the environment`;
  return null;
}

/** Preflight for faults that act from the host on the container's processes or network namespace. */
export function checkLocalPids(found: readonly ContainerInfo[]): string | null {
  const hidden = found.filter((c) => !c.local);
  if (hidden.length === 0) return null;
  return `the processes of container ${namesOf(hidden)} are not visible on this machine (a remote Docker engine?); network faults enter the container's network namespace from the host, so run chaoskit on the Docker host`;
}

/** Polls until the container runs again (a different start than `before`), or null after timeoutMs. */
async function waitRunning(
  docker: DockerApi,
  id: string,
  before: string | null,
  timeoutMs: number,
): Promise<number | null> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    const i = await docker.inspect(id);
    if (!i) return null;
    if (i.running && !i.paused && i.startedAt !== before) return performance.now() - t0;
    // unref: a pending observation never keeps a finished run's process alive.
    await new Promise((r) => setTimeout(r, 200).unref());
  }
  return null;
}

/**
 * After a kill/stop/restart: time until the container is healthy (its health URL answers) or,
 * without one, running again; resolves to a line for the fault's record.
 */
export function observeRecovery(
  docker: DockerApi,
  victims: readonly ContainerInfo[],
  health: string | undefined,
  since: number,
  what: string,
): Promise<string | null> {
  const timeoutMs = 60_000;
  if (health) {
    return waitHealthy(health, timeoutMs).then((ms) =>
      ms === null
        ? `not healthy again within ${timeoutMs / 1000}s`
        : `healthy again ${Math.round(performance.now() - since)}ms after the ${what}`,
    );
  }
  return Promise.all(victims.map((v) => waitRunning(docker, v.id, v.startedAt, timeoutMs))).then((all) =>
    all.every((ms) => ms !== null)
      ? `running again ${Math.round(performance.now() - since)}ms after the ${what}`
      : null,
  );
}

/**
 * Is `pid` on this machine the container's process? Its cgroup path names the container id (both
 * cgroup drivers, v1 and v2); a PID from another PID namespace (chaoskit itself in a container,
 * a remote engine) must never be signalled or entered.
 */
export function isContainerProcess(pid: number, id: string): boolean {
  try {
    return pid > 0 && readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(id);
  } catch {
    return false;
  }
}

/**
 * Sends `signal` to the container's init process from the host, as a real crash would: the
 * restart policy applies (`docker kill` counts as a manual stop). Where the process is not
 * visible from here (a remote engine), the API's kill is the fallback.
 */
export async function crashContainer(
  docker: DockerApi,
  c: ContainerInfo,
  signal: NodeJS.Signals,
): Promise<boolean> {
  const now = await docker.inspect(c.id);
  if (!now?.running || now.pid !== c.pid) return false;
  if (!now.local) {
    await docker.kill(c.id, signal);
    return true;
  }
  try {
    process.kill(c.pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

export type DockerRevert = { outcome: 'reverted' | 'already-gone'; notes: string[] };

/** Undoes a docker recipe for every container in it, keeps going past failures, reports what remains. */
export async function revertDocker(r: DockerRecipe, docker: DockerApi): Promise<DockerRevert> {
  const notes: string[] = [];
  const failed: string[] = [];
  let changed = false;
  const list: (ContainerRef & { aliases?: string[]; ipv4?: string })[] =
    r.action === 'reconnect' ? r.endpoints : r.containers;
  for (const ref of list) {
    try {
      const c = await docker.inspect(ref.id);
      if (!c) {
        notes.push(
          `target gone: container ${ref.name} (${ref.id.slice(0, 12)}) no longer exists; nothing to revert there`,
        );
        continue;
      }
      if (r.action === 'unpause') {
        if (!c.paused) continue;
        await docker.unpause(c.id);
      } else if (r.action === 'start') {
        // The restart policy may be about to bring it back; give it a moment before starting by hand.
        // Back by itself (restart policy, supervisor) counts as reverted once it is healthy, as for processes.
        if (c.status === 'restarting') await waitRunning(docker, c.id, null, 3_000);
        const now = (await docker.inspect(c.id)) ?? c;
        if (now.paused) await docker.unpause(c.id);
        if (!now.running) await docker.start(c.id);
        if (r.health && (await waitHealthy(r.health, 30_000)) === null) {
          failed.push(`${ref.name}: started, but ${r.health} did not become healthy within 30s`);
        }
      } else if (r.action === 'reconnect') {
        if (Object.hasOwn(c.networks, r.network)) continue;
        await docker.connect(r.network, c.id, {
          aliases: ref.aliases ?? [],
          ...(ref.ipv4 ? { ipv4: ref.ipv4 } : {}),
        });
      }
      changed = true;
    } catch (err) {
      failed.push(`${ref.name}: ${(err as Error).message}`);
    }
  }
  if (failed.length > 0) throw new Error(`could not revert container(s): ${failed.join('; ')}`);
  return { outcome: changed ? 'reverted' : 'already-gone', notes };
}

export function dockerManualRevert(r: DockerRecipe): string {
  if (r.action === 'reconnect') {
    return r.endpoints
      .map(
        (e) =>
          `docker network connect ${e.aliases.map((a) => `--alias ${a} `).join('')}${e.ipv4 ? `--ip ${e.ipv4} ` : ''}${r.network} ${e.id}`,
      )
      .join('; ');
  }
  return r.containers.map((c) => `docker ${r.action} ${c.id}`).join('; ');
}

export interface Lifecycle {
  /** What is done, for the description: `SIGKILL to`, `docker stop of`. */
  what: string;
  /** The revert: start the container again, or unpause it. */
  undo: 'start' | 'unpause';
  /** Acts on one container; false when it was no longer there to act on. */
  act: (docker: DockerApi, c: ContainerInfo) => Promise<boolean>;
  /** Record the time back to healthy (or running) after this event, e.g. `kill`. */
  observe?: string;
}

/** crash/stop/restart/pause on the picked containers of a docker target. */
export async function prepareLifecycle(ctx: ApplyContext, l: Lifecycle): Promise<Prepared> {
  const docker = dockerOf(ctx.io);
  const victims = await pickContainers(ctx);
  const health = ctx.target.kind === 'docker' ? ctx.target.health : undefined;
  const recipe: DockerRecipe = {
    driver: 'docker',
    action: l.undo,
    containers: victims.map(refOf),
    ...(l.undo === 'start' && health ? { health } : {}),
  };
  return {
    recipe,
    description: `${l.what} container ${namesOf(victims)} (${ctx.targetName})`,
    manualRevert: dockerManualRevert(recipe),
    apply: async () => {
      armSelfRevert(ctx);
      const t0 = performance.now();
      const hit: ContainerInfo[] = [];
      for (const v of victims) if (await l.act(docker, v)) hit.push(v);
      if (hit.length === 0)
        throw new Error(`container ${namesOf(victims)} of ${ctx.targetName} stopped before the fault`);
      return l.observe ? { observation: observeRecovery(docker, hit, health, t0, l.observe) } : {};
    },
  };
}

/** partition by disconnecting the picked containers from target.network; reconnected with the same aliases (and IP, where Docker allows a fixed one). */
export async function prepareDisconnect(ctx: ApplyContext): Promise<Prepared> {
  if (ctx.target.kind !== 'docker' || !ctx.target.network)
    throw new Error(`method: disconnect needs a docker target with network: set (${ctx.targetName})`);
  const network = ctx.target.network;
  const docker = dockerOf(ctx.io);
  const victims = await pickContainers(ctx);
  const fixedIp = await docker.networkHasUserSubnet(network);
  const endpoints = victims.map((c) => {
    const e = c.networks[network];
    if (!e) throw new Error(`container ${c.name} is not connected to network ${network}`);
    // Docker adds the short id as an alias by itself on connect.
    const aliases = e.aliases.filter((a) => a !== c.id.slice(0, 12));
    return { ...refOf(c), aliases, ...(fixedIp && e.ipv4 ? { ipv4: e.ipv4 } : {}) };
  });
  const recipe: DockerRecipe = { driver: 'docker', action: 'reconnect', network, endpoints };
  return {
    recipe,
    description: `container ${namesOf(victims)} disconnected from network ${network} (${ctx.targetName})`,
    manualRevert: dockerManualRevert(recipe),
    apply: async () => {
      armSelfRevert(ctx);
      for (const c of victims) await docker.disconnect(network, c.id);
      return {};
    },
  };
}
