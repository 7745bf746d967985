/**
 * The open-model HTTP engine: the shared scheduler (src/load/open-model.ts) sending on undici's
 * `Pool.dispatch` with one handler object per request and no promise. Latency is measured from the
 * intended time (no coordinated omission); `timeout` is a total deadline from send to last byte
 * (`streamTimeout` for server-sent event streams), enforced by the scheduler's sweep.
 *
 *   scheduler ──dispatch(h)──> render (templates, captured values, data row) ──> Pool.dispatch
 *             (RequestHandler │ SseHandler) ──> checks and captures on the answer ──> scheduler.complete()
 *   deadline ──> scheduler records a timeout ──> abort(h): undici's abort for that request
 *   warm-up: the mix's first request that needs nothing from a session, through the same pool, recorded nowhere
 *
 *   tracing (only with a tracer): a sampled request carries a `traceparent` header; its span ends
 *   with its outcome. Without a tracer the hot path pays one null check.
 *
 * A request that needs a value its session does not have (a capture that never matched) is not
 * sent: it fails at once with kind `check`, naming the variable.
 */
import { Pool, type Dispatcher } from 'undici';
import type { RequestTracer, TraceProfile } from '../otel/request-tracer.ts';
import type { MixEntry } from '../scenario/schema.ts';
import type { AnswerView } from './captures.ts';
import { classifyError, type ErrorKind } from '../core/error-kinds.ts';
import { inspectAnswer, prepareRequest, type CompiledRequest } from './http-bodies.ts';
import { HttpInFlight } from './http-inflight.ts';
import { InFlight, OpenModelLoad, type OpenModelOptions, type WarmUpSender } from './open-model.ts';
import { SseHandler } from './sse.ts';
import type { Prng } from './prng.ts';
import type { WarmUpAnswer } from './warm-up.ts';
import { compileWorkload, type Workload } from './workload.ts';
import { InputError } from '../core/errors.ts';

export type { LoadOutcome } from './open-model.ts';

export interface HttpLoadOptions extends Omit<OpenModelOptions, 'weights' | 'concurrency' | 'workload'> {
  url: string;
  /** The compiled mix (src/load/workload.ts); compiled from `requests` when absent. */
  workload?: Workload;
  /** The mix as written (when no workload is given); files are relative to `scenarioDir`. */
  requests?: readonly MixEntry[];
  scenarioDir?: string;
  connections: number;
  timeoutMs: number;
  /** Total deadline of a server-sent event stream (`stream: sse`). */
  streamTimeoutMs: number;
  /** Sampled requests carry a W3C traceparent and are exported as spans (`--otlp`, `--trace-sample`). */
  tracer?: RequestTracer | null;
}

/** Answers larger than this are read only this far for captures and checks. */
export const MAX_INSPECTED_BYTES = 1 << 20;

/**
 * undici's core dispatch handler (the callback API that Pool.dispatch calls directly; the newer
 * controller API is only wired through interceptors and costs a wrapper object per request).
 */
