/**
 * The open-model gRPC engine: the same arrivals, backlog and measurement as the HTTP engine, with
 * calls made on grpc-js channels at the lowest public level (Channel.createCall), so messages go
 * out as pre-encoded bytes and answers are counted without being decoded.
 *
 *   Arrivals ──due──> in-flight < concurrency? ──yes──> channel.createCall(path) ──> CallHandler
 *                          │ no                                     (unary or server stream)
 *                          └──> backlog (bounded ring) ──full──> dropped
 *   CallHandler: each message = one stream event (time to first event, gaps);
 *                status OK = ok, any other code = error kind grpc_<code> (src/load/grpc-status.ts)
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { MetricsStore } from '../metrics/store.ts';
import { Arrivals } from './arrivals.ts';
import { grpcErrorKind } from './grpc-status.ts';
import type { LoadOutcome } from './http-engine.ts';
import type { Segment } from './patterns.ts';
import type { Prng } from './prng.ts';

/** One compiled call profile of the mix. */
export interface GrpcCallSpec {
  name: string;
  weight: number;
  /** `/package.Service/Method`. */
  path: string;
  serverStreaming: boolean;
  /** Request bytes for one call (fixed, or rendered from a template with the PRNG). */
  encode: (prng: Prng) => Buffer;
  metadata: Record<string, string>;
}

export interface GrpcLoadOptions {
  /** `host:port`. */
  address: string;
  calls: readonly GrpcCallSpec[];
  segment: Segment;
  arrivals: 'even' | 'poisson';
  /** Calls in flight at most; arrivals beyond wait in the backlog. */
  concurrency: number;
  /** HTTP/2 connections the calls are spread over (round robin). */
  channels: number;
  maxBacklog: number;
  deadlineMs: number;
  prng: Prng;
  store: MetricsStore;
}

export interface GrpcLoadEvents {
  tick: [nowMs: number];
}

/** The channel-level call (grpc-js exports the type only through Channel.createCall). */
type ChannelCall = ReturnType<grpc.Channel['createCall']>;

class CallHandler implements grpc.InterceptingListener {
  call: ChannelCall | null = null;
  events = 0;
  lastEventMs = 0;
  constructor(
    private readonly load: GrpcLoad,
    readonly intendedMs: number,
    readonly sentMs: number,
    readonly faultKey: string,
    readonly profile: number,
    readonly streaming: boolean,
  ) {}
  onReceiveMetadata(): void {}
  onReceiveMessage(): void {
    if (this.streaming) this.load.event(this);
    this.call!.startRead();
  }
  onReceiveStatus(status: grpc.StatusObject): void {
    this.load.finish(this, status.code);
  }
}

export class GrpcLoad extends EventEmitter<GrpcLoadEvents> {
  private readonly channels: grpc.Channel[];
  private readonly metadata: grpc.Metadata[];
  private readonly cumWeights: Float64Array;
  private readonly arrivals: Arrivals;
  private readonly backlog: Float64Array;
  private readonly live = new Set<CallHandler>();
  private readonly calls: readonly GrpcCallSpec[];
  private readonly bodyPrng: Prng;
  private nextChannel = 0;
  private bHead = 0;
  private bLen = 0;
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
  readonly done: Promise<LoadOutcome>;

  constructor(private readonly o: GrpcLoadOptions) {
    super();
    this.calls = o.calls;
    const creds = grpc.credentials.createInsecure();
    this.channels = Array.from(
      { length: Math.max(1, o.channels) },
      // A local subchannel pool: otherwise grpc-js shares one connection among equal channels.
      () =>
        new grpc.Channel(o.address, creds, { 'grpc.use_local_subchannel_pool': 1, 'grpc.enable_retries': 0 }),
    );
    this.metadata = o.calls.map((c) => {
      const md = new grpc.Metadata();
      for (const [k, v] of Object.entries(c.metadata)) md.set(k, v);
      return md;
    });
    let acc = 0;
    this.cumWeights = Float64Array.from(o.calls.map((c) => (acc += c.weight)));
    this.arrivals = new Arrivals(o.segment, o.arrivals, o.prng.fork('arrivals'));
    this.bodyPrng = o.prng.fork('bodies');
    this.backlog = new Float64Array(Math.max(1, o.maxBacklog));
    this.nextAt = this.arrivals.next();
    this.done = new Promise((r) => (this.resolveDone = r));
    o.store.profiles.define(o.calls.map((c) => c.name));
  }

  /** Milliseconds since the load started. */
  now(): number {
    return performance.now() - this.t0;
  }

  setFaultKey(key: string): void {
    this.faultKey = key;
  }

