/**
 * Shapes shared by the fault proxy: the Toxiproxy v2 JSON documents, the clock, and the contract
 * between a toxic definition (plain data, owned by the registry) and its per-connection stage
 * (state and timers, owned by one connection's pipeline).
 */

export type Stream = 'upstream' | 'downstream';

/** A toxic as the API shows it. `lease_ms`/`expires_at` appear only on leased toxics (extension). */
export interface ToxicJson {
  name: string;
  type: string;
  stream: Stream;
  toxicity: number;
  attributes: Record<string, unknown>;
  lease_ms?: number;
  expires_at?: string;
}

/** A proxy as the API shows it; `listen` is the real bound address once the proxy has started. */
export interface ProxyJson {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: ToxicJson[];
}

/** Input for creating a proxy (POST /proxies, /populate, `registry.createProxy`). */
export interface ProxyInput {
  name: string;
  upstream: string;
  /** `host:port`; default `127.0.0.1:0` (an ephemeral loopback port). */
  listen?: string;
  enabled?: boolean;
}

/** Fields that POST/PATCH /proxies/{name} may change. */
export interface ProxyPatch {
  listen?: string;
  upstream?: string;
  enabled?: boolean;
}

/** Input for adding a toxic. `name` defaults to `${type}_${stream}`, `stream` to downstream. */
export interface ToxicInput {
  type: string;
  name?: string;
  stream?: Stream;
  toxicity?: number;
  attributes?: Record<string, unknown>;
  /** Extension: the proxy removes the toxic by itself this many ms after the last renewal. */
  lease_ms?: number;
}

/** Fields that POST/PATCH /proxies/{name}/toxics/{toxic} may change. */
export interface ToxicPatch {
  toxicity?: number;
  attributes?: Record<string, unknown>;
  lease_ms?: number;
}

/** Time source; tests pass a fake one so leases expire without waiting. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What a stage may do to the pipeline it sits in. */
export interface StageContext {
  readonly clock: Clock;
  readonly random: () => number;
  /** Hands bytes to the next stage (or the destination socket). */
  push(chunk: Buffer): void;
  /** Hands end-of-stream on. */
  end(): void;
  /** Closes the whole connection (FIN both ways, after queued bytes are written). */
  close(): void;
  /** Resets the whole connection (RST both ways). */
  reset(): void;
  /** Stops (true) or restarts (false) reading the source socket; counted per stage. */
  hold(on: boolean): void;
}

/** Per-connection, per-direction instance of a toxic. */
export interface Stage {
  write(chunk: Buffer): void;
  /** The source ended. */
  end(): void;
  /**
   * The toxic was removed, or replaced by an updated definition: hand on everything held, in
   * order, and stop all timers.
   */
  flush(reason: 'removed' | 'replaced'): void;
  /** The connection is gone: stop timers, keep nothing. */
  destroy(): void;
}

/** A parsed HTTP request head, as http toxics see it. */
export interface RequestHead {
  method: string;
  target: string;
  version: string;
  headers: ReadonlyMap<string, string>;
}

/** What an http toxic wants done with one request. */
export type RequestAction = { kind: 'delay'; ms: number } | { kind: 'error'; status: number; body: string };

/**
 * A toxic type. Attribute parsing happens once, at the API boundary; `create` builds the stage
 * for one connection and direction. Methods (not arrow properties) keep kinds with different
 * attribute types assignable to the registry map.
 */
export interface ToxicKind<A extends object> {
  /** True for chaoskit's own types; Toxiproxy clients never see these unless they create them. */
  readonly extension: boolean;
  /** Parses and defaults attributes; throws AttributeError naming the field. */
  parse(raw: Record<string, unknown>): A;
  create(ctx: StageContext, attrs: A): Stage;
  /** Connection-wide toxics get a stage on both directions whatever their `stream`. */
  readonly bothStreams?: boolean;
  /** True when new connections must be refused (reset at accept, no upstream dial). */
  refusesNew?(attrs: A): boolean;
  /** Request-scoped (HTTP-aware) toxics decide per request instead of building stages. */
  onRequest?(attrs: A, req: RequestHead, random: () => number): RequestAction | undefined;
}
