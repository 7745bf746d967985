/**
 * The native SLO file format as zod schemas (`services:` with objectives, thresholds and
 * per-profile objectives): the single source of truth; defaults live here. OpenSLO documents (any
 * kind) in an SLO file: ./openslo.ts.
 */
import { z } from 'zod';
import { MAX_PERIOD_MS } from '../core/units.ts';
import { duration, percent } from '../core/zod-types.ts';
import { parseThreshold } from './threshold.ts';

const latencyObjectives = z
  .record(
    z.string().regex(/^(p\d+(\.\d+)?|avg|med|max)$/, 'expected p50, p95, p99, p99.9, avg, med or max'),
    duration(),
  )
  .superRefine((obj, ctx) => {
    for (const key of Object.keys(obj)) {
      const m = /^p(\d+(?:\.\d+)?)$/.exec(key);
      if (m && (Number(m[1]) <= 0 || Number(m[1]) > 100)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `percentile ${m[1]} is outside (0, 100]` });
      }
    }
  });

/** A profile's objectives: no windows and no recovery (those are the service's, second by second). */
const profileObjectives = z.strictObject({
  availability: percent.optional(),
  latency: latencyObjectives.optional(),
  errorRate: percent.optional(),
  thresholds: z
    .array(
      z
        .string()
        .min(1)
        .superRefine((t, ctx) => {
          const parsed = parseThreshold(t);
          if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
          else if (parsed.windowMs)
            ctx.addIssue({
              code: 'custom',
              message: 'a profile threshold has no window: profiles are judged over each phase',
            });
        }),
    )
    .default([]),
});

export const nativeService = z.strictObject({
  availability: percent.optional(),
  latency: latencyObjectives.optional(),
  errorRate: percent.optional(),
  recovery: duration().optional(),
  holdFor: duration().default(10_000),
  budget: z.strictObject({ period: duration({ maxMs: MAX_PERIOD_MS }), maxSpend: percent }).optional(),
  /** k6-style thresholds, optionally windowed: `p(95)<500`, `rate<0.01`, `p(99)<300 over 10s`. */
  thresholds: z.array(z.string().min(1)).default([]),
  /**
   * Objectives of one request profile, flow step (`FLOW.STEP`) or flow (its sessions), judged per
   * phase like the service's own: `profiles: { chat.answer: { latency: { p95: 2s } } }`.
   */
  profiles: z.record(z.string().min(1), profileObjectives).optional(),
});
export type NativeService = z.output<typeof nativeService>;

export const sloSchema = z.strictObject({
  services: z.record(z.string(), nativeService).default({}),
});
