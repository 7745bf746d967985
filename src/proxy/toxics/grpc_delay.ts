import { grpcStage } from '../h2/grpc-stage.ts';
import type { ToxicKind } from '../types.ts';
import { AttrReader } from './attrs.ts';
import { type GrpcMatch, picksCall, readGrpcMatch } from './grpc-match.ts';

export interface GrpcDelayAttrs extends GrpcMatch {
  /** ms a matching call is held before it is forwarded. */
  delay: number;
}

/**
 * Extension: holds matching gRPC calls (HTTP/2 cleartext) for `delay` ms before forwarding them.
 * What the client sends after a held call on the same connection queues behind it, as frames on
 * one HTTP/2 connection do behind a stalled sender.
 */
export const grpc_delay: ToxicKind<GrpcDelayAttrs> = {
  extension: true,
  bothStreams: true,
  parse(raw) {
    const r = new AttrReader(raw);
    const attrs = { delay: r.int('delay', 0), ...readGrpcMatch(r) };
    r.done();
    return attrs;
  },
  create: (ctx, attrs) =>
    grpcStage(ctx, (path, _headers, random) =>
      picksCall(attrs, path, random) ? { kind: 'delay', ms: attrs.delay } : undefined,
    ),
};
