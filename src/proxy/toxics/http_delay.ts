import type { ToxicKind } from '../types.ts';
import { AttrReader } from './attrs.ts';
import { type HttpMatch, picks, readMatch } from './http-match.ts';
import { passThrough } from './noop.ts';

export interface HttpDelayAttrs extends HttpMatch {
  /** ms a matching request is held before it is forwarded. */
  delay: number;
}

/**
 * Extension: holds matching HTTP/1.x requests for `delay` ms before forwarding them. Later
 * requests on the same connection queue behind a held one, as they would behind a slow server.
 */
export const http_delay: ToxicKind<HttpDelayAttrs> = {
  extension: true,
  parse(raw) {
    const r = new AttrReader(raw);
    const attrs = { delay: r.int('delay', 0), ...readMatch(r) };
    r.done();
    return attrs;
  },
  create: (ctx) => passThrough(ctx),
  onRequest(attrs, req, random) {
    return picks(attrs, req, random) ? { kind: 'delay', ms: attrs.delay } : undefined;
  },
};
