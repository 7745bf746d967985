import { z } from 'zod';
import { duration } from '../src/core/zod-types.ts';
import { addToxic } from '../src/targets/proxy.ts';
import { defineFault } from './define.ts';
import { stream, toxicity } from './params.ts';

export const slowClose = defineFault({
  type: 'slow-close',
  summary: 'delay the closing of connections',
  caveat:
    'slow-close delays only the close of a connection: it shows where a client waits for the close (close-delimited answers, HTTP/1.0, connection churn); clients that keep connections alive and read framed answers (the http engine, the demo api) see no change',
  params: z.strictObject({ delay: duration(), stream, toxicity }),
  on: {
    // Toxics take whole milliseconds; `1.5ms` is valid here, so round rather than fail at apply time.
    proxy: (ctx, p) =>
      addToxic(ctx, {
        type: 'slow_close',
        stream: p.stream,
        toxicity: p.toxicity,
        attributes: { delay: Math.round(p.delay) },
      }),
  },
});
