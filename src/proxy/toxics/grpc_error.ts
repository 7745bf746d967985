import { GRPC_STATUS_NAMES } from '../../core/grpc-status.ts';
import { grpcStage } from '../h2/grpc-stage.ts';
import type { ToxicKind } from '../types.ts';
import { AttrReader } from './attrs.ts';
import { type GrpcMatch, picksCall, readGrpcMatch, readGrpcStatus } from './grpc-match.ts';

export interface GrpcErrorAttrs extends GrpcMatch {
  /** gRPC status code answered instead of forwarding the call, 1..16 (default 14, UNAVAILABLE). */
  status: number;
  /** grpc-message of the answer. */
  message?: string;
}

/**
 * Extension: answers matching gRPC calls (HTTP/2 cleartext) with a trailers-only response
 * carrying `status`; the server sees the call start and be cancelled at once. See h2/grpc-stage.ts.
 */
export const grpc_error: ToxicKind<GrpcErrorAttrs> = {
  extension: true,
  bothStreams: true,
  parse(raw) {
    const r = new AttrReader(raw);
    const attrs = {
      status: readGrpcStatus(r, raw, 'status', 14),
      message: r.str('message'),
      ...readGrpcMatch(r),
    };
    r.done();
    return attrs;
  },
  create: (ctx, attrs) =>
    grpcStage(ctx, (path, _headers, random) =>
      picksCall(attrs, path, random)
        ? {
            kind: 'error',
            status: attrs.status,
            message: attrs.message ?? `chaoskit: injected ${GRPC_STATUS_NAMES[attrs.status]}`,
          }
        : undefined,
    ),
};
