import { z } from 'zod';
import { bytes } from '../src/core/zod-types.ts';
import { addToxic } from '../src/targets/proxy.ts';
import { defineFault } from './define.ts';
import { stream, toxicity } from './params.ts';

export const limitData = defineFault({
  type: 'limit-data',
  summary: 'close connections after a number of bytes has passed',
  params: z.strictObject({ bytes, stream, toxicity }),
  on: {
    proxy: (ctx, p) =>
      addToxic(ctx, {
        type: 'limit_data',
        stream: p.stream,
        toxicity: p.toxicity,
        attributes: { bytes: p.bytes },
      }),
  },
});
