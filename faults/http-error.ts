import { z } from 'zod';
import { percent } from '../src/core/zod-types.ts';
import { addToxic } from '../src/targets/proxy.ts';
import { defineFault } from './define.ts';

export const httpError = defineFault({
  type: 'http-error',
  summary: 'answer a fraction of HTTP requests with an error status instead of forwarding them',
  params: z.strictObject({
    // The proxy answers 200..599 (an informational 1xx is no error to inject).
    status: z.number().int().min(200).max(599).default(503),
    fraction: percent.default(1),
    method: z
      .string()
      .regex(/^[A-Z]+$/)
      .optional(),
    path: z.string().startsWith('/').optional(),
  }),
  on: {
    proxy: (ctx, p) =>
      addToxic(ctx, {
        type: 'http_error',
        stream: 'downstream',
        toxicity: 1,
        attributes: {
          status: p.status,
          probability: p.fraction,
          ...(p.method ? { method: p.method } : {}),
          ...(p.path ? { path: p.path } : {}),
        },
      }),
  },
});
