/**
 * What a load engine sees of tracing: one call before a request goes out, which is null for the
 * requests that are not sampled (all of them when tracing is off: the engine then holds no
 * tracer and pays one null check). A sampled request carries a W3C `traceparent` naming its client
 * span, so the target's own trace continues it; the span ends with the request's outcome.
 * The implementation is src/otel/traces.ts; engines import only these types.
 */
import type { ErrorKind } from '../core/error-kinds.ts';

/** What a traced request of one profile of the mix says about itself; built once per profile. */
export interface TraceProfile {
  /** Span name: `GET /items/{id}` (HTTP method and path as written) or `pkg.Service/Method` (gRPC). */
  name: string;
  protocol: 'http' | 'grpc';
  attributes: Readonly<Record<string, string | number>>;
}

export interface TracedRequest {
  /** `00-<trace id>-<span id>-01`: the header (HTTP) or metadata (gRPC) value to send. */
  readonly traceparent: string;
  /** The request ended: `status` is the HTTP status or gRPC code (0 without a response), `kind` its error kind. */
  end(status: number, kind: ErrorKind | null, endMs: number): void;
}

export interface RequestTracer {
  /** A request of `profile` goes out now: a traced request when it is sampled, else null. */
  start(profile: TraceProfile, intendedMs: number, sentMs: number): TracedRequest | null;
}
