/** The runner's side of the gRPC engine: check the target before anything starts. */
import { InputError } from '../core/errors.ts';
import { checkHealth } from './grpc-health.ts';
import type { Target } from '../scenario/schema.ts';
import * as grpc from '@grpc/grpc-js';
import { grpcReachable } from './grpc-engine.ts';

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
