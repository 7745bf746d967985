/**
 * The open-model HTTP engine. Arrivals come from the plan's rate(t) and are sent at their
 * intended times whether or not earlier requests have answered; latency is measured from the
 * intended time (no coordinated omission).
 *
 *   Arrivals ──due──> free connection? ──yes──> Pool.dispatch(handler) ──> MetricsStore
 *                          │ no
 *                          └──> backlog (bounded ring) ──full──> dropped
 *
 * The hot path allocates one small handler object per request and no promise.
 */
import { EventEmitter } from 'node:events';
import { Pool, type Dispatcher } from 'undici';
import type { MetricsStore } from '../metrics/store.ts';
import type { RequestSpec } from '../scenario/schema.ts';
import { Arrivals } from './arrivals.ts';
import { classifyError } from './errors.ts';
import type { RequestPayload } from './http-bodies.ts';
import { SseHandler } from './sse.ts';
import type { Segment } from './patterns.ts';
import type { Prng } from './prng.ts';
import {
  runWarmUp,
  WARM_UP_BUDGET_MS,
  warmUpCount,
  type WarmUpAnswer,
  type WarmUpReport,
} from './warm-up.ts';

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

export interface LoadOutcome {
  /** Why the load ended. */
  ended: 'completed' | 'stopped';
  durationMs: number;
  sent: number;
  completed: number;
  dropped: number;
  cancelled: number;
  /** The warm-up before t = 0 (engines that have one; null when it did not run). */
  warmUp?: WarmUpReport | null;
}

export interface HttpLoadEvents {
  tick: [nowMs: number];
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

export class HttpLoad extends EventEmitter<HttpLoadEvents> {
  private pool: Pool;
  private readonly dispatchOpts: Dispatcher.DispatchOptions[];
  private readonly cumWeights: Float64Array;
  private readonly base: string;
  private readonly bodyPrng: Prng;
  private readonly arrivals: Arrivals;
  private readonly backlog: Float64Array;
  private bHead = 0;
  private bLen = 0;
  private inflight = 0;
  private nextAt: number;
  private t0 = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private stopping = false;
  private draining = false;
  private stoppedEarly = false;
  private settled = false;
  private faultKey = '';
  private resolveDone!: (o: LoadOutcome) => void;
  private readonly counts = { sent: 0, completed: 0, dropped: 0, cancelled: 0 };
  private warmUpReport: WarmUpReport | null = null;
  readonly done: Promise<LoadOutcome>;

