import { z } from 'zod';
import { duration } from '../src/core/zod-types.ts';
import { delayOn, delayPreflight } from './delay.ts';
import { defineFault } from './define.ts';
import { stream, toxicity } from './params.ts';

export const latency = defineFault({
  type: 'latency',
  summary:
    'delay data by a fixed time, plus optional jitter (proxy toxic, or tc netem in a container or namespace)',
  params: z.strictObject({
    delay: duration(),
    jitter: duration({ allowZero: true }).default(0),
    stream,
    toxicity,
  }),
  preflight: delayPreflight,
  on: delayOn,
});
