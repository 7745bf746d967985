/**
 * The open-model gRPC engine: the shared scheduler (src/load/open-model.ts) making calls on
 * grpc-js channels at the lowest public level (Channel.createCall), so messages go out as
 * pre-encoded bytes and answers are counted without being decoded.
 *
 *   scheduler ──dispatch(intended)──> channel.createCall(path) ──> CallHandler ──> MetricsStore
 *                                     (round robin over channels; unary or server stream)
 *   CallHandler: each message = one stream event (time to first event, gaps);
 *                status OK = ok, any other code = error kind grpc_<code> (src/core/grpc-status.ts)
 *   warm-up: the mix's first call on the same channels, recorded nowhere (a server stream is
 *            cancelled at its first message: by then the call path is warm)
 *   tracing (only with a tracer): a sampled call carries `traceparent` metadata; its span ends
 *            with the call's status
 */
import * as grpc from '@grpc/grpc-js';
import type { RequestTracer, TracedRequest, TraceProfile } from '../otel/request-tracer.ts';
import type { Prng } from './prng.ts';
import type { ErrorKind } from '../core/error-kinds.ts';
import { grpcErrorKind } from '../core/grpc-status.ts';
import { InFlight, OpenModelLoad, type OpenModelOptions, type WarmUpSender } from './open-model.ts';
import type { WarmUpAnswer } from './warm-up.ts';

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

export interface GrpcLoadOptions extends Omit<OpenModelOptions, 'weights'> {
  /** `host:port`. */
  address: string;
  calls: readonly GrpcCallSpec[];
  /** HTTP/2 connections the calls are spread over (round robin). */
  channels: number;
  /** A unary call's deadline (gRPC's own: it ends as DEADLINE_EXCEEDED). */
  deadlineMs: number;
  /** A server-streaming call's deadline. */
  streamDeadlineMs: number;
  /** Sampled calls carry W3C traceparent metadata and are exported as spans (`--otlp`, `--trace-sample`). */
  tracer?: RequestTracer | null;
}

/** gRPC enforces its own deadline; the scheduler's sweep only backs it up, a little later. */
const SWEEP_GRACE_MS = 500;

/** The channel-level call (grpc-js exports the type only through Channel.createCall). */
type ChannelCall = ReturnType<grpc.Channel['createCall']>;

class CallHandler extends InFlight implements grpc.InterceptingListener {
  call: ChannelCall | null = null;
  events = 0;
  lastEventMs = 0;
  /** The status code it ended with (-1: none yet). */
  code = -1;
  trace: TracedRequest | null = null;
  constructor(
    private readonly load: GrpcLoad,
    readonly streaming: boolean,
  ) {
    super();
  }
  onReceiveMetadata(): void {}
  onReceiveMessage(): void {
    if (this.streaming && !this.settled) this.load.event(this);
    this.call!.startRead();
  }
  onReceiveStatus(status: grpc.StatusObject): void {
    this.load.finish(this, status.code);
  }
}

/** A warm-up call: answered at its status, or at its first message for a server stream. */
class WarmUpCall implements grpc.InterceptingListener {
  call: ChannelCall | null = null;
  constructor(
    private readonly streaming: boolean,
    private readonly done: (a: WarmUpAnswer) => void,
  ) {}
  onReceiveMetadata(): void {}
  onReceiveMessage(): void {
    if (!this.streaming) return this.call!.startRead();
    this.done('ok');
    this.call!.cancelWithStatus(grpc.status.CANCELLED, 'chaoskit: warm-up');
  }
  onReceiveStatus(status: grpc.StatusObject): void {
    const kind = grpcErrorKind(status.code);
    // UNAVAILABLE: no connection (refused, reset); anything else is the server answering.
    this.done(kind === null ? 'ok' : kind === 'grpc_unavailable' ? { unanswered: kind } : 'failed');
  }
}

export class GrpcLoad extends OpenModelLoad {
  private readonly channels: grpc.Channel[];
  private readonly metadata: grpc.Metadata[];
  private readonly live = new Set<CallHandler>();
  private readonly calls: readonly GrpcCallSpec[];
  private nextChannel = 0;
  private readonly tracer: RequestTracer | null;
  private readonly traceProfiles: TraceProfile[];

