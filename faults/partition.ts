import { z } from 'zod';
import { addToxic } from '../src/targets/proxy.ts';
import { defineFault } from './define.ts';

export const partition = defineFault({
  type: 'partition',
  summary: 'cut the path: refuse new connections and cut open ones, or blackhole (accept and stall)',
  params: z.strictObject({ mode: z.enum(['refuse', 'blackhole']).default('refuse') }),
  on: {
    proxy: (ctx, p) =>
      addToxic(ctx, { type: 'partition', stream: 'downstream', toxicity: 1, attributes: { mode: p.mode } }),
  },
});
