import { z } from 'zod';
import { duration } from '../src/scenario/types.ts';
import { addToxic } from '../src/targets/proxy.ts';
import { defineFault } from './define.ts';
import { stream, toxicity } from './params.ts';

export const reset = defineFault({
  type: 'reset',
  summary: 'reset connections with TCP RST after a delay (Toxiproxy reset_peer)',
  params: z.strictObject({ after: duration({ allowZero: true }).default(0), stream, toxicity }),
  on: {
    proxy: (ctx, p) =>
      addToxic(ctx, { type: 'reset_peer', stream: p.stream, toxicity: p.toxicity, attributes: { timeout: p.after } }),
  },
});
