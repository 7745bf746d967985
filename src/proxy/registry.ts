/**
 * The set of proxies and their toxics; what the HTTP API drives, usable in-process too.
 *
 *   API / in-process caller ──> ProxyRegistry ──> Proxy (listener + toxic list) ──> Connections
 *                                   └─ lease timers: a leased toxic is removed when it expires
 *
 * Proxy lifecycle changes (create, update, delete, populate, reset) bind and close sockets, so
 * they run one at a time; toxic changes are synchronous.
 */
import {
  badRequest,
  missingField,
  ProxyApiError,
  proxyExists,
  proxyNotFound,
  toxicExists,
  toxicNotFound,
} from './api-error.ts';
import { realClock } from './clock.ts';
import { Proxy, type ProxyEnv } from './proxy.ts';
import {
  checkName,
  isObject,
  parseLease,
  parseToxicInput,
  patchToxic,
  type ToxicDefinition,
  toxicToJson,
} from './toxic-def.ts';
import type { Clock, ProxyInput, ProxyJson, ProxyPatch, ToxicInput, ToxicJson, ToxicPatch } from './types.ts';

export interface RegistryOptions {
  /** Time for leases and toxics; a fake clock makes lease tests instant. */
  clock?: Clock;
  /** Source of randomness for toxicity, jitter and slicing; default Math.random. */
  random?: () => number;
  log?: (line: string) => void;
}

export interface RemovedToxic {
  proxy: string;
  toxic: string;
}

const DEFAULT_LISTEN = '127.0.0.1:0';

export class ProxyRegistry {
  private readonly proxies = new Map<string, Proxy>();
  private readonly leases = new Map<string, unknown>();
  private readonly env: ProxyEnv;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(opts: RegistryOptions = {}) {
    this.env = {
      clock: opts.clock ?? realClock,
      random: opts.random ?? Math.random,
      log: opts.log ?? (() => {}),
    };
  }

  get(name: string): ProxyJson | undefined {
    return this.proxies.get(name)?.toJson();
  }

  list(): ProxyJson[] {
    return [...this.proxies.values()].map((p) => p.toJson());
  }

  /** Open client connections through a proxy (all proxies when no name is given). */
  connectionCount(name?: string): number {
    if (name !== undefined) return this.mustGet(name).connectionCount;
    return [...this.proxies.values()].reduce((n, p) => n + p.connectionCount, 0);
  }

  createProxy(input: ProxyInput): Promise<ProxyJson> {
    return this.serial(async () => {
      const spec = parseProxyInput(input);
      if (this.proxies.has(spec.name)) throw proxyExists(spec.name);
      return (await this.open(spec)).toJson();
    });
  }

  /**
   * Toxiproxy's update: a changed listen address moves the listener, a changed upstream closes
   * open connections. A refused update (400, 409) leaves the proxy as it was.
   */
  updateProxy(name: string, patch: ProxyPatch): Promise<ProxyJson> {
    return this.serial(async () => {
      const proxy = this.mustGet(name);
      if (!isObject(patch)) throw badRequest('expected a json object');
      const enabled = optionalBool(patch.enabled, 'enabled') ?? proxy.enabled;
      await proxy.update({
        listen: patch.listen ?? proxy.listen,
        upstream: patch.upstream ?? proxy.upstream,
        enabled,
      });
      return proxy.toJson();
    });
  }

  delete(name: string): Promise<void> {
    return this.serial(async () => {
      const proxy = this.mustGet(name);
      await this.discard(proxy);
    });
  }

  /** Creates or replaces proxies; one with the same listen and upstream is kept as it is. */
  populate(inputs: ProxyInput[]): Promise<ProxyJson[]> {
    return this.serial(async () => {
      if (!Array.isArray(inputs)) throw badRequest('expected a json array of proxies');
      const specs = inputs.map((p, i) => parseProxyInput(p, i + 1));
      const names = new Set<string>();
      for (const s of specs) {
        if (names.has(s.name)) throw badRequest(`duplicate proxy name ${JSON.stringify(s.name)}`);
        names.add(s.name);
      }
      const out: ProxyJson[] = [];
      for (const spec of specs) {
        const existing = this.proxies.get(spec.name);
        if (existing && sameAddress(existing, spec.listen) && existing.upstream === spec.upstream) {
          out.push(existing.toJson());
          continue;
        }
        if (existing) await this.discard(existing);
        out.push((await this.open(spec)).toJson());
      }
      return out;
    });
  }

  /** Enables every proxy and removes every toxic. */
  reset(): Promise<void> {
    return this.serial(async () => {
      for (const proxy of this.proxies.values()) {
        for (const def of proxy.toxics()) this.drop(proxy, def.name);
        await proxy.start();
      }
    });
  }

  listToxics(proxyName: string): ToxicJson[] {
    return this.mustGet(proxyName).toxics().map(toxicToJson);
  }

  getToxic(proxyName: string, toxicName: string): ToxicJson | undefined {
    const def = this.mustGet(proxyName).getToxic(toxicName);
    return def && toxicToJson(def);
  }

  addToxic(proxyName: string, input: ToxicInput): ToxicJson {
    const proxy = this.mustGet(proxyName);
    const parsed = parseToxicInput(input);
    if (proxy.getToxic(parsed.name)) throw toxicExists(parsed.name);
    const def = this.withLease(parsed);
    proxy.addToxic(def);
    this.schedule(proxy, def);
    return toxicToJson(def);
  }

