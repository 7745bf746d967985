import type { ToxicKind } from '../types.ts';
import { AttrReader } from './attrs.ts';
import { DelayQueue } from './delay-queue.ts';

export interface BandwidthAttrs {
  /** KB/s (1 KB = 1000 bytes); 0 means unlimited. */
  rate: number;
}

/**
 * Passes data at `rate` KB/s: chunks are cut into pieces of at most 100 ms worth of bytes, each
 * released when the previous ones have "used" their share of time. The source stops being read
 * while about a second's worth of data is queued, so memory stays bounded.
 */
export const bandwidth: ToxicKind<BandwidthAttrs> = {
  extension: false,
  parse(raw) {
    return { rate: new AttrReader(raw).int('rate', 0) };
  },
  create(ctx, { rate }) {
    const bytesPerMs = rate; // KB/s == bytes/ms
    const piece = Math.max(1, rate * 100);
    const queue = new DelayQueue(ctx, Math.max(16 * 1024, rate * 1000));
    return {
      write(chunk) {
        if (rate <= 0) return queue.add(chunk, 0);
        for (let off = 0; off < chunk.length; off += piece) {
          const part = chunk.subarray(off, off + piece);
          const start = Math.max(ctx.clock.now(), queue.lastReleaseAt);
          queue.add(part, start + part.length / bytesPerMs);
        }
      },
      end: () => queue.addEnd(0),
      flush: () => queue.flush(),
      destroy: () => queue.destroy(),
    };
  },
};
