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

  /** Changes addresses; the caller restarts the listener. Validates before changing anything. */
  setAddresses(listen: string, upstream: string): void {
    parseHostPort(listen, 'listen');
    const up = parseHostPort(upstream, 'upstream', { allowPortZero: false });
    if (listen !== this.listen) this.requestedListen = this.listen = listen;
    this.upstream = upstream;
    this.upstreamHp = up;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const { host, port } = parseHostPort(this.listen, 'listen');
    const server = createServer({ allowHalfOpen: true }, (socket) => this.onConnection(socket));
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
      throw new ProxyApiError(`proxy ${this.name}: cannot listen on ${this.listen}: ${err.message}`, status, {
        cause: err,
      });
    });
    server.on('error', (err) => this.env.log(`proxy ${this.name}: listener error: ${err.message}`));
    const addr = server.address() as AddressInfo;
    this.listen = formatHostPort(addr.address, addr.port);
    this.server = server;
  }

  /** Closes the listener and every open connection. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 1000);
      server.close(() => {
        clearTimeout(t);
        resolve();
      });
    });
    for (const c of [...this.conns]) c.destroy();
    this.conns.clear();
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

  private onConnection(socket: Socket): void {
    if (!this.server) {
      socket.destroy();
      return;
    }
    const conn = Connection.accept(this, socket);
    if (conn) this.conns.add(conn);
  }
}
