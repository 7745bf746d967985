import { z } from 'zod';
import { duration } from '../src/scenario/types.ts';
import { addToxic } from '../src/targets/proxy.ts';
import { defineFault } from './define.ts';
import { stream, toxicity } from './params.ts';

export const slowClose = defineFault({
  type: 'slow-close',
  summary: 'delay the closing of connections',
  params: z.strictObject({ delay: duration(), stream, toxicity }),
  on: {
    proxy: (ctx, p) =>
      addToxic(ctx, { type: 'slow_close', stream: p.stream, toxicity: p.toxicity, attributes: { delay: p.delay } }),
  },
});
