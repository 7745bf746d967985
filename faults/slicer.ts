import { z } from 'zod';
import { duration } from '../src/core/zod-types.ts';
import { addToxic } from '../src/targets/proxy.ts';
import { defineFault } from './define.ts';
import { stream, toxicity } from './params.ts';

export const slicer = defineFault({
  type: 'slicer',
  summary: 'slice data into small packets with a delay between them',
  params: z.strictObject({
    averageSize: z.number().int().positive(),
    sizeVariation: z.number().int().nonnegative().default(0),
    delay: duration({ allowZero: true }).default(0),
    stream,
    toxicity,
  }),
  on: {
    proxy: (ctx, p) =>
      addToxic(ctx, {
        type: 'slicer',
        stream: p.stream,
        toxicity: p.toxicity,
        // Toxiproxy's slicer delay is in microseconds.
        attributes: {
          average_size: p.averageSize,
          size_variation: p.sizeVariation,
          delay: Math.round(p.delay * 1000),
        },
      }),
  },
});
