import type { ToxicKind } from '../types.ts';
import { AttrReader } from './attrs.ts';

export interface LimitDataAttrs {
  /** bytes passed in this direction before the connection is closed. */
  bytes: number;
}

/** Passes `bytes` bytes, then closes the connection (after those bytes are written). */
export const limit_data: ToxicKind<LimitDataAttrs> = {
  extension: false,
  parse(raw) {
    return { bytes: new AttrReader(raw).int('bytes', 0) };
  },
  create(ctx, { bytes }) {
    let passed = 0;
    let closed = false;
    return {
      write(chunk) {
        if (closed) return;
        const room = bytes - passed;
        const part = room < chunk.length ? chunk.subarray(0, Math.max(0, room)) : chunk;
        if (part.length > 0) {
          passed += part.length;
          ctx.push(part);
        }
        if (passed >= bytes) {
          closed = true;
          ctx.close();
        }
      },
      end: () => ctx.end(),
      flush: () => {},
      destroy: () => {},
    };
  },
};
