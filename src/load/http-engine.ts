/**
 * The open-model HTTP engine: the shared scheduler (src/load/open-model.ts) sending on undici's
 * `Pool.dispatch` with one handler object per request and no promise. Latency is measured from the
 * intended time (no coordinated omission); `timeout` is a total deadline from send to last byte
 * (`streamTimeout` for server-sent event streams), enforced by the scheduler's sweep.
 *
 *   scheduler ──dispatch(h)──> Pool.dispatch(RequestHandler | SseHandler) ──> scheduler.complete()
 *   deadline ──> scheduler records a timeout ──> abort(h): undici's abort for that request
 *   warm-up: the mix's first non-stream request, through the same pool, recorded nowhere
 *   tracing (only with a tracer): a sampled request carries a `traceparent` header; its span ends
 *   with its outcome. Without a tracer the hot path pays one null check.
 */
import { Pool, type Dispatcher } from 'undici';
import type { RequestTracer, TraceProfile } from '../otel/request-tracer.ts';
import type { RequestSpec } from '../scenario/schema.ts';
import { classifyError, type ErrorKind } from './errors.ts';
import type { RequestPayload } from './http-bodies.ts';
import { HttpInFlight } from './http-inflight.ts';
import { InFlight, OpenModelLoad, type OpenModelOptions, type WarmUpSender } from './open-model.ts';
import { SseHandler } from './sse.ts';
import type { Prng } from './prng.ts';
import type { WarmUpAnswer } from './warm-up.ts';

export type { LoadOutcome } from './open-model.ts';

export interface HttpLoadOptions extends Omit<OpenModelOptions, 'weights' | 'concurrency'> {
  url: string;
  requests: readonly RequestSpec[];
  connections: number;
  timeoutMs: number;
  /** Total deadline of a server-sent event stream (`stream: sse`). */
  streamTimeoutMs: number;
  /** Templated paths and bodies (src/load/http-bodies.ts), by request index; fixed ones when absent. */
  payloads?: readonly RequestPayload[];
  /** Sampled requests carry a W3C traceparent and are exported as spans (`--otlp`, `--trace-sample`). */
  tracer?: RequestTracer | null;
}

/**
 * undici's core dispatch handler (the callback API that Pool.dispatch calls directly; the newer
 * controller API is only wired through interceptors and costs a wrapper object per request).
 */
class RequestHandler extends HttpInFlight {
  constructor(private readonly load: HttpLoad) {
    super();
  }
  onHeaders(statusCode: number): boolean {
    this.status = statusCode;
    return true;
  }
  onData(): boolean {
    return true;
  }
  onComplete(): void {
    this.load.ended(this, this.status, null);
  }
  onError(err: Error): void {
    this.load.ended(this, 0, classifyError(err));
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
  private readonly tracer: RequestTracer | null;
  private readonly traceProfiles: TraceProfile[];

  constructor(private readonly o: HttpLoadOptions) {
    super({ ...o, concurrency: o.connections, weights: o.requests.map((r) => r.weight) });
    const url = new URL(o.url);
    const base = url.pathname.replace(/\/$/, '');
    this.origin = url.origin;
    this.pool = this.newPool();
    this.dispatchOpts = o.requests.map((r, i) => {
      const body = o.payloads?.[i]?.body ?? r.body;
      return {
        origin: url.origin,
        method: r.method as Dispatcher.HttpMethod,
        path: base + r.path,
        headers: {
          ...r.headers,
          ...(body !== undefined && !hasHeader(r.headers, 'content-type')
            ? { 'content-type': 'application/json' }
            : {}),
        },
        ...(body !== undefined ? { body } : {}),
      };
    });
    this.base = base;
    this.tracer = o.tracer ?? null;
    this.traceProfiles = this.tracer
      ? o.requests.map((r) => ({
          name: `${r.method} ${base + r.path}`,
          protocol: 'http' as const,
          attributes: {
            'http.request.method': r.method,
            'url.full': url.origin + base + r.path,
            'server.address': url.hostname,
            'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
            'chaoskit.profile': r.name ?? `${r.method} ${r.path}`,
          },
        }))
      : [];
    if (o.requests.length > 1 || o.requests.some((r) => r.name)) {
      o.store.profiles.define(o.requests.map((r) => r.name ?? `${r.method} ${r.path}`));
    }
  }

  protected timeoutFor(profile: number): number {
    return this.o.requests[profile]!.stream === 'sse' ? this.o.streamTimeoutMs : this.o.timeoutMs;
  }

  protected create(profile: number): InFlight {
    const spec = this.o.requests[profile]!;
    return spec.stream === 'sse'
      ? new SseHandler(this, this.o.store.streams, spec.streamEnd)
      : new RequestHandler(this);
  }

  protected dispatch(h: InFlight): void {
    const opts = this.optsFor(h.profile, this.requestPrng(h));
    this.pool.dispatch(
      this.tracer === null ? opts : this.traced(h as HttpInFlight, opts),
      h as unknown as Dispatcher.DispatchHandler,
    );
  }

  /** A sampled request gets its span and a traceparent header (a copy of its options); others go as they are. */
  private traced(h: HttpInFlight, opts: Dispatcher.DispatchOptions): Dispatcher.DispatchOptions {
    const t = this.tracer!.start(this.traceProfiles[h.profile]!, h.intendedMs, h.sentMs);
    if (t === null) return opts;
    h.trace = t;
    return { ...opts, headers: { ...(opts.headers as Record<string, string>), traceparent: t.traceparent } };
  }

  private optsFor(i: number, prng: Prng): Dispatcher.DispatchOptions {
    const opts = this.dispatchOpts[i]!;
    const render = this.o.payloads?.[i]?.render;
    if (!render) return opts;
    const r = render(prng);
    return { ...opts, path: this.base + r.path, ...(r.body !== undefined ? { body: r.body } : {}) };
  }

  /** A handler's request ended (a response, or an error with its kind). */
  ended(h: HttpInFlight, status: number, kind: ErrorKind | null): void {
    this.complete(h, status, kind ?? (h instanceof SseHandler ? h.cutKind : null));
  }

  protected override onSettled(h: InFlight, endMs: number, kind: ErrorKind | null): void {
    if (h instanceof SseHandler) h.recordEnd(endMs, kind);
    const t = (h as HttpInFlight).trace;
    if (t !== null) {
      (h as HttpInFlight).trace = null;
      t.end((h as HttpInFlight).status, kind, endMs);
    }
  }

  protected abort(h: InFlight): void {
    (h as HttpInFlight).abortNow();
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
    // The scheduler enforces the deadlines; undici's own timers are only a backstop.
    const backstop = Math.max(this.o.timeoutMs, this.o.streamTimeoutMs) + 1000;
    const pool = new Pool(this.origin, {
      connections: this.o.connections,
      pipelining: 1,
      headersTimeout: backstop,
      bodyTimeout: backstop,
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
