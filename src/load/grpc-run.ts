/** The runner's side of the gRPC engine: build the load from a loaded scenario, check the target. */
import { dirname } from 'node:path';
import { InputError } from '../errors.ts';
import type { MetricsStore } from '../metrics/store.ts';
import { checkHealth } from '../probes/grpc-health.ts';
import type { Scenario } from '../scenario/load.ts';
import type { Target } from '../scenario/schema.ts';
import * as grpc from '@grpc/grpc-js';
import { compileGrpcCalls } from './grpc-calls.ts';
import { GrpcLoad, grpcReachable } from './grpc-engine.ts';
import type { Segment } from './patterns.ts';
import type { Prng } from './prng.ts';

export function grpcLoadFor(
  s: Scenario,
  address: string,
  segment: Segment,
  arrivals: 'even' | 'poisson',
  prng: Prng,
  store: MetricsStore,
): GrpcLoad {
  const spec = s.spec.load.grpc;
  if (!spec) throw new InputError(`${s.file}: engine grpc needs load.grpc`);
  const { calls, problems } = compileGrpcCalls(spec, dirname(s.file));
  if (problems.length > 0) throw new InputError(`${s.file}: ${problems.map((p) => p.message).join('; ')}`); // the loader checked these
  return new GrpcLoad({
    address,
    calls,
    segment,
    arrivals,
    concurrency: s.spec.load.connections,
    channels: spec.channels,
    maxBacklog: s.spec.load.maxBacklog,
    deadlineMs: spec.deadline ?? s.spec.load.timeout,
    prng,
    store,
  });
}

/** The grpc load target accepts connections (and answers SERVING, when the target names a health service). */
export async function grpcPreflight(
  t: Extract<Target, { kind: 'grpc' }>,
  envFile: string,
  name: string,
): Promise<void> {
  const fail = (why: string) =>
    new InputError(
      `load target ${name} (grpc ${t.address}, from ${envFile}) is not reachable at start: ${why}. ` +
        'Start the service, or point the scenario at another environment with --env FILE.',
    );
  const why = await grpcReachable(t.address, 3_000);
  if (why) throw fail(why);
  if (t.health === undefined) return;
  const ch = new grpc.Channel(t.address, grpc.credentials.createInsecure(), {});
  try {
    const a = await checkHealth(ch, t.health, 3_000);
    if (!a.ok) throw fail(`grpc.health.v1 Check(${JSON.stringify(t.health)}) answered ${a.detail}`);
  } finally {
    ch.close();
  }
}
