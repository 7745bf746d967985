/** What every HTTP handler (plain request, SSE stream) shares with the scheduler. */
import type { TracedRequest } from '../otel/request-tracer.ts';
import { InFlight } from './open-model.ts';

/** The error a request is aborted with when its deadline passes (already recorded as a timeout). */
class DeadlineError extends Error {
  readonly code = 'UND_ERR_HEADERS_TIMEOUT';
}

/** What every HTTP handler shares: the undici abort for its request, taken when it connects. */
export class HttpInFlight extends InFlight {
  status = 0;
  /** Its client span when the request was sampled for tracing (src/otel/request-tracer.ts). */
  trace: TracedRequest | null = null;
  abortFn: ((err: Error) => void) | null = null;
  abortAsked = false;
  onConnect(abort: (err: Error) => void): void {
    this.abortFn = abort;
    if (this.abortAsked) abort(new DeadlineError('chaoskit: deadline'));
  }
  abortNow(): void {
    this.abortAsked = true;
    this.abortFn?.(new DeadlineError('chaoskit: deadline'));
  }
}
