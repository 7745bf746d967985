import { badRequest } from '../api-error.ts';
import { parseGrpcStatus } from '../../core/grpc-status.ts';
import type { AttrReader } from './attrs.ts';

/** Which gRPC calls a grpc toxic picks. */
export interface GrpcMatch {
  /**
   * `/pkg.Service/Method` or `/pkg.Service` (a prefix of :path), `pkg.Service/Method`, or a bare
   * method name (`Generate`); every call when absent.
   */
  method?: string;
  /** Fraction of matching calls affected, 0..1. */
  probability: number;
}

export function readGrpcMatch(r: AttrReader): GrpcMatch {
  return { method: r.str('method'), probability: r.num('probability', 1, { min: 0, max: 1 }) };
}

/** True when the call matches and wins the per-call probability roll. */
export function picksCall(m: GrpcMatch, path: string, random: () => number): boolean {
  if (m.method !== undefined && !matches(m.method, path)) return false;
  return random() < m.probability;
}

function matches(method: string, path: string): boolean {
  if (method.startsWith('/'))
    return path === method || path.startsWith(method.endsWith('/') ? method : `${method}/`);
  if (method.includes('/')) return path === `/${method}`;
  return path.slice(path.lastIndexOf('/') + 1) === method || path.startsWith(`/${method}/`);
}

/** A gRPC status as a code 1..16 or a name (UNAVAILABLE); OK makes no sense as a fault. */
export function readGrpcStatus(
  r: AttrReader,
  raw: Record<string, unknown>,
  name: string,
  fallback: number,
): number {
  const given = typeof raw[name] === 'number' ? r.int(name, fallback, { min: 1, max: 16 }) : r.str(name);
  if (given === undefined) return fallback;
  const code = parseGrpcStatus(given);
  if (code === undefined || code === 0) {
    throw badRequest(
      `attributes.${name} must be a gRPC status code 1..16 or its name (UNAVAILABLE, RESOURCE_EXHAUSTED, …), got ${JSON.stringify(given)}`,
    );
  }
  return code;
}
