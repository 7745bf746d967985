import type { ToxicKind } from '../types.ts';
import { AttrReader } from './attrs.ts';

export interface TimeoutAttrs {
  /** ms until the connection is closed; 0 = never close, just drop data while active. */
  timeout: number;
}

/**
 * Drops all data in its direction and closes the connection after `timeout` ms (counted from
 * when the toxic met the connection). As in Toxiproxy, removing the toxic closes the connections
 * it was dropping data on: their byte stream is already corrupt. An update restarts the timer.
 * An end of stream (the upstream closing) is held like data: the peer sees nothing until the timer
 * or the toxic's removal closes the connection, as Toxiproxy does (its timeout toxic stops reading).
 */
export const timeout: ToxicKind<TimeoutAttrs> = {
  extension: false,
  parse(raw) {
    return { timeout: new AttrReader(raw).int('timeout', 0) };
  },
  create(ctx, { timeout: ms }) {
    let timer: unknown = ms > 0 ? ctx.clock.setTimeout(() => ctx.close(), ms) : undefined;
    const cancel = (): void => {
      if (timer !== undefined) ctx.clock.clearTimeout(timer);
      timer = undefined;
    };
    return {
      write: () => {},
      end: () => {},
      flush(reason) {
        cancel();
        if (reason === 'removed') ctx.close();
      },
      destroy: cancel,
    };
  },
};
