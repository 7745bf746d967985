/** What every HTTP handler (plain request, SSE stream) shares with the scheduler. */
import type { TracedRequest } from '../otel/request-tracer.ts';
import { InFlight } from './open-model.ts';

/** The error a request is aborted with when its deadline passes (already recorded as a timeout). */
class DeadlineError extends Error {
  readonly code = 'UND_ERR_HEADERS_TIMEOUT';
}

/** Bytes of an answer kept for captures and checks, at most. */
const KEEP_BYTES = 1 << 20;

/** What every HTTP handler shares: the undici abort for its request, and what it keeps of the answer. */
export class HttpInFlight extends InFlight {
  status = 0;
  /** Its client span when the request was sampled for tracing (src/otel/request-tracer.ts). */
  trace: TracedRequest | null = null;
  abortFn: ((err: Error) => void) | null = null;
  abortAsked = false;
  /** Captures or checks read the body / headers: keep them (only then). */
  keepBody = false;
  keepHeaders = false;
  rawHeaders: Buffer[] | string[] | null = null;
  private chunks: Buffer[] | null = null;
  private kept = 0;
  onConnect(abort: (err: Error) => void): void {
    this.abortFn = abort;
    if (this.abortAsked) abort(new DeadlineError('chaoskit: deadline'));
  }
  abortNow(): void {
    this.abortAsked = true;
    this.abortFn?.(new DeadlineError('chaoskit: deadline'));
  }
  /** Keeps a chunk of the body (up to 1 MiB in all). */
  keep(chunk: Buffer): void {
    if (this.kept >= KEEP_BYTES) return;
    const part = chunk.length + this.kept > KEEP_BYTES ? chunk.subarray(0, KEEP_BYTES - this.kept) : chunk;
    (this.chunks ??= []).push(Buffer.from(part));
    this.kept += part.length;
  }
  keptText(): string {
    return this.chunks ? Buffer.concat(this.chunks).toString('utf8') : '';
  }
  /** The answer was inspected: let go of what was kept. */
  dropKept(): void {
    this.chunks = null;
    this.rawHeaders = null;
  }
}
