/**
 * grpc.health.v1: the server side (for the demo and tests) and a one-shot Check client (the gRPC
 * engine's preflight, steady-state probes). It stands on the engine's .proto loader (./grpc-proto.ts).
 * The .proto ships in src/demo/protos/health.proto.
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { PACKAGE_ROOT } from '../core/paths.ts';
import { grpcServiceDefinition, loadProto } from './grpc-proto.ts';
import { GRPC_STATUS_NAMES } from '../core/grpc-status.ts';

// From the package root: compiled code in dist/ has no .proto files beside it.
export const HEALTH_PROTO = join(PACKAGE_ROOT, 'src/demo/protos/health.proto');
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

let cached: ReturnType<typeof load> | null = null;
function load() {
  const root = loadProto(HEALTH_PROTO);
  const svc = root.lookupService('grpc.health.v1.Health');
  return { root, def: grpcServiceDefinition(svc) };
}
function health() {
  return (cached ??= load());
}

/** Adds grpc.health.v1.Health to a server; `status(service)` answers Check ('' = the whole server). */
export function addHealthService(server: grpc.Server, status: (service: string) => ServingStatus): void {
  const { def } = health();
  server.addService(def as unknown as grpc.ServiceDefinition, {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const s = status(call.request.service ?? '');
      if (s === 'SERVICE_UNKNOWN')
        cb({ code: grpc.status.NOT_FOUND, details: `unknown service ${call.request.service}` });
      else cb(null, { status: s });
    },
    Watch: (call: grpc.ServerWritableStream<{ service: string }, unknown>) => {
      call.write({ status: status(call.request.service ?? '') });
      call.end();
    },
  });
}

export interface HealthAnswer {
  ok: boolean;
  /** SERVING, NOT_SERVING, …, or the gRPC status name when the call failed. */
  detail: string;
}

/** One grpc.health.v1 Check call with a deadline; ok only for SERVING. */
export function checkHealth(
  channel: grpc.Channel,
  service: string,
  timeoutMs: number,
): Promise<HealthAnswer> {
  const m = health().def.Check!;
  const client = new grpc.Client('unused', grpc.credentials.createInsecure(), { channelOverride: channel });
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      { service },
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, res) => {
        if (err) resolve({ ok: false, detail: `${GRPC_STATUS_NAMES[err.code] ?? err.code}: ${err.details}` });
        else {
          const status = String((res as { status?: unknown }).status ?? 'UNKNOWN');
          resolve({ ok: status === 'SERVING', detail: status });
        }
      },
    );
  });
}
