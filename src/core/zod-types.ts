/**
 * Zod building blocks for the file formats: durations, rates, percentages.
 * Inputs stay human (`250ms`, `99.9%`); outputs carry units in their names.
 */
import { z } from 'zod';
import { MAX_DURATION_MS, parseBytes, parseDurationMs, parsePercent } from './units.ts';

const DURATION_HINT = 'a duration like 250ms, 2s or 1m30s';

/**
 * What these primitives look like in the published JSON Schemas (src/schemas.ts): the text a
 * person writes, not zod's `string | number` input that exists only to give a better message.
 */
export const jsonSchemaHints = new WeakMap<object, Record<string, unknown>>();
const hint = <T extends object>(schema: T, json: Record<string, unknown>): T => {
  jsonSchemaHints.set(schema, json);
  return schema;
};
const DURATION_PATTERN = '^\\s*([0-9]+(\\.[0-9]+)?(ms|s|m|h|d|w))+\\s*$';
const PERCENT_PATTERN =
  '^\\s*(100(\\.0+)?|[0-9]{1,2}(\\.[0-9]+)?)\\s*%\\s*$|^\\s*(0|1|0?\\.[0-9]+|1\\.0+)\\s*$';
const BYTES_PATTERN = '^\\s*[0-9]+(\\.[0-9]+)?\\s*([bB]|[kKmMgGtT][iI]?[bB])?\\s*$';
const days = (ms: number) => (ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : `${ms}ms`);

/**
 * A duration string → milliseconds: > 0 unless `allowZero`, and at most `maxMs` (default 7d,
 * MAX_DURATION_MS: longer timers overflow). SLO periods pass MAX_PERIOD_MS.
 */
export function duration(opts: { allowZero?: boolean; maxMs?: number } = {}) {
  const maxMs = opts.maxMs ?? MAX_DURATION_MS;
  const description = `${DURATION_HINT}; at most ${days(maxMs)}`;
  const schema = z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      if (typeof v === 'number') {
        ctx.addIssue({ code: 'custom', message: `expected ${DURATION_HINT} (with a unit), got ${v}` });
        return z.NEVER;
      }
      const ms = parseDurationMs(v);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected ${DURATION_HINT}, got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      if (ms === 0 && !opts.allowZero) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a duration greater than zero, got ${JSON.stringify(v)}`,
        });
        return z.NEVER;
      }
      if (ms > maxMs) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a duration of at most ${days(maxMs)}, got ${JSON.stringify(v)}`,
        });
        return z.NEVER;
      }
      return ms;
    })
    .meta({ description });
  return hint(schema, { type: 'string', pattern: DURATION_PATTERN, description });
}

/** Arrivals per second, >= 0. */
export const rate = hint(
  z
    .number({
      error: (iss) => `expected a rate in requests per second (a number), got ${describe(iss.input)}`,
    })
    .refine((n) => Number.isFinite(n) && n >= 0, {
      message: 'expected a rate of zero or more requests per second',
    }),
  { type: 'number', minimum: 0 },
);

/** `99.9%` (at most 100%) or 0.999 → fraction in [0, 1]. */
export const percent = hint(
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const f = parsePercent(v);
    if (f === undefined) {
      const over = typeof v === 'number' ? v > 1 : /^\s*\d+(\.\d+)?\s*%\s*$/.test(v) || Number(v) > 1;
      ctx.addIssue({
        code: 'custom',
        message: over
          ? `expected a percentage of at most 100% (or a fraction 0..1), got ${describe(v)}`
          : `expected a percentage like 99.9% or a fraction 0..1, got ${describe(v)}`,
      });
      return z.NEVER;
    }
    return f;
  }),
  {
    anyOf: [
      { type: 'number', minimum: 0, maximum: 1 },
      { type: 'string', pattern: PERCENT_PATTERN },
    ],
    description: 'a percentage like 99.9% (at most 100%) or a fraction 0..1',
  },
);

/** `512MiB`, `2GB` or a byte count → bytes. */
export const bytes = hint(
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const b = parseBytes(v);
    if (b === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a size like 512MiB or 2GB, got ${describe(v)}` });
      return z.NEVER;
    }
    return b;
  }),
  {
    anyOf: [
      { type: 'number', minimum: 0 },
      { type: 'string', pattern: BYTES_PATTERN },
    ],
    description: 'a size like 512MiB or 2GB, or a byte count',
  },
);

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}
