import { z } from 'zod';
import { duration, percent } from '../src/core/zod-types.ts';
import { addToxic } from '../src/targets/proxy.ts';
import { defineFault } from './define.ts';

export const grpcDelay = defineFault({
  type: 'grpc-delay',
  summary:
    'hold a fraction of matching gRPC calls (HTTP/2 cleartext through the proxy) before forwarding them',
  params: z.strictObject({
    delay: duration(),
    fraction: percent.default(1),
    method: z.string().min(1).optional(),
  }),
  on: {
    proxy: (ctx, p) =>
      addToxic(ctx, {
        type: 'grpc_delay',
        stream: 'downstream',
        toxicity: 1,
        attributes: {
          delay: Math.round(p.delay),
          probability: p.fraction,
          ...(p.method ? { method: p.method } : {}),
        },
      }),
  },
});