  updateToxic(proxyName: string, toxicName: string, patch: ToxicPatch): ToxicJson {
    const proxy = this.mustGet(proxyName);
    const current = proxy.getToxic(toxicName);
    if (!current) throw toxicNotFound(toxicName);
    const patched = patchToxic(current, patch);
    const def = isObject(patch) && patch.lease_ms !== undefined ? this.withLease(patched) : patched;
    proxy.replaceToxic(def);
    this.schedule(proxy, def);
    return toxicToJson(def);
  }

  removeToxic(proxyName: string, toxicName: string): void {
    const proxy = this.mustGet(proxyName);
    if (!this.drop(proxy, toxicName)) throw toxicNotFound(toxicName);
  }

  /** Extension: restarts a toxic's lease (optionally with a new length). */
  renewToxic(proxyName: string, toxicName: string, leaseMs?: number): ToxicJson {
    const proxy = this.mustGet(proxyName);
    const current = proxy.getToxic(toxicName);
    if (!current) throw toxicNotFound(toxicName);
    const length = parseLease(leaseMs) ?? current.leaseMs;
    if (length === undefined) {
      throw badRequest(`toxic ${toxicName} has no lease; pass lease_ms to give it one`);
    }
    const def = this.withLease({ ...current, leaseMs: length });
    proxy.replaceDefinitionOnly(def);
    this.schedule(proxy, def);
    return toxicToJson(def);
  }

  /** Removes every toxic whose name starts with `prefix` (chaoskit marks its own `chaoskit:`). */
  removeToxicsByPrefix(prefix: string): RemovedToxic[] {
    if (typeof prefix !== 'string' || prefix === '') throw badRequest('prefix must be a non-empty string');
    const removed: RemovedToxic[] = [];
    for (const proxy of this.proxies.values()) {
      for (const def of proxy.toxics()) {
        if (def.name.startsWith(prefix) && this.drop(proxy, def.name))
          removed.push({ proxy: proxy.name, toxic: def.name });
      }
    }
    return removed;
  }

  /** Stops every proxy; the registry is empty afterwards. */
  close(): Promise<void> {
    return this.serial(async () => {
      for (const proxy of [...this.proxies.values()]) await this.discard(proxy);
    });
  }

  private async open(spec: ProxySpec): Promise<Proxy> {
    const proxy = new Proxy(spec.name, spec.listen, spec.upstream, this.env);
    if (spec.enabled) await proxy.start();
    this.proxies.set(spec.name, proxy);
    return proxy;
  }

  private async discard(proxy: Proxy): Promise<void> {
    for (const def of proxy.toxics()) this.clearLease(proxy.name, def.name);
    this.proxies.delete(proxy.name);
    await proxy.stop();
  }

  private drop(proxy: Proxy, toxicName: string): boolean {
    this.clearLease(proxy.name, toxicName);
    return proxy.removeToxic(toxicName);
  }

  private withLease(def: ToxicDefinition): ToxicDefinition {
    if (def.leaseMs === undefined) return { ...def, expiresAt: undefined };
    return { ...def, expiresAt: this.env.clock.now() + def.leaseMs };
  }

  private schedule(proxy: Proxy, def: ToxicDefinition): void {
    this.clearLease(proxy.name, def.name);
    const { expiresAt } = def;
    if (expiresAt === undefined) return;
    const key = leaseKey(proxy.name, def.name);
    const timer = this.env.clock.setTimeout(
      () => {
        this.leases.delete(key);
        if (this.proxies.get(proxy.name) !== proxy || proxy.getToxic(def.name)?.expiresAt !== expiresAt)
          return;
        proxy.removeToxic(def.name);
        this.env.log(`lease expired: removed toxic ${def.name} from proxy ${proxy.name}`);
      },
      Math.max(0, expiresAt - this.env.clock.now()),
    );
    this.leases.set(key, timer);
  }

  private clearLease(proxyName: string, toxicName: string): void {
    const key = leaseKey(proxyName, toxicName);
    const timer = this.leases.get(key);
    if (timer !== undefined) this.env.clock.clearTimeout(timer);
    this.leases.delete(key);
  }

  private mustGet(name: string): Proxy {
    const proxy = this.proxies.get(name);
    if (!proxy) throw proxyNotFound(name);
    return proxy;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => {});
    return run;
  }
}

interface ProxySpec {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
}

function parseProxyInput(input: unknown, index?: number): ProxySpec {
  const at = index === undefined ? '' : ` at proxy ${index}`;
  if (!isObject(input)) throw badRequest(`expected a json object${at}`);
  if (input.name === undefined || input.name === null || input.name === '') throw missingField(`name${at}`);
  if (input.upstream === undefined || input.upstream === null || input.upstream === '') {
    throw missingField(`upstream${at}`);
  }
  const listen =
    input.listen === undefined || input.listen === null || input.listen === ''
      ? DEFAULT_LISTEN
      : input.listen;
  if (typeof listen !== 'string') throw badRequest(`listen${at} must be a "host:port" string`);
  if (typeof input.upstream !== 'string') throw badRequest(`upstream${at} must be a "host:port" string`);
  return {
    name: checkName(input.name, `proxy name${at}`),
    listen,
    upstream: input.upstream,
    enabled: optionalBool(input.enabled, `enabled${at}`) ?? true,
  };
}

function optionalBool(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badRequest(`${field} must be true or false`);
  return v;
}

/** `127.0.0.1:0` matches whatever port that proxy was given. */
function sameAddress(proxy: Proxy, listen: string): boolean {
  if (listen === proxy.listen || listen === proxy.requestedListen) return true;
  return listen.endsWith(':0') && proxy.listen.startsWith(listen.slice(0, -1));
}

function leaseKey(proxy: string, toxic: string): string {
  return `${proxy}\u0000${toxic}`;
}

export { ProxyApiError };
