/**
 * An h2c-aware stage pair for gRPC faults: reads HTTP/2 frames both ways, decodes request header
 * blocks to find each call's :path, and per call either passes it, delays it, or answers it with
 * a trailers-only gRPC status. Frames are never rewritten, so both ends' HPACK tables stay in step.
 *
 *   client ──up stage: frames → HEADERS? decode :path → decide ──> (queue) ──> upstream
 *             └ error: HEADERS + RST_STREAM(CANCEL) go on (the server cancels the call), the call's
 *               DATA is dropped (credited back to the client with WINDOW_UPDATE)
 *   client <──down stage: whole frames; injected trailers-only answers slot in between; frames of
 *             answered-by-us calls are dropped, except header blocks (they carry HPACK state)
 *
 * HPACK state exists only from a connection's first byte: a stage attached to a connection that
 * was already open passes bytes through untouched (faults reach calls on connections opened
 * after they were added; gRPC servers recycle connections with max-connection-age).
 */
import { DelayQueue } from '../toxics/delay-queue.ts';
import type { Stage, StageContext } from '../types.ts';
import {
  F,
  FrameSplitter,
  grpcTrailersOnly,
  headerFragment,
  rstStream,
  T,
  windowUpdate,
  type Frame,
} from './frames.ts';
import { HpackDecoder, HpackError, type HeaderList } from './hpack.ts';

export type GrpcCallAction =
  { kind: 'error'; status: number; message: string } | { kind: 'delay'; ms: number };

/** Decides per call (a request's header block, with :path). */
export type GrpcDecide = (
  path: string,
  headers: HeaderList,
  random: () => number,
) => GrpcCallAction | undefined;

const CANCEL = 0x8;

class Shared {
  /** null until the up stage saw its first bytes; true when they were the HTTP/2 preface. */
  synced: boolean | null = null;
  down: DownStage | null = null;
  readonly answered = new Set<number>();
  constructor(readonly decide: GrpcDecide) {}
}

class UpStage implements Stage {
  private readonly splitter = new FrameSplitter(true);
  private readonly decoder = new HpackDecoder();
  private readonly queue: DelayQueue;
  private block: { frames: Frame[]; fragments: Buffer[] } | null = null;
  private lastStream = 0;

  constructor(
    private readonly ctx: StageContext,
    private readonly s: Shared,
  ) {
    this.queue = new DelayQueue(ctx, 1024 * 1024);
  }

  write(chunk: Buffer): void {
    const frames: Frame[] = [];
    const raw: Buffer[] = [];
    this.splitter.feed(chunk, frames, raw);
    if (this.s.synced === null) this.s.synced = !this.splitter.broken;
    for (const f of frames) this.onFrame(f);
    for (const r of raw) this.queue.add(r, 0);
  }

  end(): void {
    const rest = this.splitter.takePending();
    if (rest.length > 0) this.queue.add(rest, 0);
    this.queue.addEnd(0);
  }

  flush(): void {
    const raw: Buffer[] = [];
    for (const f of this.block?.frames ?? []) raw.push(f.bytes);
    this.block = null;
    this.queue.flush();
    for (const r of raw) this.ctx.push(r);
    const rest = this.splitter.takePending();
    if (rest.length > 0) this.ctx.push(rest);
  }

  destroy(): void {
    this.queue.destroy();
  }

  private onFrame(f: Frame): void {
    if (f.type === T.HEADERS || (f.type === T.CONTINUATION && this.block)) {
      (this.block ??= { frames: [], fragments: [] }).frames.push(f);
      this.block.fragments.push(headerFragment(f));
      if (f.flags & F.END_HEADERS) this.onHeaderBlock();
      return;
    }
    if (this.s.answered.has(f.stream)) {
      // The call was answered here: its frames must not reach a server that has cancelled it.
      if (f.type === T.DATA && f.payload.length > 0) this.s.down?.inject(windowUpdate(0, f.payload.length));
      if (f.type === T.DATA || f.type === T.RST_STREAM || f.type === T.WINDOW_UPDATE || f.type === T.PRIORITY)
        return;
    }
    this.queue.add(f.bytes, 0);
  }

  private onHeaderBlock(): void {
    const { frames, fragments } = this.block!;
    this.block = null;
    const first = frames[0]!;
    let headers: HeaderList | null = null;
    try {
      headers = this.decoder.decode(Buffer.concat(fragments));
    } catch (err) {
      if (!(err instanceof HpackError)) throw err;
      // Cannot follow this connection's header compression: pass everything through from now on.
      this.s.synced = false;
    }
    const isNewCall = first.stream > this.lastStream && first.stream % 2 === 1;
    if (isNewCall) this.lastStream = first.stream;
    const path = headers?.find(([n]) => n === ':path')?.[1];
    const action =
      isNewCall && path !== undefined && this.s.synced
        ? this.s.decide(path, headers!, this.ctx.random)
        : undefined;
    if (action?.kind === 'error' && this.s.down) {
      for (const fr of frames) this.queue.add(fr.bytes, 0);
      this.queue.add(rstStream(first.stream, CANCEL), 0);
      this.s.answered.add(first.stream);
      this.s.down.inject(grpcTrailersOnly(first.stream, action.status, action.message));
      return;
    }
    const at = action?.kind === 'delay' ? this.ctx.clock.now() + action.ms : 0;
    for (const fr of frames) this.queue.add(fr.bytes, at);
  }
}

class DownStage implements Stage {
  private readonly splitter = new FrameSplitter(false);
  private raw = false;

  constructor(
    private readonly ctx: StageContext,
    private readonly s: Shared,
  ) {}

  write(chunk: Buffer): void {
    if (!this.raw && this.s.synced !== true) this.raw = true;
    if (this.raw) return this.ctx.push(chunk);
    const frames: Frame[] = [];
    const raw: Buffer[] = [];
    this.splitter.feed(chunk, frames, raw);
    for (const f of frames) {
      const dropped = this.s.answered.has(f.stream) && f.type !== T.HEADERS && f.type !== T.CONTINUATION;
      if (!dropped) this.ctx.push(f.bytes);
    }
    for (const r of raw) this.ctx.push(r);
  }

  /** Frames of our own, between whole frames of the server's. */
  inject(bytes: Buffer): void {
    if (!this.raw) this.ctx.push(bytes);
  }

  end(): void {
    this.flush();
    this.ctx.end();
  }

  flush(): void {
    const rest = this.splitter.takePending();
    if (rest.length > 0) this.ctx.push(rest);
  }

  destroy(): void {}
}

let pending: Shared | null = null;

/**
 * A gRPC toxic's stage for one direction. The connection creates a toxic's stages for both
 * directions one right after the other (upstream first), so the pair shares its state here.
 */
export function grpcStage(ctx: StageContext, decide: GrpcDecide): Stage {
  if (!pending) {
    const s = new Shared(decide);
    pending = s;
    queueMicrotask(() => {
      if (pending === s) pending = null;
    });
    return new UpStage(ctx, s);
  }
  const s = pending;
  pending = null;
  const down = new DownStage(ctx, s);
  s.down = down;
  return down;
}