  constructor(private readonly o: GrpcLoadOptions) {
    super({ ...o, weights: o.calls.map((c) => c.weight) });
    this.calls = o.calls;
    const creds = grpc.credentials.createInsecure();
    this.channels = Array.from(
      { length: Math.max(1, o.channels) },
      // A local subchannel pool: otherwise grpc-js shares one connection among equal channels.
      // Retries stay on as in every gRPC client by default, with no retry policy: grpc-js then
      // only re-sends a call the server never saw (a stream refused or past a GOAWAY while a
      // connection is recycled). Off, those surfaced as stray UNAVAILABLE errors whenever a
      // latency fault slowed the GOAWAY down (19 of 320 calls at 150 ms; 0 with retries on, and
      // 0 without the fault); they were the client's, not the fault's (test/load/grpc-recycle.test.ts).
      () =>
        new grpc.Channel(o.address, creds, { 'grpc.use_local_subchannel_pool': 1, 'grpc.enable_retries': 1 }),
    );
    this.metadata = o.calls.map((c) => {
      const md = new grpc.Metadata();
      for (const [k, v] of Object.entries(c.metadata)) md.set(k, v);
      return md;
    });
    o.store.profiles.define(o.calls.map((c) => c.name));
    this.tracer = o.tracer ?? null;
    const [host, port] = splitAddress(o.address);
    this.traceProfiles = o.calls.map((c) => {
      const [service = '', method = ''] = c.path.replace(/^\//, '').split('/');
      return {
        name: `${service}/${method}`,
        protocol: 'grpc' as const,
        attributes: {
          'rpc.system': 'grpc',
          'rpc.service': service,
          'rpc.method': method,
          'server.address': host,
          ...(port ? { 'server.port': port } : {}),
          'chaoskit.profile': c.name,
        },
      };
    });
  }

  private deadlineOf(profile: number): number {
    return this.calls[profile]!.serverStreaming ? this.o.streamDeadlineMs : this.o.deadlineMs;
  }

  protected timeoutFor(profile: number): number {
    return this.deadlineOf(profile) + SWEEP_GRACE_MS;
  }

  protected create(profile: number): InFlight {
    return new CallHandler(this, this.calls[profile]!.serverStreaming);
  }

  protected dispatch(h: InFlight): void {
    const c = h as CallHandler;
    this.live.add(c);
    this.startCall(c.profile, c, this.requestPrng(c));
  }

  private startCall(i: number, listener: CallHandler | WarmUpCall, prng: Prng): void {
    const spec = this.calls[i]!;
    const ch = this.channels[this.nextChannel++ % this.channels.length]!;
    const call = ch.createCall(spec.path, Date.now() + this.deadlineOf(i), null, null, null);
    listener.call = call;
    const md = this.metadata[i]!.clone();
    if (this.tracer !== null && listener instanceof CallHandler) {
      const t = this.tracer.start(this.traceProfiles[i]!, listener.intendedMs, listener.sentMs);
      if (t !== null) {
        listener.trace = t;
        md.set('traceparent', t.traceparent);
      }
    }
    call.start(md, listener);
    call.sendMessageWithContext({}, spec.encode(prng));
    call.halfClose();
    call.startRead();
  }

  /** A message of a server stream arrived. */
  event(h: CallHandler): void {
    const at = this.now();
    const streams = this.store.streams;
    if (h.events === 0) streams.first(h.intendedMs, at);
    streams.event(at, h.events === 0 ? null : at - h.lastEventMs);
    h.events++;
    h.lastEventMs = at;
  }

  /** Called by a handler when its call ends with a status. */
  finish(h: CallHandler, code: number): void {
    this.live.delete(h);
    h.code = code;
    this.complete(h, 0, grpcErrorKind(code));
  }

  protected override onSettled(h: InFlight, endMs: number, kind: ErrorKind | null): void {
    const c = h as CallHandler;
    if (c.streaming && (kind === null || c.events > 0)) this.store.streams.end(endMs, kind !== null);
    if (c.trace !== null) {
      const t = c.trace;
      c.trace = null;
      t.end(c.code >= 0 ? c.code : kind === 'timeout' ? grpc.status.DEADLINE_EXCEEDED : 0, kind, endMs);
    }
  }

  protected abort(h: InFlight): void {
    const c = h as CallHandler;
    this.live.delete(c);
    c.call?.cancelWithStatus(grpc.status.DEADLINE_EXCEEDED, 'chaoskit: deadline');
  }

  protected abortAll(): void {
    for (const h of [...this.live]) h.call?.cancelWithStatus(grpc.status.CANCELLED, 'chaoskit: load stopped');
    this.live.clear();
  }

  protected release(): void {
    for (const ch of this.channels) ch.close();
  }

  /** The mix's first call, on the same channels (each channel's connection opens on its first call). */
  protected warmUpSender(): WarmUpSender {
    const prng = this.o.prng.fork('warm-up');
    const pending = new Set<WarmUpCall>();
    return {
      send: (done) => {
        const w: WarmUpCall = new WarmUpCall(this.calls[0]!.serverStreaming, (a) => {
          pending.delete(w);
          done(a);
        });
        pending.add(w);
        this.startCall(0, w, prng);
      },
      abandon: () => {
        for (const w of [...pending]) w.call?.cancelWithStatus(grpc.status.CANCELLED, 'chaoskit: warm-up');
      },
    };
  }
}

/** `host:port` (or `[v6]:port`) → host and port number (0 when absent). */
function splitAddress(address: string): [string, number] {
  const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(address.replace(/^dns:\/*/, ''));
  return m ? [m[1] ?? address, Number(m[2] ?? 0)] : [address, 0];
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