class RequestHandler extends HttpInFlight {
  constructor(private readonly load: HttpLoad) {
    super();
  }
  onHeaders(statusCode: number, raw: Buffer[] | string[] | null): boolean {
    this.status = statusCode;
    if (this.keepHeaders) this.rawHeaders = raw;
    return true;
  }
  onData(chunk: Buffer): boolean {
    if (this.keepBody) this.keep(chunk);
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
  private readonly wl: Workload;
  private readonly tracer: RequestTracer | null;
  private readonly traceProfiles: TraceProfile[];

  constructor(private readonly o: HttpLoadOptions) {
    const wl = o.workload ?? HttpLoad.compile(o.requests ?? [], o.scenarioDir ?? process.cwd());
    super({ ...o, concurrency: o.connections, weights: [], workload: wl });
    this.wl = wl;
    const url = new URL(o.url);
    const base = url.pathname.replace(/\/$/, '');
    this.origin = url.origin;
    this.pool = this.newPool();
    this.dispatchOpts = wl.profiles.map(({ request: r }) => ({
      origin: url.origin,
      method: r.method as Dispatcher.HttpMethod,
      path: base + r.path.source,
      headers: r.headers,
      ...(r.body !== undefined ? { body: r.body } : {}),
    }));
    this.base = base;
    this.tracer = o.tracer ?? null;
    this.traceProfiles = this.tracer
      ? wl.profiles.map(({ name, request: r }) => ({
          name: `${r.method} ${base + r.path.source}`,
          protocol: 'http' as const,
          attributes: {
            'http.request.method': r.method,
            'url.full': url.origin + base + r.path.source,
            'server.address': url.hostname,
            'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
            'chaoskit.profile': name,
          },
        }))
      : [];
  }

  private static compile(requests: readonly MixEntry[], dir: string): Workload {
    const { workload, problems } = compileWorkload({ requests: [...requests] }, dir);
    if (problems.length > 0)
      throw new InputError(
        `invalid requests: ${problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`,
      );
    return workload;
  }

  private req(profile: number): CompiledRequest {
    return this.wl.profiles[profile]!.request;
  }

  protected timeoutFor(profile: number): number {
    return this.req(profile).stream === 'sse' ? this.o.streamTimeoutMs : this.o.timeoutMs;
  }

  protected create(profile: number): InFlight {
    const r = this.req(profile);
    const h =
      r.stream === 'sse'
        ? new SseHandler(this, this.o.store.streams, r.streamEnd, this.o.store.profiles)
        : new RequestHandler(this);
    h.keepBody = r.needs.body;
    h.keepHeaders = r.needs.headers;
    return h;
  }

  protected dispatch(h: InFlight): void {
    const opts = this.optsFor(h.profile, null, h);
    if (!opts) return;
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

  /**
   * The request's options, rendered when it has tags (with `prng`, else the request's own
   * generator: positioning it costs a hash, so only requests that draw pay it); null when a value it
   * needs is unset (failed already).
   */
  private optsFor(i: number, prng: Prng | null, h: InFlight | null): Dispatcher.DispatchOptions | null {
    const opts = this.dispatchOpts[i]!;
    const r = this.req(i);
    if (!r.dynamic) return opts;
    const x = prepareRequest(r, prng ?? this.requestPrng(h!), h?.session ?? null, this.o.store.profiles, i);
    if (!x) {
      if (h) this.complete(h, 0, 'check');
      return null;
    }
    return {
      ...opts,
      path: this.base + x.path,
      ...(x.headers ? { headers: x.headers } : {}),
      ...(x.body !== undefined ? { body: x.body } : {}),
    };
  }

  /** A handler's request ended (a response, or an error with its kind): checks, then captures. */
  ended(h: HttpInFlight, status: number, kind: ErrorKind | null): void {
    if (h.settled) return;
    let k = kind ?? (h instanceof SseHandler ? h.cutKind : null);
    const r = this.req(h.profile);
    if (k === null && status < 400 && (r.expect || r.captures.length > 0)) {
      const latency = this.now() - h.intendedMs;
      k = inspectAnswer(
        r,
        answerView(h, status),
        latency,
        h.session?.vars ?? null,
        this.o.store.profiles,
        h.profile,
      );
    }
    h.dropKept();
    this.complete(h, status, k);
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

  /**
   * The mix's first request that is not an SSE stream (a stream would hold its connection) and needs
   * nothing from a session: a request of the mix, else the first step of a flow.
   */
  protected warmUpSender(): WarmUpSender {
    const usable = (p: number) => {
      const r = this.req(p);
      const refs = [r.path, r.bodyT, ...r.dynHeaders.map((x) => x.value)].flatMap((t) => t?.refs ?? []);
      return r.stream !== 'sse' && refs.length === 0 && !(r.multipart && !r.multipart.fixed);
    };
    const candidates = [
      ...this.wl.mix.filter((m) => m.profile >= 0).map((m) => m.profile),
      ...this.wl.flows.map((f) => f.steps[0]!),
    ];
    const i = candidates.find(usable);
    if (i === undefined)
      return candidates.every((p) => this.req(p).stream === 'sse')
        ? 'every request of the mix is an SSE stream'
        : 'no request of the mix can be sent on its own (SSE streams, or steps that need captured values or data)';
    const prng = this.o.prng.fork('warm-up');
    return {
      send: (done) =>
        this.pool.dispatch(
          this.optsFor(i, prng, null)!,
          new WarmUpHandler(done) as Dispatcher.DispatchHandler,
        ),
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

/** What captures and checks see of an answer: its status, headers and (bounded) body text. */
function answerView(h: HttpInFlight, status: number): AnswerView {
  let text: string | null = null;
  return {
    status,
    header(name) {
      const raw = h.rawHeaders;
      if (!raw) return undefined;
      for (let i = 0; i + 1 < raw.length; i += 2)
        if (String(raw[i]).toLowerCase() === name) return String(raw[i + 1]);
      return undefined;
    },
    text: () => (text ??= h.keptText()),
  };
}
