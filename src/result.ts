/**
 * RunResult: one versioned JSON document per run. Every reporter renders from it; the zod
 * schema here is the source of schemas/results.schema.json.
 */
import { z } from 'zod';

export const SCHEMA_VERSION = 1;

const latency = z
  .object({ p50: z.number(), p90: z.number(), p95: z.number(), p99: z.number(), max: z.number(), mean: z.number() })
  .describe('milliseconds, measured from the intended send time');

const counts = z.record(z.string(), z.number().int().nonnegative());

export const secondSchema = z.object({
  t: z.number().int().nonnegative().describe('second since the load started'),
  requested: z.number().int().nonnegative().describe('arrivals scheduled in this second'),
  sent: z.number().int().nonnegative().describe('requests actually sent in this second (the achieved rate)'),
  dropped: z.number().int().nonnegative().describe('arrivals dropped because the backlog was full'),
  ok: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  cancelled: z.number().int().nonnegative(),
  errors: counts.describe('failed requests by kind: refused, reset, timeout, dns, tls, http_4xx, http_5xx, other'),
  status: counts.describe('responses by HTTP status code'),
  latencyMs: latency.nullable(),
  serviceMs: latency.nullable().describe('milliseconds from the actual send to the end of the response'),
  sendLagMs: z.object({ p99: z.number(), max: z.number() }).nullable(),
  backlogMax: z.number().int().nonnegative(),
  inflightMax: z.number().int().nonnegative(),
  generator: z
    .object({
      cpuPct: z.number(),
      eventLoopDelayP99Ms: z.number(),
      eventLoopDelayMaxMs: z.number(),
      saturated: z.boolean(),
      reasons: z.array(z.string()),
    })
    .nullable(),
  activeFaults: z.array(z.string()),
  byFaults: z.record(z.string(), z.object({ sent: z.number(), ok: z.number(), failed: z.number() })),
  hist: z.string().nullable().describe('latency HdrHistogram (microseconds), compressed base64'),
});

export const faultRecordSchema = z.object({
  id: z.string(),
  type: z.string(),
  target: z.string(),
  plannedStartMs: z.number(),
  plannedEndMs: z.number(),
  status: z
    .enum(['scheduled', 'skipped', 'applied', 'reverted', 'revert-failed', 'apply-failed'])
    .describe('scheduled: the run ended before its start; skipped: its probability draw said no'),
  appliedAtMs: z.number().nullable(),
  revertedAtMs: z.number().nullable(),
  revertedBy: z.enum(['schedule', 'runner-exit', 'guard', 'lease', 'emergency-stop']).nullable(),
  description: z.string(),
  error: z.string().nullable(),
  manualRevert: z.string().nullable(),
  observations: z.array(z.string()),
  params: z.record(z.string(), z.unknown()),
});
export type FaultRecord = z.infer<typeof faultRecordSchema>;

export const hostSampleSchema = z.object({
  t: z.number(),
  cpuPct: z.number().nullable(),
  memUsedBytes: z.number().nullable(),
  memTotalBytes: z.number().nullable(),
  load1: z.number().nullable(),
  gpus: z.array(z.object({ index: z.number(), memUsedBytes: z.number().nullable(), memTotalBytes: z.number().nullable(), utilizationPct: z.number().nullable() })),
});

/** The verdict added by scoring (src/slo/score.ts); formulas in docs/slo-format.md. */
export const verdictSchema = z.object({
  status: z.enum(['pass', 'fail', 'inconclusive']),
  pass: z.boolean(),
  service: z.string(),
  score: z.number().min(0).max(100),
  grade: z.string(),
  subscores: z.object({
    budget: z.number().nullable(),
    recovery: z.number().nullable(),
    loss: z.number().nullable(),
    robustness: z.number().nullable(),
  }),
  weights: z.object({ budget: z.number(), recovery: z.number(), loss: z.number(), robustness: z.number() }),
  objectives: z.array(
    z.object({
      name: z.string(),
      phase: z.enum(['baseline', 'fault', 'recovery']),
      target: z.string(),
      actual: z.string().nullable(),
      actualValue: z.number().nullable(),
      pass: z.boolean().nullable(),
      gating: z.boolean(),
      lowConfidence: z.boolean(),
      requests: z.number(),
    }),
  ),
  recovery: z.array(
    z.object({
      fault: z.string(),
      endMs: z.number(),
      ttrMs: z.number().nullable(),
      objectiveMs: z.number().nullable(),
      pass: z.boolean().nullable(),
      note: z.string().nullable(),
    }),
  ),
  phases: z.array(z.object({ name: z.enum(['baseline', 'fault', 'recovery']), seconds: z.array(z.number()), requests: z.number() })),
  budget: z
    .object({
      allowedBad: z.number(),
      badEvents: z.number(),
      expectedEventsInPeriod: z.number(),
      burned: z.number().describe("fraction of the period's error budget this run burned"),
      maxSpend: z.number().nullable(),
      peakBurnRate: z.number(),
      burnWindowS: z.number(),
      pass: z.boolean().nullable(),
    })
    .nullable(),
  degradation: z.object({
    baselineAvailability: z.number(),
    robustness: z.number(),
    lossS: z.number().describe('resilience loss: seconds of full-outage equivalent'),
    q: z.array(z.number().nullable()),
  }),
  reasons: z.array(z.string()),
});
export type Verdict = z.infer<typeof verdictSchema>;
export type ObjectiveResult = Verdict['objectives'][number];
export type RecoveryResult = Verdict['recovery'][number];

export const runResultSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  tool: z.object({ name: z.literal('chaoskit'), version: z.string() }),
  runId: z.string(),
  seed: z.number().int(),
  scenario: z.object({ name: z.string(), description: z.string(), file: z.string() }),
  environment: z.object({
    file: z.string(),
    demo: z.boolean(),
    targets: z.record(z.string(), z.object({ kind: z.string(), address: z.string().optional() })),
  }),
  timeScale: z.number().positive(),
  startedAt: z.string().describe('ISO 8601'),
  endedAt: z.string(),
  status: z.enum(['completed', 'aborted', 'failed']),
  abort: z.object({ reason: z.string(), atMs: z.number() }).nullable(),
  plan: z.object({
    durationMs: z.number(),
    expectedRequests: z.number(),
    peakRate: z.number(),
    arrivals: z.enum(['even', 'poisson']),
    phases: z.array(z.object({ index: z.number(), name: z.string(), kind: z.string(), startMs: z.number(), endMs: z.number(), peakRate: z.number() })),
  }),
  load: z.object({ target: z.string(), url: z.string(), connections: z.number(), timeoutMs: z.number(), engine: z.string() }),
  totals: z.object({
    requested: z.number(),
    sent: z.number(),
    ok: z.number(),
    failed: z.number(),
    dropped: z.number(),
    cancelled: z.number(),
    errors: counts,
    latencyMs: latency.nullable(),
    serviceMs: latency.nullable(),
    saturatedSeconds: z.number(),
    hist: z.string().nullable(),
  }),
  timeline: z.array(secondSchema),
  faults: z.array(faultRecordSchema),
  host: z.array(hostSampleSchema),
  warnings: z.array(z.string()),
  verdict: verdictSchema.optional().describe('added by scoring: see docs/slo-format.md'),
});
export type RunResult = z.infer<typeof runResultSchema>;
export type TimelineSecond = z.infer<typeof secondSchema>;
