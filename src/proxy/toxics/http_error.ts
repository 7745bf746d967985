import type { ToxicKind } from '../types.ts';
import { AttrReader } from './attrs.ts';
import { type HttpMatch, picks, readMatch } from './http-match.ts';
import { passThrough } from './noop.ts';

export interface HttpErrorAttrs extends HttpMatch {
  /** Status code answered instead of forwarding, 200..599. */
  status: number;
  /** Response body (text/plain). */
  body?: string;
}

/**
 * Extension: answers matching HTTP/1.x requests with `status` instead of forwarding them; the
 * upstream never sees those requests. Works per request on keep-alive connections.
 */
export const http_error: ToxicKind<HttpErrorAttrs> = {
  extension: true,
  parse(raw) {
    const r = new AttrReader(raw);
    const attrs = {
      status: r.int('status', 503, { min: 200, max: 599 }),
      body: r.str('body'),
      ...readMatch(r),
    };
    r.done();
    return attrs;
  },
  create: (ctx) => passThrough(ctx),
  onRequest(attrs, req, random) {
    if (!picks(attrs, req, random)) return undefined;
    return {
      kind: 'error',
      status: attrs.status,
      body: attrs.body ?? `chaoskit: injected ${attrs.status}\n`,
    };
  },
};
