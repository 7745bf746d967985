/**
 * RunResult: one versioned JSON document per run. Every reporter renders from it; the zod
 * schema here is the source of schemas/results.schema.json.
 */
import { z } from 'zod';

/**
 * The results.json format version. Older versions are migrated on read (src/results/migrate.ts);
 * bump it when a reader of the previous version would misread the new one, and add a migration.
 *   1 → 2: per-second `failedHist` (latency of the failed requests only).
 *   2 → 3: exact accounting: per-second `sent` counts the second's own arrivals (the achieved
 *          rate moved to `achieved`), `notSent`, `droppedStall`, `phases` (attribution by
 *          exposure); fault apply lag; verdict statuses `invalid`, `aborted`, `not-scored`.
 */
export const SCHEMA_VERSION = 3;

const latency = z
  .object({
    p50: z.number(),
    p90: z.number(),
    p95: z.number(),
    p99: z.number(),
    max: z.number(),
    mean: z.number(),
  })
  .describe('milliseconds, measured from the intended send time');

const counts = z.record(z.string(), z.number().int().nonnegative());

export const secondSchema = z.object({
  t: z.number().int().nonnegative().describe('second since the load started'),
  requested: z
    .number()
    .int()
    .nonnegative()
    .describe('arrivals scheduled in this second; requested = sent + dropped + notSent'),
  sent: z
    .number()
    .int()
    .nonnegative()
    .describe(
      "this second's arrivals that were sent, whenever they went out; sent = ok + failed + cancelled",
    ),
  achieved: z
    .number()
    .int()
    .nonnegative()
    .describe(
      'requests that went out during this second, whatever their intended second (the achieved rate)',
    ),
  dropped: z
    .number()
    .int()
    .nonnegative()
    .describe('arrivals dropped: the backlog was full, or (droppedStall) the generator was stalled'),
  droppedStall: z
    .number()
    .int()
    .nonnegative()
    .describe(
      'of dropped: arrivals already overdue by more than the stall bound when a stalled generator resumed',
    ),
  notSent: z
    .number()
    .int()
    .nonnegative()
    .describe('arrivals still waiting for a connection when the load stopped'),
  ok: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  cancelled: z
    .number()
    .int()
    .nonnegative()
    .describe('requests in flight when the load stopped, neither ok nor failed'),
  errors: counts.describe(
    'failed requests by kind: refused, reset, timeout, dns, tls, http_4xx, http_5xx, other',
  ),
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
  activeFaults: z.array(z.string()).describe('faults in effect at some moment of this second (wall time)'),
  byFaults: z
    .record(z.string(), z.object({ sent: z.number(), ok: z.number(), failed: z.number() }))
    .describe("outcomes by the faults each request was exposed to during its life ('' = none)"),
  phases: z
    .partialRecord(
      z.enum(['baseline', 'fault', 'recovery']),
      z.object({
        ok: z.number().int().nonnegative(),
        failed: z.number().int().nonnegative(),
        dropped: z.number().int().nonnegative(),
        hist: z.string().nullable(),
      }),
    )
    .describe(
      "this second's requests by the phase they are attributed to: fault when exposed to a fault at any moment of their life, baseline when they ended before the first fault began, recovery otherwise",
    ),
  hist: z.string().nullable().describe('latency HdrHistogram (microseconds), compressed base64'),
  failedHist: z
    .string()
    .nullable()
    .describe(
      'latency HdrHistogram (microseconds) of the failed requests only, a subset of hist; null when none failed or unknown (migrated from schema version 1)',
    ),
  stream: z
    .object({
      events: z
        .number()
        .int()
        .nonnegative()
        .describe('stream events received in this second (events per second)'),
      completed: z
        .number()
        .int()
        .nonnegative()
        .describe('streams that reached their normal end in this second'),
      cut: z
        .number()
        .int()
        .nonnegative()
        .describe('streams that ended in this second after at least one event but before their normal end'),
      firstEventMs: latency
        .nullable()
        .describe('time to first event of streams sent in this second, from the intended send time'),
      gapMs: z
        .object({ p50: z.number(), p99: z.number(), max: z.number() })
        .nullable()
        .describe('gaps between consecutive events of a stream'),
      firstEventHist: z
        .string()
        .nullable()
        .describe('time-to-first-event HdrHistogram (microseconds), compressed base64'),
    })
    .optional()
    .describe('streaming responses (SSE, gRPC server streams); absent when the run has none'),
});

