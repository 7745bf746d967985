/**
 * Incremental HTTP/1.x message framing for one direction of a connection. It never rewrites
 * bytes: it only reports where messages start and end, so http toxics can hold, drop or answer
 * whole requests while everything else passes through byte for byte.
 *
 *   feed(chunk) ──> [head?, data..., end?]*   (every input byte appears in exactly one `data`)
 *
 * Anything it cannot frame (an unknown start, an oversized head, a tunnel after CONNECT or a
 * 101 upgrade) is passed on as plain data; framing never breaks traffic.
 */

export interface MessageHead {
  /** Requests only. */
  method: string;
  target: string;
  /** Responses only. */
  status: number;
  version: string;
  headers: Map<string, string>;
}

export type FrameEvent =
  | { type: 'head'; head: MessageHead }
  | { type: 'data'; bytes: Buffer }
  /** `final` is false for 1xx interim responses, which do not complete an exchange. */
  | { type: 'end'; final: boolean };

type State = 'seek' | 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'trailer' | 'eof' | 'raw';

const MAX_HEAD = 64 * 1024;
const MAX_LINE = 4096;
const REQUEST_START = /^[A-Z][A-Z-]{1,19} \S+ HTTP\/1\.[01]\r?\n/;
const CRLF2 = Buffer.from('\r\n\r\n');

export interface FramerOptions {
  /** False when installed on a connection already carrying traffic: wait for a message start. */
  synced: boolean;
  /** Responses: the method of the request being answered (HEAD responses have no body). */
  requestMethod?: () => string | undefined;
}

export class HttpFramer {
  private state: State;
  private pending: Buffer | undefined;
  private remaining = 0;
  private line = '';
  private interim = false;

  constructor(
    private readonly kind: 'request' | 'response',
    private readonly opts: FramerOptions,
  ) {
    this.state = opts.synced ? 'head' : 'seek';
  }

  feed(chunk: Buffer, out: FrameEvent[]): void {
    let off = 0;
    while (off < chunk.length) off = this.step(chunk, off, out);
  }

  /** The source ended: completes a response whose body runs to the close. */
  finish(out: FrameEvent[]): void {
    if (this.pending) out.push({ type: 'data', bytes: this.pending });
    this.pending = undefined;
    if (this.state === 'eof') out.push({ type: 'end', final: true });
    this.state = 'raw';
  }

  private step(chunk: Buffer, off: number, out: FrameEvent[]): number {
    switch (this.state) {
      case 'raw':
      case 'eof':
        out.push({ type: 'data', bytes: chunk.subarray(off) });
        return chunk.length;
      case 'seek':
        if (!this.looksLikeStart(chunk, off)) {
          out.push({ type: 'data', bytes: chunk.subarray(off) });
          return chunk.length;
        }
        this.state = 'head';
        return off;
      case 'head':
        return this.readHead(chunk, off, out);
      case 'body':
      case 'chunk-data': {
        const n = Math.min(this.remaining, chunk.length - off);
        out.push({ type: 'data', bytes: chunk.subarray(off, off + n) });
        this.remaining -= n;
        if (this.remaining === 0) {
          if (this.state === 'body') this.endMessage(out);
          else this.state = 'chunk-size';
        }
        return off + n;
      }
      case 'chunk-size':
      case 'trailer':
        return this.readLine(chunk, off, out);
    }
  }

  private looksLikeStart(chunk: Buffer, off: number): boolean {
    const start = chunk.toString('latin1', off, Math.min(chunk.length, off + 256));
    return this.kind === 'request' ? REQUEST_START.test(start) : start.startsWith('HTTP/1.');
  }

