/**
 * Toxic definitions: the API's JSON parsed once into immutable plain data. An update builds a
 * new definition; per-connection state never lives here.
 */
import { badRequest, invalidStream, ProxyApiError } from './api-error.ts';
import { isToxicType, kindOf, type ToxicType, toxicTypes } from './toxics/index.ts';
import type { Stream, ToxicJson, ToxicKind } from './types.ts';

export interface ToxicDefinition {
  readonly name: string;
  readonly type: ToxicType;
  readonly kind: ToxicKind<object>;
  readonly stream: Stream;
  /** Probability, 0..1, that the toxic applies to a connection (per request for http toxics). */
  readonly toxicity: number;
  readonly attributes: Readonly<object>;
  /** Extension: lease length; the registry drops the toxic at `expiresAt` unless renewed. */
  readonly leaseMs?: number;
  readonly expiresAt?: number;
}

const MAX_TIMER_MS = 2_147_483_647;

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Names travel in URL paths: no slashes, no control characters. */
export function checkName(value: unknown, what: string): string {
  if (typeof value !== 'string') throw badRequest(`${what} must be a string`);
  // eslint-disable-next-line no-control-regex
  if (value.length > 200 || /[/\u0000-\u001f\u007f]/.test(value)) {
    throw badRequest(
      `${what} ${JSON.stringify(value)} must be at most 200 characters, without / or control characters`,
    );
  }
  return value;
}

export function parseToxicInput(body: unknown): ToxicDefinition {
  if (!isObject(body)) throw badRequest('expected a json object');
  const stream = parseStream(body.stream);
  const type = body.type;
  if (!isToxicType(type)) {
    throw new ProxyApiError(
      `invalid toxic type: ${JSON.stringify(type ?? '')} (known: ${toxicTypes.join(', ')})`,
      400,
    );
  }
  const name =
    body.name === undefined || body.name === null || body.name === ''
      ? `${type}_${stream}`
      : checkName(body.name, 'toxic name');
  const toxicity = parseToxicity(body.toxicity, 1);
  const raw = parseAttributes(body.attributes);
  const leaseMs = parseLease(body.lease_ms ?? raw.lease_ms);
  delete raw.lease_ms;
  const kind = kindOf(type);
  return { name, type, kind, stream, toxicity, attributes: kind.parse(raw), leaseMs };
}

/** Toxiproxy's update: attributes merge over the current ones; toxicity kept unless given. */
export function patchToxic(def: ToxicDefinition, body: unknown): ToxicDefinition {
  if (!isObject(body)) throw badRequest('expected a json object');
  const raw = { ...(def.attributes as Record<string, unknown>), ...parseAttributes(body.attributes) };
  const leaseInput = body.lease_ms ?? raw.lease_ms;
  delete raw.lease_ms;
  return {
    ...def,
    toxicity: parseToxicity(body.toxicity, def.toxicity),
    attributes: def.kind.parse(raw),
    leaseMs: leaseInput === undefined || leaseInput === null ? def.leaseMs : parseLease(leaseInput),
  };
}

export function parseLease(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_TIMER_MS) {
    throw badRequest(`lease_ms must be a whole number of milliseconds between 1 and ${MAX_TIMER_MS}`);
  }
  return v;
}

export function toxicToJson(def: ToxicDefinition): ToxicJson {
  const json: ToxicJson = {
    name: def.name,
    type: def.type,
    stream: def.stream,
    toxicity: def.toxicity,
    attributes: JSON.parse(JSON.stringify(def.attributes)) as Record<string, unknown>,
  };
  if (def.leaseMs !== undefined) json.lease_ms = def.leaseMs;
  if (def.expiresAt !== undefined) json.expires_at = new Date(def.expiresAt).toISOString();
  return json;
}

function parseStream(v: unknown): Stream {
  if (v === undefined || v === null || v === '') return 'downstream';
  const s = typeof v === 'string' ? v.toLowerCase() : '';
  if (s !== 'upstream' && s !== 'downstream') throw invalidStream();
  return s;
}

function parseToxicity(v: unknown, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) {
    throw badRequest(`toxicity must be a number from 0 to 1, got ${JSON.stringify(v)}`);
  }
  return v;
}

function parseAttributes(v: unknown): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw badRequest('attributes must be a json object');
  return { ...v };
}
