/** Steady-state probes: the environment's `probes:` section and the scenario's `steadyState:`. */
import { z } from 'zod';
import { HOST_PORT } from './grpc-schema.ts';
import { duration } from '../core/zod-types.ts';

/** Probes run once a second, so a check must finish within it. */
const timeout = duration()
  .refine((ms) => ms <= 1000, { message: 'a probe timeout is at most 1s (probes run once a second)' })
  .default(1000);

const httpProbe = z.strictObject({
  kind: z.literal('http'),
  url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
  /** The status that means healthy; any 2xx when absent. */
  expectStatus: z.number().int().min(100).max(599).optional(),
  timeout,
});

const grpcProbe = z.strictObject({
  kind: z.literal('grpc'),
  address: z.string().regex(HOST_PORT, 'expected host:port, like 127.0.0.1:50051'),
  /** grpc.health.v1 service name; '' asks about the whole server. */
  service: z.string().default(''),
  timeout,
});

export const probeSpec = z.discriminatedUnion('kind', [httpProbe, grpcProbe], {
  error: (iss) =>
    iss.code === 'invalid_union' && 'discriminator' in iss
      ? 'expected kind to be one of http, grpc'
      : undefined,
});
export type ProbeSpec = z.output<typeof probeSpec>;

export const steadyStateSpec = z.strictObject({
  /** When true, faults start only if every probe passed in each of the last `for` seconds. */
  require: z.boolean().default(true),
  for: duration().default(3000),
});
export type SteadyStateSpec = z.output<typeof steadyStateSpec>;
