import { z } from 'zod';
import { duration } from '../src/core/zod-types.ts';
import { delayOn, delayPreflight } from './delay.ts';
import { defineFault } from './define.ts';
import { stream, toxicity } from './params.ts';

export const jitter = defineFault({
  type: 'jitter',
  summary: 'vary the delay of data through the proxy by up to ± jitter around a base delay',
  params: z.strictObject({
    jitter: duration(),
    delay: duration({ allowZero: true }).default(0),
    stream,
    toxicity,
  }),
  preflight: delayPreflight,
  on: delayOn,
});
