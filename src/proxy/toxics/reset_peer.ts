import type { ToxicKind } from '../types.ts';
import { AttrReader } from './attrs.ts';

export interface ResetPeerAttrs {
  /** ms between the first data seen and the reset; 0 = reset at once. */
  timeout: number;
}

/**
 * Resets the connection (TCP RST, "connection reset by peer") once data flows in its direction:
 * immediately, or `timeout` ms after the first chunk. Data seen meanwhile is dropped.
 */
export const reset_peer: ToxicKind<ResetPeerAttrs> = {
  extension: false,
  parse(raw) {
    return { timeout: new AttrReader(raw).int('timeout', 0) };
  },
  create(ctx, { timeout: ms }) {
    let armed = false;
    let timer: unknown;
    const trigger = (): void => {
      if (armed) return;
      armed = true;
      if (ms <= 0) ctx.reset();
      else timer = ctx.clock.setTimeout(() => ctx.reset(), ms);
    };
    const cancel = (): void => {
      if (timer !== undefined) ctx.clock.clearTimeout(timer);
      timer = undefined;
    };
    return { write: trigger, end: trigger, flush: cancel, destroy: cancel };
  },
};
