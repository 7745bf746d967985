/**
 * The workload parts of the scenario format beyond a single request: flows (`steps:` with
 * captures, checks, think times and loops), data feeders, and the closed model's user pattern.
 * src/scenario/schema.ts includes these; docs/scenario-format.md ("Flows") describes them.
 */
import { z } from 'zod';
import { parseDurationMs } from '../core/units.ts';
import { duration } from '../core/zod-types.ts';

// ---- think times ---------------------------------------------------------------------------

export type ThinkDist =
  | { kind: 'fixed'; ms: number }
  | { kind: 'uniform'; minMs: number; maxMs: number }
  | { kind: 'exponential'; meanMs: number };

const THINK_HINT = 'a think time like 2s, uniform(1s, 3s) or exponential(2s)';

/** `2s`, `uniform(1s, 3s)`, `exponential(2s)` → a distribution (seeded when drawn). Units are required. */
export function parseThink(text: string): ThinkDist | string {
  const s = text.trim();
  const call = /^(uniform|exponential)\s*\(\s*([^,()]*?)\s*(?:,\s*([^,()]*?)\s*)?\)$/.exec(s);
  const dur = (v: string): number | string => {
    const ms = parseDurationMs(v);
    if (ms === undefined)
      return /^\d+(\.\d+)?$/.test(v)
        ? `${JSON.stringify(v)} has no unit: write ${v}s or ${v}ms`
        : `expected a duration like 250ms or 2s, got ${JSON.stringify(v)}`;
    return ms;
  };
  if (!call) {
    const ms = dur(s);
    if (typeof ms === 'string') return `${ms} (expected ${THINK_HINT})`;
    return { kind: 'fixed', ms };
  }
  const [, fn, a, b] = call;
  if (fn === 'uniform') {
    if (b === undefined) return `uniform takes two durations, like uniform(1s, 3s)`;
    const lo = dur(a!);
    const hi = dur(b);
    if (typeof lo === 'string') return lo;
    if (typeof hi === 'string') return hi;
    if (lo > hi) return `uniform(${a}, ${b}): the minimum is above the maximum`;
    return { kind: 'uniform', minMs: lo, maxMs: hi };
  }
  if (b !== undefined) return 'exponential takes one duration, its mean, like exponential(2s)';
  const mean = dur(a!);
  if (typeof mean === 'string') return mean;
  if (mean <= 0) return 'exponential needs a mean greater than zero';
  return { kind: 'exponential', meanMs: mean };
}

export const think = z
  .union([z.string(), z.number()])
  .transform((v, ctx): ThinkDist => {
    if (typeof v === 'number') {
      ctx.addIssue({ code: 'custom', message: `${v} has no unit: write ${v}s or ${v}ms (${THINK_HINT})` });
      return z.NEVER;
    }
    const d = parseThink(v);
    if (typeof d === 'string') {
      ctx.addIssue({ code: 'custom', message: d });
      return z.NEVER;
    }
    return d;
  })
  .meta({ description: THINK_HINT });

// ---- repeat counts -----------------------------------------------------------------------------

export type RepeatCount = { min: number; max: number };

/** `3` or `uniform(3, 6)` (whole numbers, seeded per session). */
export const repeatCount = z
  .union([z.number(), z.string()])
  .transform((v, ctx): RepeatCount => {
    const bad = (message: string) => {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    };
    if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < 1 || v > 100_000)
        return bad(`expected a whole number of repeats from 1 to 100000, got ${v}`);
      return { min: v, max: v };
    }
    const m = /^\s*uniform\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*$/.exec(v);
    if (!m)
      return bad(
        `expected a whole number or uniform(MIN, MAX), like uniform(3, 6), got ${JSON.stringify(v)}`,
      );
    const lo = Number(m[1]);
    const hi = Number(m[2]);
    if (lo < 1 || hi > 100_000 || lo > hi)
      return bad(`expected 1 ≤ MIN ≤ MAX ≤ 100000 in ${JSON.stringify(v)}`);
    return { min: lo, max: hi };
  })
  .meta({ description: 'a whole number, or uniform(MIN, MAX)' });

// ---- captures and checks -------------------------------------------------------------------------

/** `json:$.a.b` │ `header:x-name` │ `regex:PATTERN` │ `status`: checked in depth by src/load/captures.ts. */
export const captureSpec = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a variable name of letters, digits and _'),
  z.string().min(1),
);

export const expectSpec = z.strictObject({
  /** The answer's status must be one of these (an answer ≥ 400 fails with its HTTP kind anyway). */
  status: z.union([z.number().int(), z.array(z.number().int()).min(1)]).optional(),
  /** JSON paths into the answer and the value each must equal. */
  json: z.record(z.string(), z.unknown()).optional(),
  /** The answer's body (for an SSE stream, its whole text) must contain this text. */
  bodyContains: z.string().min(1).optional(),
  /** The step's latency (from when it became due) must not exceed this. */
  maxDuration: duration().optional(),
});
export type ExpectSpec = z.output<typeof expectSpec>;

export const onFail = z.enum(['stop', 'continue']);

// ---- multipart uploads ---------------------------------------------------------------------------

export const multipartPart = z
  .strictObject({
    name: z.string().min(1),
    /** A file beside the scenario, sent as this part's content. */
    file: z.string().min(1).optional(),
    /** A text value (a template). */
    value: z.string().optional(),
    /** The part's file name (default: the file's base name). */
    filename: z.string().min(1).optional(),
    contentType: z.string().min(1).optional(),
  })
  .refine((p) => (p.file === undefined) !== (p.value === undefined), {
    message: 'a multipart part needs exactly one of file or value',
  });
export type MultipartPart = z.output<typeof multipartPart>;

// ---- data feeders --------------------------------------------------------------------------------

export const dataSpec = z.strictObject({
  /** A CSV file with a header row, or JSON lines (`.jsonl`, one object a line), beside the scenario. */
  file: z.string().min(1),
  /** sequential: rows in order, round and round; random: seeded picks; unique: each row once. */
  order: z.enum(['sequential', 'random', 'unique']).default('sequential'),
  /** order unique, when every row was used: stop starting sessions (default), or start over (said in the result). */
  onExhausted: z.enum(['stop', 'wrap']).default('stop'),
});
export type DataSpec = z.output<typeof dataSpec>;

// ---- the closed model's user pattern -------------------------------------------------------------

const users = z
  .number({ error: 'expected a whole number of users' })
  .refine((n) => Number.isInteger(n) && n >= 0 && n <= 1_000_000, {
    message: 'expected a whole number of users from 0 to 1000000',
  });
const phaseName = z.string().min(1).optional();

export const usersPhase = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('constant'), name: phaseName, users, duration: duration() }),
    z.strictObject({
      kind: z.literal('ramp'),
      name: phaseName,
      from: users,
      to: users,
      duration: duration(),
    }),
    z.strictObject({
      kind: z.literal('step'),
      name: phaseName,
      levels: z.array(users).min(1),
      each: duration(),
    }),
  ],
  {
    error: (iss) =>
      iss.code === 'invalid_union' && 'discriminator' in iss
        ? 'expected kind to be one of constant, ramp, step (a pattern of user counts)'
        : undefined,
  },
);
export type UsersPhase = z.output<typeof usersPhase>;