const gapSummary = z.object({ p50: z.number(), p99: z.number(), max: z.number() });

const profileSummary = gapSummary.extend({ p90: z.number().optional(), p95: z.number().optional() });
const phaseCounts = z.object({
  ok: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  dropped: z.number().int().nonnegative(),
  hist: z.string().nullable(),
});
const byPhase = z.partialRecord(z.enum(['baseline', 'fault', 'recovery']), phaseCounts);

const profileSchema = z.object({
  sent: z.number(),
  ok: z.number(),
  failed: z.number(),
  latencyMs: profileSummary.nullable(),
  hist: z.string().nullable(),
  flow: z.string().optional().describe('the flow this step belongs to'),
  step: z.string().optional(),
  requested: z.number().optional().describe('requested = sent + dropped + notSent, as in the timeline'),
  dropped: z.number().optional(),
  notSent: z.number().optional(),
  cancelled: z.number().optional(),
  errors: counts
    .optional()
    .describe('failed requests by kind; check: an expectation missed or a value unset'),
  checks: counts.optional().describe('failed checks by message'),
  captureMisses: counts.optional().describe('answers in which a capture found nothing, by variable'),
  phases: byPhase.optional().describe('outcomes by the phase they are attributed to (exposure)'),
  stream: z
    .object({
      firstEventMs: profileSummary.nullable(),
      gapMs: profileSummary.nullable(),
      completed: z.number(),
      cut: z.number(),
      firstEventHist: z.string().nullable().optional().describe('HdrHistogram (µs), for exact merging'),
      gapHist: z.string().nullable().optional().describe('HdrHistogram (µs), for exact merging'),
    })
    .optional()
    .describe('streamed answers (SSE) of this profile'),
});

const sessionsSchema = z.object({
  model: z.enum(['open', 'closed']),
  flows: z.record(
    z.string(),
    z.object({
      steps: z.array(z.string()),
      started: z.number(),
      completed: z.number(),
      failed: z.number(),
      stopped: z
        .number()
        .describe('cut short because the load stopped (an abort, or the end of gracefulStop)'),
      failedAt: counts.describe('failed sessions by the step they failed at'),
      durationMs: latency.nullable().describe("from the first step's due time to the last step's end"),
      hist: z.string().nullable(),
      phases: byPhase.describe('completed (ok) and failed sessions by phase (exposure over the session)'),
    }),
  ),
  timeline: z.array(
    z.object({
      t: z.number().int().nonnegative(),
      started: z.number(),
      completed: z.number(),
      failed: z.number(),
      stopped: z.number(),
      active: z
        .object({ mean: z.number(), max: z.number() })
        .describe('active sessions (open model) or virtual users (closed): time-weighted mean and maximum'),
      target: z
        .number()
        .optional()
        .describe("closed model: the pattern's number of users (time-weighted mean)"),
    }),
  ),
  data: z.array(
    z.object({
      file: z.string(),
      order: z.enum(['sequential', 'random', 'unique']),
      rows: z.number(),
      used: z.number(),
      wrapped: z
        .number()
        .describe('unique, onExhausted wrap: how often every row had been used and it started over'),
      exhaustedAtMs: z.number().nullable().describe('unique, onExhausted stop: when the last row was used'),
      refused: z
        .number()
        .describe('sessions or requests not started because no row was left (counted as not sent)'),
    }),
  ),
});

