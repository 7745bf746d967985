/**
 * Server-sent events for the HTTP engine: an undici dispatch handler that splits the response
 * body into events (a blank line ends one) and reports each to the stream metrics as it arrives.
 *
 *   bytes ──split on "\n\n"──> event ──> first? time to first event : gap since the last one
 *   end: the `streamEnd` event/data seen (or no streamEnd configured) → completed;
 *        closed before it → failed as stream_cut; an error after ≥ 1 event → cut as well
 *
 * Only a 2xx text/event-stream answer is a stream; any other answer is an ordinary response.
 */
import { classifyError, type ErrorKind } from '../core/error-kinds.ts';
import { HttpInFlight } from './http-inflight.ts';
import type { ProfileRecorder } from '../metrics/profiles.ts';
import type { StreamRecorder } from '../metrics/stream-metrics.ts';

/** What the handler needs from its engine. */
export interface SseOwner {
  now(): number;
  ended(h: HttpInFlight, status: number, kind: ErrorKind | null): void;
}

const LF2 = /\r?\n\r?\n/;

export class SseHandler extends HttpInFlight {
  events = 0;
  lastEventMs = 0;
  /** Set when the stream ended without its end marker: the request fails with this kind. */
  cutKind: ErrorKind | null = null;
  /** True once a 2xx answer started: the body is read as an event stream. */
  streaming = false;
  private ended = false;
  private rest = '';

  constructor(
    private readonly owner: SseOwner,
    private readonly streams: StreamRecorder,
    private readonly streamEnd: string | undefined,
    /** Per-profile stream figures (time to first event, gaps, cuts), when profiles are kept. */
    private readonly profiles: ProfileRecorder | null = null,
  ) {
    super();
  }

  onHeaders(statusCode: number, raw?: Buffer[] | string[] | null): boolean {
    this.status = statusCode;
    this.streaming = statusCode >= 200 && statusCode < 300;
    if (this.keepHeaders && raw) this.rawHeaders = raw;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.keepBody) this.keep(chunk);
    if (!this.streaming || this.ended) return true;
    const parts = (this.rest + chunk.toString('utf8')).split(LF2);
    this.rest = parts.pop()!;
    for (const raw of parts) if (!isCommentOnly(raw)) this.event(raw);
    return true;
  }

  onComplete(): void {
    if (this.streaming && !isCommentOnly(this.rest)) this.event(this.rest);
    if (this.streaming && this.streamEnd !== undefined && !this.ended) this.cutKind = 'stream_cut';
    this.owner.ended(this, this.status, null);
  }

  onError(err: Error): void {
    this.owner.ended(this, 0, classifyError(err));
  }

  /** The request's outcome is known (not called for a cancelled one): count the stream's end. */
  recordEnd(atMs: number, kind: ErrorKind | null): void {
    if (this.streaming && (kind === null || this.events > 0)) {
      this.streams.end(atMs, kind !== null);
      this.profiles?.streamEnd(this.profile, kind !== null);
    }
  }

  private event(raw: string): void {
    if (this.ended || this.settled) return;
    if (this.streamEnd !== undefined && isEnd(raw, this.streamEnd)) {
      this.ended = true; // the end marker is not a content event
      return;
    }
    const at = this.owner.now();
    if (this.events === 0) {
      this.streams.first(this.intendedMs, at);
      this.profiles?.streamFirst(this.profile, at - this.intendedMs);
    } else this.profiles?.streamGap(this.profile, at - this.lastEventMs);
    this.streams.event(at, this.events === 0 ? null : at - this.lastEventMs);
    this.events++;
    this.lastEventMs = at;
  }
}

/** Blank, or only `:` comment lines (keep-alives): not an event. */
function isCommentOnly(raw: string): boolean {
  return raw.split(/\r?\n/).every((l) => l.trim() === '' || l.startsWith(':'));
}

/** `event: NAME` or `data: VALUE` equal to the end marker. */
function isEnd(raw: string, marker: string): boolean {
  for (const line of raw.split(/\r?\n/)) {
    const m = /^(event|data): ?(.*)$/.exec(line);
    if (m && m[2]!.trim() === marker) return true;
  }
  return false;
}
