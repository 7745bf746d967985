import { z } from 'zod';
import { duration } from '../src/core/zod-types.ts';
import { addToxic } from '../src/targets/proxy.ts';
import { defineFault } from './define.ts';
import { stream, toxicity } from './params.ts';

export const timeout = defineFault({
  type: 'timeout',
  summary: 'stop all data and close the connection after a delay (0: hold it open until the fault ends)',
  params: z.strictObject({ after: duration({ allowZero: true }).default(0), stream, toxicity }),
  on: {
    // Toxics take whole milliseconds; `1.5ms` is valid here, so round rather than fail at apply time.
    proxy: (ctx, p) =>
      addToxic(ctx, {
        type: 'timeout',
        stream: p.stream,
        toxicity: p.toxicity,
        attributes: { timeout: Math.round(p.after) },
      }),
  },
});