export const probeResultSchema = z.object({
  name: z.string(),
  kind: z.enum(['http', 'grpc']),
  address: z.string(),
  ok: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  samples: z.array(
    z.object({ t: z.number(), ok: z.boolean(), latencyMs: z.number().nullable(), detail: z.string() }),
  ),
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
  applyStartedAtMs: z.number().nullable().describe('when its apply began (load clock)'),
  appliedAtMs: z.number().nullable(),
  applyLagMs: z.number().nullable().describe('appliedAtMs − plannedStartMs'),
  toleranceMs: z.number().describe('the apply lag beyond which the fault did not run as planned'),
  late: z.boolean().describe('applied later than its tolerance: the experiment did not run as planned'),
  revertedAtMs: z.number().nullable(),
  revertedBy: z
    .enum(['schedule', 'runner-exit', 'guard', 'lease', 'emergency-stop', 'timer', 'expired'])
    .nullable()
    .describe(
      "which layer reverted it: its schedule, the runner on exit, the run's guard, a proxy lease, chaos emergency-stop, its self-reverting timer, or found expired",
    ),
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
  gpus: z.array(
    z.object({
      index: z.number(),
      memUsedBytes: z.number().nullable(),
      memTotalBytes: z.number().nullable(),
      utilizationPct: z.number().nullable(),
    }),
  ),
});

/** The verdict added by scoring (src/slo/score.ts); formulas in docs/slo-format.md. */
export const VERDICT_STATUSES = ['pass', 'fail', 'inconclusive', 'invalid', 'aborted', 'not-scored'] as const;

