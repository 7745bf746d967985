/**
 * One proxied TCP connection: the client socket, the upstream socket and a link each way.
 *
 *   client ──up link (stream "upstream")────> upstream
 *   client <──down link (stream "downstream")── upstream
 *
 * Toxicity is rolled once per connection and toxic, and kept here (not on the definition), so a
 * connection-wide toxic such as a partition acts the same on both links.
 */
import { connect, type Socket } from 'node:net';
import type { HostPort } from './address.ts';
import { HTTP_STAGE, type HttpToxicSource, installHttp } from './http/exchange.ts';
import { Link, type LinkOwner } from './link.ts';
import type { ToxicDefinition } from './toxic-def.ts';
import type { Clock, Stage, StageContext } from './types.ts';

/** What a connection needs from its proxy. */
export interface ConnectionHost extends HttpToxicSource {
  readonly clock: Clock;
  readonly random: () => number;
  upstreamAddress(): HostPort;
  toxics(): readonly ToxicDefinition[];
  connectionClosed(conn: Connection): void;
}

/** After ctx.close(), how long both sides get to finish before they are destroyed. */
const CLOSE_GRACE_MS = 2000;

export class Connection implements LinkOwner {
  readonly clock: Clock;
  readonly random: () => number;
  private readonly upstream: Socket;
  private readonly up: Link;
  private readonly down: Link;
  private finished = false;
  private closing = false;

  /** Accepts a client socket, or resets it at once when a refusing toxic wins its roll. */
  static accept(host: ConnectionHost, client: Socket): Connection | undefined {
    const rolls = new Map<string, boolean>();
    for (const def of host.toxics()) {
      if (!def.kind.refusesNew?.(def.attributes)) continue;
      const hit = host.random() < def.toxicity;
      rolls.set(def.name, hit);
      if (hit) {
        client.on('error', () => {});
        client.resetAndDestroy();
        return undefined;
      }
    }
    return new Connection(host, client, rolls);
  }

  private constructor(
    private readonly host: ConnectionHost,
    private readonly client: Socket,
    private readonly rolls: Map<string, boolean>,
  ) {
    this.clock = host.clock;
    this.random = host.random;
    const { host: uhost, port } = host.upstreamAddress();
    this.upstream = connect({ host: uhost || '127.0.0.1', port, allowHalfOpen: true, noDelay: true });
    client.setNoDelay(true);
    this.watch(client, this.upstream);
    this.watch(this.upstream, client);
    this.up = new Link(client, this.upstream, this);
    this.down = new Link(this.upstream, client, this);
    const toxics = host.toxics();
    if (toxics.some((d) => d.kind.onRequest)) this.ensureHttp(true);
    for (const def of toxics) this.attach(def);
    this.up.start();
    this.down.start();
  }

  /** A toxic was added to the proxy. */
  attach(def: ToxicDefinition): void {
    if (this.finished) return;
    if (def.kind.onRequest) return this.ensureHttp(false);
    if (!this.roll(def)) return;
    for (const link of this.linksFor(def)) link.add(def.name, this.maker(def));
  }

  /** A toxic was updated: its stages restart in place with the new settings (toxicity re-rolled). */
  reattach(def: ToxicDefinition): void {
    if (this.finished || def.kind.onRequest) return;
    this.rolls.delete(def.name);
    const make = this.roll(def) ? this.maker(def) : undefined;
    for (const link of this.linksFor(def)) link.replace(def.name, make);
  }

  /** A toxic was removed from the proxy: its stages hand on what they hold and go. */
  detach(name: string): void {
    this.rolls.delete(name);
    this.up.remove(name);
    this.down.remove(name);
  }

  /** Graceful close, requested by a stage: both directions end after what is queued. */
  close(from: Link): void {
    if (this.closing || this.finished) return;
    this.closing = true;
    (from === this.up ? this.down : this.up).cut();
    this.clock.setTimeout(() => this.destroy(), CLOSE_GRACE_MS);
  }

  /** TCP reset both ways. Deferred a tick: stages may call it while being built. */
  reset(): void {
    if (this.finished) return;
    this.closing = true;
    queueMicrotask(() => {
      for (const s of [this.client, this.upstream]) if (!s.destroyed) s.resetAndDestroy();
      this.finish();
    });
  }

  /** Hard close, e.g. when the proxy is disabled or deleted. */
  destroy(): void {
    this.client.destroy();
    this.upstream.destroy();
    this.finish();
  }

  private maker(def: ToxicDefinition): (ctx: StageContext) => Stage {
    return (ctx) => def.kind.create(ctx, def.attributes);
  }

  private linksFor(def: ToxicDefinition): Link[] {
    if (def.kind.bothStreams) return [this.up, this.down];
    return [def.stream === 'upstream' ? this.up : this.down];
  }

  private ensureHttp(synced: boolean): void {
    if (this.up.has(HTTP_STAGE)) return;
    installHttp(
      {
        up: (make) => this.up.add(HTTP_STAGE, make, 0),
        down: (make) => this.down.add(HTTP_STAGE, make, 0),
      },
      this.host,
      synced,
    );
  }

  private roll(def: ToxicDefinition): boolean {
    let hit = this.rolls.get(def.name);
    if (hit === undefined) {
      hit = def.toxicity >= 1 || this.random() < def.toxicity;
      this.rolls.set(def.name, hit);
    }
    return hit;
  }

  private watch(socket: Socket, other: Socket): void {
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // Pass a reset on as a reset, so the proxy stays transparent; anything else closes.
      if (other.destroyed) return;
      if (err.code === 'ECONNRESET' && other.readyState === 'open') other.resetAndDestroy();
      else other.destroy();
    });
    socket.on('close', () => {
      if (this.client.destroyed && this.upstream.destroyed) this.finish();
    });
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.up.destroy();
    this.down.destroy();
    this.host.connectionClosed(this);
  }
}
