/**
 * One named proxy: a listener, its open connections and its ordered toxic list. Toxic changes
 * reach open connections at once; disabling closes the listener and every connection.
 */
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { formatHostPort, type HostPort, parseHostPort } from './address.ts';
import { ProxyApiError } from './api-error.ts';
import { Connection, type ConnectionHost } from './connection.ts';
import { type ToxicDefinition, toxicToJson } from './toxic-def.ts';
import type { Clock, ProxyJson } from './types.ts';

export interface ProxyEnv {
  readonly clock: Clock;
  readonly random: () => number;
  readonly log: (line: string) => void;
}

export class Proxy implements ConnectionHost {
  readonly clock: Clock;
  readonly random: () => number;
  /** The address as last requested (`127.0.0.1:0`), and as bound (`127.0.0.1:40123`). */
  requestedListen: string;
  listen: string;
  upstream: string;
  private upstreamHp: HostPort;
  private server: Server | undefined;
  private readonly conns = new Set<Connection>();
  private defs: readonly ToxicDefinition[] = [];
  private httpDefs: readonly ToxicDefinition[] = [];

  constructor(
    readonly name: string,
    listen: string,
    upstream: string,
    private readonly env: ProxyEnv,
  ) {
    this.clock = env.clock;
    this.random = env.random;
    parseHostPort(listen, 'listen');
    this.upstreamHp = parseHostPort(upstream, 'upstream', { allowPortZero: false });
    this.requestedListen = this.listen = listen;
    this.upstream = upstream;
  }

  get enabled(): boolean {
    return this.server !== undefined;
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  upstreamAddress(): HostPort {
    return this.upstreamHp;
  }

  toxics(): readonly ToxicDefinition[] {
    return this.defs;
  }

  httpToxics(): readonly ToxicDefinition[] {
    return this.httpDefs;
  }

  getToxic(name: string): ToxicDefinition | undefined {
    return this.defs.find((d) => d.name === name);
  }

  addToxic(def: ToxicDefinition): void {
    this.setDefs([...this.defs, def]);
    for (const c of this.conns) c.attach(def);
  }

  /** Swaps a definition in place; open connections re-roll toxicity, as Toxiproxy's do. */
  replaceToxic(def: ToxicDefinition): void {
    this.setDefs(this.defs.map((d) => (d.name === def.name ? def : d)));
    for (const c of this.conns) c.reattach(def);
  }

  /** Swaps a definition without touching connections (a lease renewal changes no behaviour). */
  replaceDefinitionOnly(def: ToxicDefinition): void {
    this.setDefs(this.defs.map((d) => (d.name === def.name ? def : d)));
  }

  removeToxic(name: string): boolean {
    if (!this.getToxic(name)) return false;
    this.setDefs(this.defs.filter((d) => d.name !== name));
    for (const c of this.conns) c.detach(name);
    return true;
  }

  connectionClosed(conn: Connection): void {
    this.conns.delete(conn);
  }

  /**
   * Applies an update. Whatever fails (a taken or foreign listen address, a bad upstream), the
   * proxy stays as it was: same addresses, same state, same listener, same connections. A new
   * listen address is bound before the old listener closes; a changed upstream closes the open
   * connections (as Toxiproxy's restart does) and keeps the listener.
   */
  async update(next: { listen: unknown; upstream: unknown; enabled: boolean }): Promise<void> {
    parseHostPort(next.listen, 'listen');
    const up = parseHostPort(next.upstream, 'upstream', { allowPortZero: false });
    const listen = next.listen as string;
    const upstream = next.upstream as string;
    const moved = listen !== this.listen;
    if (!next.enabled) {
      await this.stop();
      if (moved) this.requestedListen = this.listen = listen;
    } else if (moved || !this.server) {
      await this.listenOn(listen);
      if (moved) this.requestedListen = listen;
    } else if (upstream !== this.upstream) {
      this.dropConnections();
    }
    this.upstream = upstream;
    this.upstreamHp = up;
  }

  async start(): Promise<void> {
    if (!this.server) await this.listenOn(this.listen);
  }

  /** Closes the listener and every open connection. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = closeServer(server);
    this.dropConnections();
    await closed;
  }

  toJson(): ProxyJson {
    return {
      name: this.name,
      listen: this.listen,
      upstream: this.upstream,
      enabled: this.enabled,
      toxics: this.defs.map(toxicToJson),
    };
  }

  private setDefs(defs: readonly ToxicDefinition[]): void {
    this.defs = defs;
    this.httpDefs = defs.filter((d) => d.kind.onRequest);
  }

  /**
   * Moves the listener to `listen`: binds the new one first, then closes the old one and its
   * connections. When the new address is refused, nothing changed. Only when the old listener
   * itself holds the port (same port, another host) is it closed first, and put back on failure.
   */
  private async listenOn(listen: string): Promise<void> {
    const old = this.server;
    let server: Server;
    try {
      server = await this.bind(listen);
    } catch (err) {
      if (!(old && (err as ProxyApiError).code === 'EADDRINUSE' && samePort(listen, this.listen))) throw err;
      await this.stop();
      try {
        server = await this.bind(listen);
      } catch (again) {
        await this.bind(this.listen).then(
          (back) => this.install(back),
          (e: Error) =>
            this.env.log(`proxy ${this.name}: could not listen again on ${this.listen}: ${e.message}`),
        );
        throw again;
      }
    }
    const oldConns = [...this.conns];
    this.install(server);
    if (old && old !== server) {
      for (const c of oldConns) c.destroy();
      for (const c of oldConns) this.conns.delete(c);
      await closeServer(old);
    }
  }

  private install(server: Server): void {
    this.server = server;
    const addr = server.address() as AddressInfo;
    this.listen = formatHostPort(addr.address, addr.port);
  }

  /** A listener on `listen`, not yet in use; rejects with 409 when the address is taken. */
  private async bind(listen: string): Promise<Server> {
    const { host, port } = parseHostPort(listen, 'listen');
    const server: Server = createServer({ allowHalfOpen: true }, (socket) =>
      this.onConnection(socket, server),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: host || undefined, port }, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((err: NodeJS.ErrnoException) => {
      const status =
        err.code === 'EADDRINUSE'
          ? 409
          : err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND'
            ? 400
            : 500;
      throw new ProxyApiError(`proxy ${this.name}: cannot listen on ${listen}: ${err.message}`, status, {
        cause: err,
      });
    });
    server.on('error', (err) => this.env.log(`proxy ${this.name}: listener error: ${err.message}`));
    return server;
  }

  private dropConnections(): void {
    for (const c of [...this.conns]) c.destroy();
    this.conns.clear();
  }

  private onConnection(socket: Socket, from: Server): void {
    if (from !== this.server) {
      socket.destroy();
      return;
    }
    const conn = Connection.accept(this, socket);
    if (conn) this.conns.add(conn);
  }
}

/** Closes a listener; a close that hangs (a stuck handle) is given up on after a second. */
function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 1000);
    server.close(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

function samePort(a: string, b: string): boolean {
  return parseHostPort(a, 'listen').port === parseHostPort(b, 'listen').port;
}
