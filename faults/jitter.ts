import { z } from 'zod';
import { duration } from '../src/scenario/types.ts';
import { addToxic } from '../src/targets/proxy.ts';
import { defineFault } from './define.ts';
import { stream, toxicity } from './params.ts';

export const jitter = defineFault({
  type: 'jitter',
  summary: 'vary the delay of data through the proxy by up to ± jitter around a base delay',
  params: z.strictObject({ jitter: duration(), delay: duration({ allowZero: true }).default(0), stream, toxicity }),
  on: {
    // Toxics take whole milliseconds; `1.5ms` is valid here, so round rather than fail at apply time.
    proxy: (ctx, p) =>
      addToxic(ctx, { type: 'latency', stream: p.stream, toxicity: p.toxicity, attributes: { latency: Math.round(p.delay), jitter: Math.round(p.jitter) } }),
  },
});
