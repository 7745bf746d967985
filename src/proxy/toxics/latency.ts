import type { ToxicKind } from '../types.ts';
import { AttrReader } from './attrs.ts';
import { DelayQueue } from './delay-queue.ts';

export interface LatencyAttrs {
  /** ms added to every chunk. */
  latency: number;
  /** ms; each chunk gets latency ± a uniform random jitter. */
  jitter: number;
}

/**
 * Delays each chunk by latency ± jitter from the moment it arrived, keeping order. Data that
 * arrives after the toxic is added is delayed; removing it releases what it holds at once.
 */
export const latency: ToxicKind<LatencyAttrs> = {
  extension: false,
  parse(raw) {
    const r = new AttrReader(raw);
    return { latency: r.int('latency', 0), jitter: r.int('jitter', 0) };
  },
  create(ctx, { latency: ms, jitter }) {
    const queue = new DelayQueue(ctx);
    const delay = (): number => Math.max(0, jitter > 0 ? ms + (ctx.random() * 2 - 1) * jitter : ms);
    return {
      write: (chunk) => queue.add(chunk, ctx.clock.now() + delay()),
      end: () => queue.addEnd(ctx.clock.now() + delay()),
      flush: () => queue.flush(),
      destroy: () => queue.destroy(),
    };
  },
};
