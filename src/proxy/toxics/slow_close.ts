import type { ToxicKind } from '../types.ts';
import { AttrReader } from './attrs.ts';

export interface SlowCloseAttrs {
  /** ms to hold the close after the source ended. */
  delay: number;
}

/** Data passes untouched; the close (FIN) is held back for `delay` ms. */
export const slow_close: ToxicKind<SlowCloseAttrs> = {
  extension: false,
  parse(raw) {
    return { delay: new AttrReader(raw).int('delay', 0) };
  },
  create(ctx, { delay }) {
    let timer: unknown;
    const cancel = (): void => {
      if (timer !== undefined) ctx.clock.clearTimeout(timer);
      timer = undefined;
    };
    return {
      write: (chunk) => ctx.push(chunk),
      end() {
        timer = ctx.clock.setTimeout(() => {
          timer = undefined;
          ctx.end();
        }, delay);
      },
      flush() {
        if (timer === undefined) return;
        cancel();
        ctx.end();
      },
      destroy: cancel,
    };
  },
};