  start(): Promise<LoadOutcome> {
    this.t0 = performance.now();
    this.loop();
    return this.done;
  }

  /** Stops at once: no more arrivals; backlog and in-flight calls are cancelled. */
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
    for (const h of [...this.live]) h.call?.cancelWithStatus(grpc.status.CANCELLED, 'chaoskit: load stopped');
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
      if (this.live.size < this.o.concurrency) this.send(intended, now);
      else if (this.bLen < this.o.maxBacklog) {
        this.backlog[(this.bHead + this.bLen++) % this.backlog.length] = intended;
      } else {
        store.drop(intended);
        this.counts.dropped++;
      }
      this.nextAt = this.arrivals.next();
    }
    store.gauge(now, this.bLen, this.live.size);
    this.emit('tick', now);
    if (!Number.isFinite(this.nextAt)) {
      this.beginDrain();
      return;
    }
    const wait = this.nextAt - this.now();
    this.timer = wait > 1.5 ? setTimeout(this.loop, Math.floor(wait - 1)) : setImmediate(this.loop);
  };

  private send(intendedMs: number, nowMs: number): void {
    this.counts.sent++;
    const i = this.pick();
    const spec = this.calls[i]!;
    const h = new CallHandler(this, intendedMs, nowMs, this.faultKey, i, spec.serverStreaming);
    this.live.add(h);
    this.o.store.send(intendedMs, nowMs, this.faultKey);
    this.o.store.profiles.sent(i);
    const ch = this.channels[this.nextChannel++ % this.channels.length]!;
    const call = ch.createCall(spec.path, Date.now() + this.o.deadlineMs, null, null, null);
    h.call = call;
    call.start(this.metadata[i]!.clone(), h);
    call.sendMessageWithContext({}, spec.encode(this.bodyPrng));
    call.halfClose();
    call.startRead();
  }

  private pick(): number {
    const w = this.cumWeights;
    if (w.length === 1) return 0;
    const x = this.o.prng.next() * w[w.length - 1]!;
    let i = 0;
    while (w[i]! <= x) i++;
    return i;
  }

  /** A message of a server stream arrived. */
  event(h: CallHandler): void {
    const at = this.now();
    const streams = this.o.store.streams;
    if (h.events === 0) streams.first(h.intendedMs, at);
    streams.event(at, h.events === 0 ? null : at - h.lastEventMs);
    h.events++;
    h.lastEventMs = at;
  }

  /** Called by a handler when its call ends with a status. */
  finish(h: CallHandler, code: number): void {
    if (!this.live.delete(h)) return;
    const end = this.now();
    const store = this.o.store;
    if (this.stopping && code === grpc.status.CANCELLED) {
      store.cancel(h.intendedMs);
      this.counts.cancelled++;
    } else {
      this.counts.completed++;
      const kind = grpcErrorKind(code);
      store.result(h.intendedMs, h.sentMs, end, 0, kind, h.faultKey);
      store.profiles.result(h.profile, end - h.intendedMs, kind === null);
      if (h.streaming && (kind === null || h.events > 0)) store.streams.end(end, kind !== null);
    }
    if (this.bLen > 0 && !this.stopping) {
      const intended = this.backlog[this.bHead]!;
      this.bHead = (this.bHead + 1) % this.backlog.length;
      this.bLen--;
      this.send(intended, end);
    }
    this.maybeDone();
  }

  private beginDrain(): void {
    this.draining = true;
    this.maybeDone();
    if (!this.settled) setTimeout(() => this.stop(), this.o.deadlineMs + 1000).unref();
  }

  private maybeDone(): void {
    if (this.settled) return;
    const idle = this.live.size === 0;
    const done = this.stopping ? idle : this.draining && idle && this.bLen === 0;
    if (!done) return;
    this.settled = true;
    for (const ch of this.channels) ch.close();
    this.resolveDone({
      ended: this.stoppedEarly ? 'stopped' : 'completed',
      durationMs: this.now(),
      ...this.counts,
    });
  }
}

/** Waits until `address` accepts an HTTP/2 connection; a string says why it did not. */
export function grpcReachable(address: string, timeoutMs: number): Promise<string | null> {
  const ch = new grpc.Channel(address, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  });
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    const check = () => {
      const state = ch.getConnectivityState(true);
      if (state === grpc.connectivityState.READY) {
        ch.close();
        resolve(null);
        return;
      }
      ch.watchConnectivityState(state, deadline, (err) => {
        if (err) {
          ch.close();
          resolve(`no connection within ${timeoutMs} ms (last state ${grpc.connectivityState[state]})`);
        } else check();
      });
    };
    check();
  });
}