  constructor(private readonly o: HttpLoadOptions) {
    super();
    const url = new URL(o.url);
    const base = url.pathname.replace(/\/$/, '');
    this.pool = this.newPool(url.origin);
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
    let acc = 0;
    this.cumWeights = Float64Array.from(o.requests.map((r) => (acc += r.weight)));
    this.arrivals = new Arrivals(o.segment, o.arrivals, o.prng.fork('arrivals'));
    this.backlog = new Float64Array(Math.max(1, o.maxBacklog));
    this.nextAt = this.arrivals.next();
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  /** Milliseconds since the load started. */
  now(): number {
    return performance.now() - this.t0;
  }

  /** Outcomes of requests sent from now on are attributed to this set of active faults. */
  setFaultKey(key: string): void {
    this.faultKey = key;
  }

  /**
   * Before start(): sends about two seconds' worth of the first second's rate (at least one per
   * connection, at most 5,000) of the mix's first non-streaming request through this engine's own
   * pool, `connections` at a time, and records nothing. Ends early when the target does not answer
   * and gives up after `budgetMs`; never throws.
   */
  warmUp(opts: { requests?: number; budgetMs?: number } = {}): Promise<WarmUpReport> {
    const t0 = performance.now();
    const i = this.o.requests.findIndex((r) => r.stream !== 'sse');
    if (i < 0 || this.stopping) {
      const why = this.stopping ? 'the load was stopped' : 'every request of the mix is an SSE stream';
      this.warmUpReport = { requests: 0, failed: 0, durationMs: 0, cutShort: why };
      return Promise.resolve(this.warmUpReport);
    }
    const render = this.o.payloads?.[i]?.render;
    const prng = this.o.prng.fork('warm-up');
    const base = this.dispatchOpts[i]!;
    return runWarmUp({
      requests: opts.requests ?? warmUpCount(this.o.segment, this.o.connections),
      concurrency: this.o.connections,
      budgetMs: opts.budgetMs ?? WARM_UP_BUDGET_MS,
      send: (done) => {
        let opts = base;
        if (render) {
          const r = render(prng);
          opts = { ...base, path: this.base + r.path, ...(r.body !== undefined ? { body: r.body } : {}) };
        }
        this.pool.dispatch(opts, new WarmUpHandler(done) as Dispatcher.DispatchHandler);
      },
      abandon: () => {
        // What still hangs would hold connections the load needs: start from a fresh pool.
        const stale = this.pool;
        this.pool = this.newPool(new URL(this.o.url).origin);
        void stale.destroy().catch(() => {});
      },
      stopped: () => this.stopping,
    }).then((r) => {
      this.warmUpReport = { ...r, durationMs: performance.now() - t0 };
      return this.warmUpReport;
    });
  }

  start(): Promise<LoadOutcome> {
    this.t0 = performance.now();
    this.loop();
    return this.done;
  }

  /** Stops at once: no more arrivals; backlog and in-flight requests are cancelled. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    if (!this.draining) this.stoppedEarly = true;
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = null;
    }
    for (; this.bLen > 0; this.bLen--) {
      this.o.store.cancel(this.backlog[this.bHead]!);
      this.bHead = (this.bHead + 1) % this.backlog.length;
      this.counts.cancelled++;
    }
    // Destroying the pool fails every in-flight request; each is then counted as cancelled.
    void this.pool.destroy().catch(() => {});
    this.maybeDone();
  }

  private readonly loop = (): void => {
    this.timer = null;
    if (this.stopping) return;
    const now = this.now();
    const store = this.o.store;
    while (this.nextAt <= now) {
      const intended = this.nextAt;
      store.arrival(intended);
      if (this.inflight < this.o.connections) this.send(intended, now);
      else if (this.bLen < this.o.maxBacklog) {
        this.backlog[(this.bHead + this.bLen++) % this.backlog.length] = intended;
      } else {
        store.drop(intended);
        this.counts.dropped++;
      }
      this.nextAt = this.arrivals.next();
    }
    store.gauge(now, this.bLen, this.inflight);
    this.emit('tick', now);
    if (!Number.isFinite(this.nextAt)) {
      this.beginDrain();
      return;
    }
    const wait = this.nextAt - this.now();
    // Timers fire ~1 ms late: sleep to just before a far arrival. A near one (under 1.5 ms) gets a
    // 1 ms sleep too, sent late with its own intended time: spinning instead took a whole core at
    // any rate above ~700/s and flagged every second as saturated (docs/benchmarks.md). Only an
    // arrival about to fall due is worth a turn of the event loop.
    this.timer =
      wait > 1.5
        ? setTimeout(this.loop, Math.floor(wait - 1))
        : wait > 0.05
          ? setTimeout(this.loop, 1)
          : setImmediate(this.loop);
  };

  private send(intendedMs: number, nowMs: number): void {
    this.inflight++;
    this.counts.sent++;
    const i = this.pick();
    const spec = this.o.requests[i]!;
    const h =
      spec.stream === 'sse'
        ? new SseHandler(this, this.o.store.streams, intendedMs, nowMs, this.faultKey, i, spec.streamEnd)
        : new RequestHandler(this, intendedMs, nowMs, this.faultKey, i);
    this.o.store.send(intendedMs, nowMs, this.faultKey);
    this.o.store.profiles.sent(i);
    const render = this.o.payloads?.[i]?.render;
    let opts = this.dispatchOpts[i]!;
    if (render) {
      const r = render(this.bodyPrng);
      opts = { ...opts, path: this.base + r.path, ...(r.body !== undefined ? { body: r.body } : {}) };
    }
    this.pool.dispatch(opts, h as Dispatcher.DispatchHandler);
  }

  private pick(): number {
    const w = this.cumWeights;
    if (w.length === 1) return 0;
    const x = this.o.prng.next() * w[w.length - 1]!;
    let i = 0;
    while (w[i]! <= x) i++;
    return i;
  }

  /** Called by a handler when its request ends, with or without an error. */
  finish(h: RequestHandler | SseHandler, err: Error | null): void {
    this.inflight--;
    const end = this.now();
    if (this.stopping && err) {
      this.o.store.cancel(h.intendedMs);
      this.counts.cancelled++;
    } else {
      this.counts.completed++;
      const kind = err ? classifyError(err) : h instanceof SseHandler ? h.cutKind : null;
      this.o.store.result(h.intendedMs, h.sentMs, end, err ? 0 : h.status, kind, h.faultKey);
      this.o.store.profiles.result(
        h.profile,
        end - h.intendedMs,
        kind === null && h.status > 0 && h.status < 400,
      );
      if (h instanceof SseHandler) h.recordEnd(end, kind);
    }
    if (this.bLen > 0 && !this.stopping) {
      const intended = this.backlog[this.bHead]!;
      this.bHead = (this.bHead + 1) % this.backlog.length;
      this.bLen--;
      this.send(intended, end);
    }
    this.maybeDone();
  }

  /** After the last arrival: wait for in-flight and backlog to drain, bounded by the timeout. */
  private beginDrain(): void {
    this.draining = true;
    this.maybeDone();
    if (!this.settled) setTimeout(() => this.stop(), this.o.timeoutMs + 1000).unref();
  }

  private maybeDone(): void {
    if (this.settled) return;
    const done = this.stopping
      ? this.inflight === 0
      : this.draining && this.inflight === 0 && this.bLen === 0;
    if (!done) return;
    this.settled = true;
    if (!this.stopping) void this.pool.close().catch(() => {});
    this.resolveDone({
      ended: this.stoppedEarly ? 'stopped' : 'completed',
      durationMs: this.now(),
      ...this.counts,
      warmUp: this.warmUpReport,
    });
  }

  private newPool(origin: string): Pool {
    const pool = new Pool(origin, {
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