  private readHead(chunk: Buffer, off: number, out: FrameEvent[]): number {
    // Tolerate the empty line(s) some clients send between messages.
    if (!this.pending && (chunk[off] === 0x0d || chunk[off] === 0x0a)) {
      out.push({ type: 'data', bytes: chunk.subarray(off, off + 1) });
      return off + 1;
    }
    const buf = this.pending ? Buffer.concat([this.pending, chunk.subarray(off)]) : chunk.subarray(off);
    const base = this.pending?.length ?? 0;
    const idx = buf.indexOf(CRLF2, Math.max(0, base - 3));
    if (idx === -1) {
      if (buf.length > MAX_HEAD) return this.giveUp(buf, chunk, out);
      this.pending = Buffer.from(buf);
      return chunk.length;
    }
    const headBytes = buf.subarray(0, idx + 4);
    const head = parseHead(this.kind, headBytes.toString('latin1'));
    if (!head) return this.giveUp(buf, chunk, out);
    this.pending = undefined;
    out.push({ type: 'head', head }, { type: 'data', bytes: headBytes });
    this.startBody(head, out);
    return off + (idx + 4 - base);
  }

  private startBody(head: MessageHead, out: FrameEvent[]): void {
    const h = head.headers;
    const chunked = /(^|,)\s*chunked\s*$/i.test(h.get('transfer-encoding') ?? '');
    const length = h.has('content-length') ? Number(h.get('content-length')) : undefined;
    this.interim = false;
    if (this.kind === 'request') {
      if (head.method === 'CONNECT' || /upgrade/i.test(h.get('connection') ?? '')) {
        out.push({ type: 'end', final: true });
        this.state = 'raw';
        return;
      }
    } else {
      const s = head.status;
      if (s === 101) {
        out.push({ type: 'end', final: true });
        this.state = 'raw';
        return;
      }
      this.interim = s < 200;
      const method = this.opts.requestMethod?.();
      if (this.interim || s === 204 || s === 304 || method === 'HEAD') return this.endMessage(out);
      if (!chunked && length === undefined) {
        this.state = 'eof';
        return;
      }
    }
    if (chunked) this.state = 'chunk-size';
    else if (length !== undefined && length > 0) {
      this.state = 'body';
      this.remaining = length;
    } else this.endMessage(out);
  }

  private readLine(chunk: Buffer, off: number, out: FrameEvent[]): number {
    const nl = chunk.indexOf(0x0a, off);
    const stop = nl === -1 ? chunk.length : nl + 1;
    out.push({ type: 'data', bytes: chunk.subarray(off, stop) });
    this.line += chunk.toString('latin1', off, stop);
    if (nl === -1) {
      if (this.line.length > MAX_LINE) this.state = 'raw';
      return stop;
    }
    const line = this.line.trim();
    this.line = '';
    if (this.state === 'trailer') {
      if (line === '') this.endMessage(out);
      return stop;
    }
    const size = parseInt(line.split(';')[0]!, 16);
    if (!Number.isFinite(size) || size < 0) this.state = 'raw';
    else if (size === 0) this.state = 'trailer';
    else {
      this.state = 'chunk-data';
      this.remaining = size + 2;
    }
    return stop;
  }

  private endMessage(out: FrameEvent[]): void {
    out.push({ type: 'end', final: !this.interim });
    this.state = 'head';
  }

  private giveUp(buf: Buffer, chunk: Buffer, out: FrameEvent[]): number {
    this.pending = undefined;
    this.state = 'raw';
    out.push({ type: 'data', bytes: Buffer.from(buf) });
    return chunk.length;
  }
}

function parseHead(kind: 'request' | 'response', text: string): MessageHead | undefined {
  const lines = text.split(/\r?\n/);
  const start = lines[0] ?? '';
  const head: MessageHead = { method: '', target: '', status: 0, version: '', headers: new Map() };
  if (kind === 'request') {
    const m = /^([A-Z][A-Z-]*) (\S+) HTTP\/(1\.[01])$/.exec(start);
    if (!m) return undefined;
    [head.method, head.target, head.version] = [m[1]!, m[2]!, m[3]!];
  } else {
    const m = /^HTTP\/(1\.[01]) (\d{3})(?: .*)?$/.exec(start);
    if (!m) return undefined;
    [head.version, head.status] = [m[1]!, Number(m[2])];
  }
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prev = head.headers.get(name);
    if (name === 'content-length' && (!/^\d+$/.test(value) || (prev !== undefined && prev !== value)))
      return undefined;
    head.headers.set(name, prev === undefined || name === 'content-length' ? value : `${prev}, ${value}`);
  }
  return head;
}
