/**
 * Zod building blocks for the file formats: durations, rates, percentages.
 * Inputs stay human (`250ms`, `99.9%`); outputs carry units in their names.
 */
import { z } from 'zod';
import { parseBytes, parseDurationMs, parsePercent } from '../units.ts';

const DURATION_HINT = 'a duration like 250ms, 2s or 1m30s';

/** A duration string → milliseconds (> 0 unless `allowZero`). */
export function duration(opts: { allowZero?: boolean } = {}) {
  return z
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
      return ms;
    })
    .meta({ description: DURATION_HINT });
}

/** Arrivals per second, >= 0. */
export const rate = z
  .number({ error: (iss) => `expected a rate in requests per second (a number), got ${describe(iss.input)}` })
  .refine((n) => Number.isFinite(n) && n >= 0, {
    message: 'expected a rate of zero or more requests per second',
  });

/** `99.9%` or 0.999 → fraction in [0, 1]. */
export const percent = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const f = parsePercent(v);
  if (f === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a percentage like 99.9% or a fraction 0..1, got ${describe(v)}`,
    });
    return z.NEVER;
  }
  return f;
});

/** `512MiB`, `2GB` or a byte count → bytes. */
export const bytes = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const b = parseBytes(v);
  if (b === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a size like 512MiB or 2GB, got ${describe(v)}` });
    return z.NEVER;
  }
  return b;
});

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}
