/** gRPC status codes (grpc/doc/statuscodes.md) and their error kinds in the taxonomy. */
import type { ErrorKind } from './error-kinds.ts';

export const GRPC_STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;
export type GrpcStatusName = (typeof GRPC_STATUS_NAMES)[number];

/** null for OK; an unknown code (outside 0..16) counts as grpc_unknown. */
export function grpcErrorKind(code: number): ErrorKind | null {
  if (code === 0) return null;
  const name = GRPC_STATUS_NAMES[code] ?? 'UNKNOWN';
  return `grpc_${name.toLowerCase()}` as ErrorKind;
}

/** `UNAVAILABLE`, `unavailable` or `14` → 14; undefined when it is none of them. */
export function parseGrpcStatus(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= 16 ? v : undefined;
  const i = GRPC_STATUS_NAMES.indexOf(v.toUpperCase() as GrpcStatusName);
  if (i >= 0) return i;
  return /^\d+$/.test(v) ? parseGrpcStatus(Number(v)) : undefined;
}
