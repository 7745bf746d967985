/**
 * The gRPC parts of the scenario format (`engine: grpc`, `load.grpc`) and the grpc target kind.
 * src/scenario/schema.ts includes these; docs/grpc-and-streaming.md describes them.
 */
import { z } from 'zod';
import { duration } from '../core/zod-types.ts';

const metadata = z.record(
  z.string().regex(/^[a-z0-9-_.]+$/, 'expected a lower-case metadata key'),
  z.string(),
);
const message = z.record(z.string(), z.unknown());

/** One call profile of a gRPC mix; absent fields come from load.grpc. */
export const grpcCall = z.strictObject({
  name: z.string().min(1).optional(),
  weight: z.number().positive().default(1),
  method: z.string().min(1).optional(),
  /** The request message; string values may hold template tags ({{randInt 1 100}}). */
  message: message.optional(),
  /** A JSON or YAML file with the request message (a template too), relative to the scenario. */
  messageFile: z.string().min(1).optional(),
  metadata: metadata.default({}),
});
export type GrpcCall = z.output<typeof grpcCall>;

export const grpcSpec = z.strictObject({
  /** The .proto file, relative to the scenario file. */
  proto: z.string().min(1),
  /** Full (`chaoskit.demo.v1.Inference`) or short (`Inference`) service name. */
  service: z.string().min(1),
  method: z.string().min(1).optional(),
  message: message.optional(),
  messageFile: z.string().min(1).optional(),
  metadata: metadata.default({}),
  /** Per-call deadline (DEADLINE_EXCEEDED after it); load.timeout when absent. */
  deadline: duration().optional(),
  /** HTTP/2 connections the calls are spread over. */
  channels: z.number().int().positive().max(64).default(1),
  /** A weighted mix of calls; without it, one call made of the fields above. */
  calls: z.array(grpcCall).min(1).optional(),
});
export type GrpcSpec = z.output<typeof grpcSpec>;

export const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

export const grpcTarget = z.strictObject({
  kind: z.literal('grpc'),
  address: z.string().regex(HOST_PORT, 'expected host:port, like 127.0.0.1:50051'),
  /** grpc.health.v1 service name checked at start ('' = the whole server); no check when absent. */
  health: z.string().optional(),
});
