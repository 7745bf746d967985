/**
 * HTTP/2 framing (RFC 9113 §4), for a proxy stage that reads frames and passes them on unchanged:
 * a splitter that yields whole frames, header-block extraction, and the few frames the proxy
 * writes itself (RST_STREAM, WINDOW_UPDATE, a trailers-only gRPC answer).
 */
import { encodeHeaders, type HeaderList } from './hpack.ts';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const T = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;
export const F = { END_STREAM: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

/** Frames larger than this are not HTTP/2 as any peer configures it: the splitter gives up. */
const MAX_FRAME = 16 * 1024 * 1024;

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  /** The whole frame, header included, exactly as received. */
  bytes: Buffer;
  payload: Buffer;
}

/** Splits a byte stream into whole frames; `preface` first expects the client connection preface. */
export class FrameSplitter {
  private buf: Buffer = Buffer.alloc(0);
  private needPreface: boolean;
  /** Set when the input is not HTTP/2 (after which feed() returns raw bytes in `raw`). */
  broken = false;

  constructor(preface: boolean) {
    this.needPreface = preface;
  }

  /** Whole frames in the bytes so far; a preface comes back as a pseudo-frame of type -1. */
  feed(chunk: Buffer, out: Frame[], raw: Buffer[]): void {
    if (this.broken) {
      raw.push(chunk);
      return;
    }
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.needPreface) {
      const n = Math.min(this.buf.length, PREFACE.length);
      if (!this.buf.subarray(0, n).equals(PREFACE.subarray(0, n))) return this.giveUp(raw);
      if (this.buf.length < PREFACE.length) return;
      out.push({
        type: -1,
        flags: 0,
        stream: 0,
        bytes: this.buf.subarray(0, PREFACE.length),
        payload: Buffer.alloc(0),
      });
      this.buf = this.buf.subarray(PREFACE.length);
      this.needPreface = false;
    }
    let pos = 0;
    while (this.buf.length - pos >= 9) {
      const len = this.buf.readUIntBE(pos, 3);
      if (len > MAX_FRAME) return this.giveUp(raw, pos);
      if (this.buf.length - pos < 9 + len) break;
      const bytes = this.buf.subarray(pos, pos + 9 + len);
      out.push({
        type: bytes[3]!,
        flags: bytes[4]!,
        stream: bytes.readUInt32BE(5) & 0x7fffffff,
        bytes,
        payload: bytes.subarray(9),
      });
      pos += 9 + len;
    }
    this.buf = pos === this.buf.length ? Buffer.alloc(0) : Buffer.from(this.buf.subarray(pos));
  }

  /** Hands over the bytes held for an incomplete frame (the stage is leaving the chain). */
  takePending(): Buffer {
    const b = this.buf;
    this.buf = Buffer.alloc(0);
    return b;
  }

  private giveUp(raw: Buffer[], from = 0): void {
    this.broken = true;
    raw.push(this.buf.subarray(from));
    this.buf = Buffer.alloc(0);
  }
}

/** The header block fragment of a HEADERS, PUSH_PROMISE or CONTINUATION frame. */
export function headerFragment(f: Frame): Buffer {
  let p = f.payload;
  if (f.type === T.CONTINUATION) return p;
  let pad = 0;
  if (f.flags & F.PADDED) {
    pad = p[0]!;
    p = p.subarray(1);
  }
  if (f.type === T.HEADERS && f.flags & F.PRIORITY) p = p.subarray(5);
  if (f.type === T.PUSH_PROMISE) p = p.subarray(4);
  return p.subarray(0, Math.max(0, p.length - pad));
}

export function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

export function rstStream(stream: number, code: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code >>> 0, 0);
  return frame(T.RST_STREAM, 0, stream, p);
}

export function windowUpdate(stream: number, increment: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(increment & 0x7fffffff, 0);
  return frame(T.WINDOW_UPDATE, 0, stream, p);
}

/** A gRPC trailers-only answer: one HEADERS frame with :status 200, grpc-status and END_STREAM. */
export function grpcTrailersOnly(stream: number, status: number, message: string): Buffer {
  const headers: HeaderList = [
    [':status', '200'],
    ['content-type', 'application/grpc'],
    ['grpc-status', String(status)],
    ['grpc-message', encodeURIComponent(message)],
    ['x-chaoskit-fault', 'grpc_error'],
  ];
  return frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, stream, encodeHeaders(headers));
}
