import type { ToxicKind } from '../types.ts';
import { AttrReader } from './attrs.ts';
import { DelayQueue } from './delay-queue.ts';

export interface SlicerAttrs {
  /** bytes per slice on average. */
  average_size: number;
  /** ± bytes of random variation per slice. */
  size_variation: number;
  /** µs between slices (timers resolve to whole ms; below 1000 µs rounds up to 1 ms). */
  delay: number;
}

/** Cuts data into small slices, optionally spaced by `delay` µs, as a slow network would. */
export const slicer: ToxicKind<SlicerAttrs> = {
  extension: false,
  parse(raw) {
    const r = new AttrReader(raw);
    return {
      average_size: r.int('average_size', 0, { min: 1 }),
      size_variation: r.int('size_variation', 0),
      delay: r.int('delay', 0),
    };
  },
  create(ctx, { average_size: avg, size_variation: vary, delay }) {
    const gapMs = delay > 0 ? Math.max(1, Math.ceil(delay / 1000)) : 0;
    const queue = new DelayQueue(ctx, 64 * 1024);
    const sliceSize = (): number =>
      Math.max(1, avg + (vary > 0 ? Math.round((ctx.random() * 2 - 1) * vary) : 0));
    return {
      write(chunk) {
        for (let off = 0; off < chunk.length;) {
          const size = sliceSize();
          const at = gapMs > 0 ? Math.max(ctx.clock.now(), queue.lastReleaseAt + gapMs) : 0;
          queue.add(chunk.subarray(off, off + size), at);
          off += size;
        }
      },
      end: () => queue.addEnd(0),
      flush: () => queue.flush(),
      destroy: () => queue.destroy(),
    };
  },
};
