import { z } from 'zod';
import { duration, percent } from '../src/core/zod-types.ts';
import { addToxic } from '../src/targets/proxy.ts';
import { defineFault } from './define.ts';

/** Holds matching HTTP requests for `delay` before forwarding them (the proxy's http_delay toxic). */
export const httpDelay = defineFault({
  type: 'http-delay',
  summary: 'hold a fraction of HTTP requests (by method and path) for a while before forwarding them',
  params: z.strictObject({
    delay: duration(),
    fraction: percent.default(1),
    method: z
      .string()
      .regex(/^[A-Z]+$/, 'expected an upper-case HTTP method like GET')
      .optional(),
    path: z.string().startsWith('/', 'expected a path prefix starting with /').optional(),
  }),
  on: {
    // Toxics take whole milliseconds; `1.5ms` is valid here, so round rather than fail at apply time.
    proxy: (ctx, p) =>
      addToxic(ctx, {
        type: 'http_delay',
        stream: 'downstream', // informational for http toxics: they act on requests and their responses
        toxicity: 1,
        attributes: {
          delay: Math.round(p.delay),
          probability: p.fraction,
          ...(p.method ? { method: p.method } : {}),
          ...(p.path ? { path: p.path } : {}),
        },
      }),
  },
});
