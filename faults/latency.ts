import { z } from 'zod';
import { duration } from '../src/scenario/types.ts';
import { addToxic } from '../src/targets/proxy.ts';
import { defineFault } from './define.ts';
import { stream, toxicity } from './params.ts';

export const latency = defineFault({
  type: 'latency',
  summary: 'delay data through the proxy by a fixed time, plus optional jitter',
  params: z.strictObject({ delay: duration(), jitter: duration({ allowZero: true }).default(0), stream, toxicity }),
  on: {
    // Toxics take whole milliseconds; `1.5ms` is valid here, so round rather than fail at apply time.
    proxy: (ctx, p) =>
      addToxic(ctx, { type: 'latency', stream: p.stream, toxicity: p.toxicity, attributes: { latency: Math.round(p.delay), jitter: Math.round(p.jitter) } }),
  },
});
