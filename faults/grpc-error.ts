import { z } from 'zod';
import { GRPC_STATUS_NAMES, parseGrpcStatus } from '../src/core/grpc-status.ts';
import { percent } from '../src/core/zod-types.ts';
import { addToxic } from '../src/targets/proxy.ts';
import { defineFault } from './define.ts';

/** `UNAVAILABLE`, `unavailable` or 14; OK is no fault. */
export const grpcStatus = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const code = parseGrpcStatus(v);
  if (code === undefined || code === 0) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a gRPC status code 1..16 or a name like UNAVAILABLE (${GRPC_STATUS_NAMES.slice(1).join(', ')}), got ${JSON.stringify(v)}`,
    });
    return z.NEVER;
  }
  return code;
});

export const grpcError = defineFault({
  type: 'grpc-error',
  summary:
    'answer a fraction of gRPC calls (HTTP/2 cleartext through the proxy) with a status instead of forwarding them',
  params: z.strictObject({
    status: grpcStatus.default(14),
    fraction: percent.default(1),
    /** `/pkg.Service/Method`, `/pkg.Service`, `pkg.Service/Method` or a bare method name; every call when absent. */
    method: z.string().min(1).optional(),
    message: z.string().optional(),
  }),
  on: {
    proxy: (ctx, p) =>
      addToxic(ctx, {
        type: 'grpc_error',
        stream: 'downstream',
        toxicity: 1,
        attributes: {
          status: p.status,
          probability: p.fraction,
          ...(p.method ? { method: p.method } : {}),
          ...(p.message !== undefined ? { message: p.message } : {}),
        },
      }),
  },
});