export const verdictSchema = z.object({
  status: z
    .enum(VERDICT_STATUSES)
    .describe(
      'pass: ran as planned and met every objective; fail: missed one; inconclusive: the baseline already missed; invalid: the experiment did not run as planned (a fault not applied, applied late, the generator stalled); aborted: stopped early (only what ran is scored); not-scored: the service has no objectives',
    ),
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
      profile: z
        .string()
        .optional()
        .describe('the request profile, flow step or flow the objective is about'),
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
  phases: z.array(
    z.object({
      name: z.enum(['baseline', 'fault', 'recovery']),
      seconds: z.array(z.number()),
      requests: z.number(),
    }),
  ),
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

const planSchema = z.object({
  durationMs: z.number(),
  expectedRequests: z.number(),
  peakRate: z.number(),
  arrivals: z.enum(['even', 'poisson']),
  phases: z.array(
    z.object({
      index: z.number(),
      name: z.string(),
      kind: z.string(),
      startMs: z.number(),
      endMs: z.number(),
      peakRate: z.number(),
    }),
  ),
});

const loadSchema = z.object({
  target: z.string(),
  url: z.string(),
  connections: z.number(),
  timeoutMs: z.number(),
  streamTimeoutMs: z.number(),
  engine: z.string(),
});

const totalsSchema = z.object({
  requested: z.number(),
  sent: z.number(),
  ok: z.number(),
  failed: z.number(),
  dropped: z.number(),
  droppedStall: z.number(),
  notSent: z.number(),
  cancelled: z.number(),
  achieved: z.number(),
  errors: counts,
  latencyMs: latency.nullable(),
  serviceMs: latency.nullable(),
  saturatedSeconds: z.number(),
  hist: z.string().nullable(),
  stream: z
    .object({
      events: z.number(),
      completed: z.number(),
      cut: z.number(),
      firstEventMs: latency.nullable(),
      gapMs: gapSummary.nullable(),
    })
    .nullable()
    .optional()
    .describe('streaming totals over the run (SSE, gRPC server streams)'),
});

const profilesField = z
  .record(z.string(), profileSchema)
  .optional()
  .describe(
    'outcomes per named request of the workload mix and per flow step (FLOW.STEP); latency from the intended (due) time',
  );

const sessionsField = sessionsSchema
  .optional()
  .describe('flows and virtual users: sessions per flow, concurrency per second, data feeders');

/** One stream of a scenario with several loads (`load:` as a list): results.json `streams[]`. */
export const streamResultSchema = z.object({
  name: z.string(),
  target: z.string(),
  service: z.string().describe('whose objectives (slo.yaml) this stream is scored against'),
  engine: z.string(),
  load: loadSchema,
  plan: planSchema,
  totals: totalsSchema,
  timeline: z.array(secondSchema),
  profiles: profilesField,
  sessions: sessionsField,
  warnings: z.array(z.string()),
  verdict: verdictSchema,
});
export type StreamResult = z.infer<typeof streamResultSchema>;

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
  loadStartedAt: z
    .string()
    .optional()
    .describe("ISO 8601: the load's t = 0, from which timeline seconds and fault times count"),
  endedAt: z.string(),
  ranMs: z.number().nonnegative().describe('how long the load ran (less than the plan when aborted)'),
  status: z.enum(['completed', 'aborted', 'failed']),
  abort: z.object({ reason: z.string(), atMs: z.number() }).nullable(),
  plan: planSchema,
  load: loadSchema,
  totals: totalsSchema,
  timeline: z.array(secondSchema),
  faults: z.array(faultRecordSchema),
  host: z.array(hostSampleSchema),
  warnings: z.array(z.string()),
  profiles: profilesField,
  sessions: sessionsField,
  probes: z
    .array(probeResultSchema)
    .optional()
    .describe("the environment's steady-state probes, once a second"),
  steadyState: z
    .object({
      required: z.boolean(),
      forMs: z.number(),
      held: z.boolean().nullable().describe('null: not checked (no fault, or the run ended first)'),
      checkedAtMs: z.number().nullable(),
      reason: z.string(),
    })
    .optional()
    .describe('when held is false, no fault was applied and the verdict is inconclusive'),
  capacity: z
    .object({
      steps: z.array(
        z.object({
          connections: z.number(),
          startMs: z.number(),
          endMs: z.number(),
          requests: z.number(),
          throughput: z.number().describe('completed requests per second'),
          p99Ms: z.number().nullable(),
          availability: z.number().nullable(),
          pass: z.boolean(),
          failed: z.array(z.string()),
        }),
      ),
      knee: z
        .object({ connections: z.number(), throughput: z.number() })
        .nullable()
        .describe(
          'the last step before the first one that missed an objective; null when no step (or the first) missed',
        ),
      peak: z
        .object({ connections: z.number(), throughput: z.number() })
        .nullable()
        .describe('the step with the highest throughput'),
    })
    .optional()
    .describe('closed-model capacity probes (engine autocannon)'),
  verdict: verdictSchema.optional().describe('added by scoring: see docs/slo-format.md'),
  streams: z
    .array(streamResultSchema)
    .optional()
    .describe(
      'several load streams at once (`load:` as a list): each stream measured and scored on its own; the top-level timeline and totals are their exact sum, the verdict the worst of theirs',
    ),
  workers: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('--workers N: the load ran as N worker processes on this machine, merged exactly'),
  runners: z
    .array(
      z.object({
        index: z.number().int().nonnegative().describe('segment i of N of every stream'),
        host: z.string(),
        clockOffsetMs: z.number().describe("the runner's clock minus the coordinator's, measured before t0"),
        roundTripMs: z.number(),
        secondsReceived: z.number().int().nonnegative().describe('finished seconds the runner shipped'),
        state: z
          .enum(['completed', 'stopped', 'lost'])
          .describe(
            'lost: it died, stalled or lost its network; its share of the seconds it did not ship counts as dropped (stall)',
          ),
        lostAtMs: z.number().optional().describe('load time at which the coordinator gave it up'),
        lostReason: z.string().optional(),
      }),
    )
    .optional()
    .describe('--runners N: the runners that generated the load, merged exactly by this coordinator'),
});
export type RunResult = z.infer<typeof runResultSchema>;

export type TimelineSecond = z.infer<typeof secondSchema>;
