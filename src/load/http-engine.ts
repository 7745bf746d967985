/**
 * The open-model HTTP engine: the shared scheduler (src/load/open-model.ts) sending on undici's
 * `Pool.dispatch` with one handler object per request and no promise. Latency is measured from the
 * intended time (no coordinated omission).
 *
 *   scheduler ──dispatch(intended)──> Pool.dispatch(RequestHandler | SseHandler) ──> MetricsStore
 *   warm-up: the mix's first non-stream request, through the same pool, recorded nowhere
 */
import { Pool, type Dispatcher } from 'undici';
import type { MetricsStore } from '../metrics/store.ts';
import type { RequestSpec } from '../scenario/schema.ts';
import { classifyError } from './errors.ts';
import type { RequestPayload } from './http-bodies.ts';
import { OpenModelLoad, type OpenModelEvents, type WarmUpSender } from './open-model.ts';
import { SseHandler } from './sse.ts';
import type { Segment } from './patterns.ts';
import type { Prng } from './prng.ts';
import type { WarmUpAnswer } from './warm-up.ts';

export type { LoadOutcome } from './open-model.ts';
export type HttpLoadEvents = OpenModelEvents;

export interface HttpLoadOptions {
  url: string;
  requests: readonly RequestSpec[];
  segment: Segment;
  arrivals: 'even' | 'poisson';
  connections: number;
  maxBacklog: number;
  timeoutMs: number;
  prng: Prng;
  store: MetricsStore;
  /** Templated paths and bodies (src/load/http-bodies.ts), by request index; fixed ones when absent. */
  payloads?: readonly RequestPayload[];
}

/**
 * undici's core dispatch handler (the callback API that Pool.dispatch calls directly; the newer
 * controller API is only wired through interceptors and costs a wrapper object per request).
 */
class RequestHandler {
  status = 0;
  constructor(
    private readonly load: HttpLoad,
    readonly intendedMs: number,
    readonly sentMs: number,
    readonly faultKey: string,
    readonly profile: number,
  ) {}
  onConnect(): void {}
  onHeaders(statusCode: number): boolean {
    this.status = statusCode;
    return true;
  }
  onData(): boolean {
    return true;
  }
  onComplete(): void {
    this.load.finish(this, null);
  }
  onError(err: Error): void {
    this.load.finish(this, err);
  }
}

/** A warm-up request: the same dispatch path, nothing recorded. */
class WarmUpHandler {
  private status = 0;
  constructor(private readonly done: (a: WarmUpAnswer) => void) {}
  onConnect(): void {}
  onHeaders(statusCode: number): boolean {
    this.status = statusCode;
    return true;
  }
  onData(): boolean {
    return true;
  }
  onComplete(): void {
    this.done(this.status > 0 && this.status < 400 ? 'ok' : 'failed');
  }
  onError(err: Error): void {
    this.done({ unanswered: classifyError(err) });
  }
}

export class HttpLoad extends OpenModelLoad {
  private pool: Pool;
  private readonly origin: string;
  private readonly dispatchOpts: Dispatcher.DispatchOptions[];
  private readonly base: string;
  private readonly bodyPrng: Prng;

  constructor(private readonly o: HttpLoadOptions) {
    super({
      ...o,
      concurrency: o.connections,
      drainTimeoutMs: o.timeoutMs + 1000,
      weights: o.requests.map((r) => r.weight),
    });
    const url = new URL(o.url);
    const base = url.pathname.replace(/\/$/, '');
    this.origin = url.origin;
    this.pool = this.newPool();
    this.dispatchOpts = o.requests.map((r) => ({
      origin: url.origin,
      method: r.method as Dispatcher.HttpMethod,
      path: base + r.path,
      headers: {
        ...r.headers,
        ...(r.body !== undefined && !hasHeader(r.headers, 'content-type')
          ? { 'content-type': 'application/json' }
          : {}),
      },
      ...(r.body !== undefined ? { body: r.body } : {}),
    }));
    o.payloads?.forEach((p, i) => {
      if (p.body !== undefined) this.dispatchOpts[i]!.body = p.body;
    });
    this.base = base;
    this.bodyPrng = o.prng.fork('bodies');
    if (o.requests.length > 1 || o.requests.some((r) => r.name)) {
      o.store.profiles.define(o.requests.map((r) => r.name ?? `${r.method} ${r.path}`));
    }
  }

  protected dispatch(intendedMs: number, nowMs: number): void {
    const i = this.pick();
    const spec = this.o.requests[i]!;
    const h =
      spec.stream === 'sse'
        ? new SseHandler(this, this.o.store.streams, intendedMs, nowMs, this.faultKey, i, spec.streamEnd)
        : new RequestHandler(this, intendedMs, nowMs, this.faultKey, i);
    this.o.store.send(intendedMs, nowMs, this.faultKey);
    this.o.store.profiles.sent(i);
    this.pool.dispatch(this.optsFor(i, this.bodyPrng), h as Dispatcher.DispatchHandler);
  }

  private optsFor(i: number, prng: Prng): Dispatcher.DispatchOptions {
    const opts = this.dispatchOpts[i]!;
    const render = this.o.payloads?.[i]?.render;
    if (!render) return opts;
    const r = render(prng);
    return { ...opts, path: this.base + r.path, ...(r.body !== undefined ? { body: r.body } : {}) };
  }

  /** Called by a handler when its request ends, with or without an error. */
  finish(h: RequestHandler | SseHandler, err: Error | null): void {
    const end = this.now();
    // Destroying the pool (stop) fails every request in flight: those are cancelled, not failed.
    const cancelled = this.stopping && err !== null;
    if (!cancelled) {
      const kind = err ? classifyError(err) : h instanceof SseHandler ? h.cutKind : null;
      this.o.store.result(h.intendedMs, h.sentMs, end, err ? 0 : h.status, kind, h.faultKey);
      this.o.store.profiles.result(
        h.profile,
        end - h.intendedMs,
        kind === null && h.status > 0 && h.status < 400,
      );
      if (h instanceof SseHandler) h.recordEnd(end, kind);
    }
    this.ended(h.intendedMs, end, cancelled);
  }

  protected abortAll(): void {
    void this.pool.destroy().catch(() => {});
  }

  protected release(stopped: boolean): void {
    if (!stopped) void this.pool.close().catch(() => {});
  }

  /** The mix's first request that is not an SSE stream (a stream would hold its connection). */
  protected warmUpSender(): WarmUpSender {
    const i = this.o.requests.findIndex((r) => r.stream !== 'sse');
    if (i < 0) return 'every request of the mix is an SSE stream';
    const prng = this.o.prng.fork('warm-up');
    return {
      send: (done) =>
        this.pool.dispatch(this.optsFor(i, prng), new WarmUpHandler(done) as Dispatcher.DispatchHandler),
      abandon: () => {
        // What still hangs would hold connections the load needs: start from a fresh pool.
        const stale = this.pool;
        this.pool = this.newPool();
        void stale.destroy().catch(() => {});
      },
    };
  }

  private newPool(): Pool {
    const pool = new Pool(this.origin, {
      connections: this.o.connections,
      pipelining: 1,
      headersTimeout: this.o.timeoutMs,
      bodyTimeout: this.o.timeoutMs,
      connectTimeout: this.o.timeoutMs,
      keepAliveTimeout: 10_000,
    });
    pool.on('connectionError', () => {}); // counted per request; keep the process alive
    return pool;
  }
}

function hasHeader(h: Record<string, string>, name: string): boolean {
  return Object.keys(h).some((k) => k.toLowerCase() === name);
}
