/**
 * The scenario and environment file formats as zod schemas: the single source of truth (the SLO
 * file's are in src/slo/schema.ts).
 * Defaults live here and nowhere else; JSON Schemas in schemas/ are generated from these.
 */
import { z } from 'zod';
import { duration, percent, rate } from '../core/zod-types.ts';
import { grpcSpec, grpcTarget } from './grpc-schema.ts';
import {
  captureSpec,
  dataSpec,
  expectSpec,
  multipartPart,
  onFail,
  repeatCount,
  think,
  usersPhase,
  type DataSpec,
  type RepeatCount,
  type ThinkDist,
  type UsersPhase,
} from './flow-schema.ts';
import { probeSpec, steadyStateSpec } from './probe-schema.ts';

export const MAX_RATE_WITHOUT_FORCE = 50_000;
export const MAX_BACKLOG = 1_000_000;
/** The load engines (the registry in src/run/engines.ts is typed against this list). */
export const ENGINES = ['http', 'grpc', 'autocannon', 'k6'] as const;

const phaseName = z.string().min(1).optional();

export const constantPhase = z.strictObject({
  kind: z.literal('constant'),
  name: phaseName,
  rate,
  duration: duration(),
});
export const rampPhase = z.strictObject({
  kind: z.literal('ramp'),
  name: phaseName,
  from: rate,
  to: rate,
  duration: duration(),
});
export const spikePhase = z.strictObject({
  kind: z.literal('spike'),
  name: phaseName,
  from: rate,
  to: rate,
  rise: duration({ allowZero: true }),
  hold: duration(),
  fall: duration({ allowZero: true }),
});
export const sinePhase = z
  .strictObject({
    kind: z.literal('sine'),
    name: phaseName,
    mean: rate,
    amplitude: rate,
    period: duration(),
    duration: duration(),
  })
  .refine((p) => p.amplitude <= p.mean, {
    message: 'amplitude must not exceed mean: the rate would go below zero',
    path: ['amplitude'],
  });
/** Short pulses of a high rate: `rate` for `length` at the start of every `every`, `base` between. */
export const burstPhase = z
  .strictObject({
    kind: z.literal('burst'),
    name: phaseName,
    rate,
    base: rate.default(0),
    length: duration(),
    every: duration(),
    duration: duration(),
  })
  .refine((p) => p.length <= p.every, {
    message: 'length must not exceed every: a pulse would overlap the next',
    path: ['length'],
  });

export const stepPhase = z.strictObject({
  kind: z.literal('step'),
  name: phaseName,
  /** Levels as rates, or as percentages of `peak` (`10%`). */
  levels: z.array(z.union([rate, z.string()])).min(1),
  peak: rate.optional(),
  /** How long each level holds. */
  each: duration(),
});

export const phase = z.discriminatedUnion(
  'kind',
  [constantPhase, rampPhase, spikePhase, sinePhase, stepPhase, burstPhase],
  {
    error: (iss) =>
      iss.code === 'invalid_union' && 'discriminator' in iss
        ? 'expected kind to be one of constant, ramp, spike, sine, step, burst'
        : undefined,
  },
);
export type Phase = z.output<typeof phase>;

/** What every HTTP request says, whether a mix entry or a flow step (defaults applied by the transforms below). */
const requestFields = {
  name: z.string().min(1).optional(),
  method: z
    .string()
    .regex(/^[A-Z]+$/, 'expected an upper-case HTTP method like GET or POST')
    .optional(),
  path: z.string().startsWith('/', 'expected a path starting with /').optional(),
  /** Header values are templates, like paths and bodies. */
  headers: z.record(z.string(), z.string()).default({}),
  body: z.string().optional(),
  /** The body from a file, relative to the scenario (a template like body). */
  bodyFile: z.string().min(1).optional(),
  /** A multipart/form-data body: files beside the scenario and text values (src/load/multipart.ts). */
  multipart: z.array(multipartPart).min(1).optional(),
  /** `sse`: the response is a server-sent event stream, measured event by event. */
  stream: z.enum(['sse']).optional(),
  /** SSE: the event name or data that marks the normal end (`[DONE]`); a close before it is a cut stream. */
  streamEnd: z.string().min(1).optional(),
  /** Checks on the answer; a miss is a failure of kind `check`. */
  expect: expectSpec.optional(),
};
const REQUEST_KEYS = Object.keys(requestFields).filter((k) => k !== 'name' && k !== 'headers');

export const requestSpec = z.strictObject({
  ...requestFields,
  weight: z.number().positive().default(1),
  method: requestFields.method.default('GET'),
  path: requestFields.path.default('/'),
});
export type RequestSpec = z.output<typeof requestSpec>;

/** A flow's request step: a request plus captures for later steps, repeats and what a failure does. */
export interface RequestStep extends Omit<RequestSpec, 'weight'> {
  kind: 'request';
  capture: Record<string, string>;
  repeat?: RepeatCount;
  onFail?: z.output<typeof onFail>;
}
export interface ThinkStep {
  kind: 'think';
  think: ThinkDist;
}
export interface LoopStep {
  kind: 'loop';
  repeat: RepeatCount;
  steps: (RequestStep | ThinkStep)[];
}
export type FlowStep = RequestStep | ThinkStep | LoopStep;

const stepShape = {
  ...requestFields,
  capture: captureSpec.optional(),
  repeat: repeatCount.optional(),
  onFail: onFail.optional(),
  think: think.optional(),
};

type StepInput = { [K in keyof typeof stepShape]?: unknown } & { loop?: unknown };

/** Written in the file (an empty default `headers: {}` is not). */
function isGiven(x: unknown): boolean {
  return (
    x !== undefined &&
    !(typeof x === 'object' && x !== null && !Array.isArray(x) && Object.keys(x).length === 0)
  );
}

/** A step is a request, a think time or (outside loops) a loop; fields of another kind are errors. */
function checkStepKind(v: StepInput, ctx: z.RefinementCtx, inLoop: boolean): void {
  const given = Object.keys(v).filter((k) => isGiven(v[k as keyof StepInput]));
  const only = (kind: string, allowed: string[]) => {
    for (const k of given)
      if (!allowed.includes(k))
        ctx.addIssue({
          code: 'custom',
          path: [k],
          message: `a ${kind} step has only ${allowed.join(' and ')}; put ${k} on a request step`,
        });
  };
  if (v.think !== undefined) only('think', ['think']);
  else if (v.loop !== undefined) {
    if (inLoop)
      ctx.addIssue({
        code: 'custom',
        path: ['loop'],
        message: 'loops do not nest: put the steps in the outer loop',
      });
    else only('loop', ['loop']);
  }
}

function toStep(
  v: z.output<z.ZodObject<typeof stepShape>> & {
    loop?: { repeat: RepeatCount; steps: (RequestStep | ThinkStep)[] };
  },
): FlowStep {
  if (v.think !== undefined) return { kind: 'think', think: v.think };
  if (v.loop !== undefined) return { kind: 'loop', repeat: v.loop.repeat, steps: v.loop.steps };
  const { think: _t, capture, ...rest } = v;
  return { ...rest, kind: 'request', method: v.method ?? 'GET', path: v.path ?? '/', capture: capture ?? {} };
}

const innerStep = z
  .strictObject(stepShape)
  .superRefine((v, ctx) => checkStepKind(v, ctx, true))
  .transform((v) => toStep(v) as RequestStep | ThinkStep);

export const flowStep = z
  .strictObject({
    ...stepShape,
    /** Steps repeated together (the turns of a conversation). */
    loop: z.strictObject({ repeat: repeatCount, steps: z.array(innerStep).min(1) }).optional(),
  })
  .superRefine((v, ctx) => checkStepKind(v, ctx, false))
  .transform(toStep);

export interface FlowSpec {
  kind: 'flow';
  name: string;
  weight: number;
  steps: FlowStep[];
  data?: DataSpec;
  onFail: z.output<typeof onFail>;
}

/**
 * One entry of the workload mix: a request, or a flow (`steps:`) whose requests run one after
 * another in a session. One object schema (not a union) so that a mistake is reported at its field.
 */
export const mixEntry = z
  .strictObject({
    ...requestFields,
    weight: z.number().positive().default(1),
    /** A flow: requests, think times and loops run in order as one session. */
    steps: z.array(flowStep).min(1).optional(),
    /** Rows for this flow's sessions (`{{data.FIELD}}`); load.data when absent. */
    data: dataSpec.optional(),
    /** What a failed step does to its session: stop it (default), or go on with the next step. */
    onFail: onFail.optional(),
  })
  .superRefine((v, ctx) => {
    if (v.steps === undefined) {
      for (const k of ['data', 'onFail'] as const)
        if (v[k] !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: [k],
            message: `${k} belongs to a flow (an entry with steps:)`,
          });
      return;
    }
    if (v.name === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['steps'],
        message: 'a flow needs a name: its steps are reported as NAME.STEP',
      });
    for (const k of [...REQUEST_KEYS, 'headers'])
      if (isGiven((v as Record<string, unknown>)[k]))
        ctx.addIssue({
          code: 'custom',
          path: [k],
          message: `a flow has steps: put ${k} on one of its steps`,
        });
  })
  .transform((v): RequestSpec | FlowSpec => {
    if (v.steps !== undefined)
      return {
        kind: 'flow',
        name: v.name ?? 'flow',
        weight: v.weight,
        steps: v.steps,
        ...(v.data ? { data: v.data } : {}),
        onFail: v.onFail ?? 'stop',
      };
    const { steps: _s, data: _d, onFail: _o, ...rest } = v;
    return { ...rest, method: v.method ?? 'GET', path: v.path ?? '/' };
  });
export type MixEntry = z.output<typeof mixEntry>;

/** True for a flow entry of the mix. */
export function isFlow(e: MixEntry): e is FlowSpec {
  return 'kind' in e && e.kind === 'flow';
}

const loadFields = {
  target: z.string().min(1),
  /** The service whose SLOs score this run; the target's name when absent. */
  service: z.string().min(1).optional(),
  /** The workload mix: requests and flows (`steps:`), picked by weight at each arrival. */
  requests: z
    .array(mixEntry)
    .min(1)
    .default([{ weight: 1, method: 'GET', path: '/', headers: {} }]),
  /**
   * open (default): arrivals follow `pattern` (a flow's sessions start at its arrivals);
   * closed: `users` virtual users each loop the mix (engine http).
   */
  model: z.enum(['open', 'closed']).default('open'),
  /** Open-model load (engine http): phases played one after another. */
  pattern: z.array(phase).default([]),
  /** Closed model: how many virtual users over time (whole numbers), phases one after another. */
  users: z.array(usersPhase).min(1).optional(),
  /** Closed model: a user's pause after each pass through the mix, before the next. */
  think: think.optional(),
  /** Rows fed to templates as `{{data.FIELD}}` (one row per session, or per request outside flows). */
  data: dataSpec.optional(),
  /**
   * Sessions still running when the pattern (or the users) ends may finish their steps for this
   * long; then what is left is not sent (steps waiting) or cancelled (requests in flight).
   */
  gracefulStop: duration({ allowZero: true }).default(30_000),
  /** Closed-model capacity probe (engine autocannon): connection counts stepped up, each held for `each`. */
  capacity: z
    .strictObject({
      connections: z.array(z.number().int().positive()).min(1),
      each: duration(),
      /** Stop stepping up once an objective fails (the knee is found). */
      stopAtKnee: z.boolean().default(true),
    })
    .optional(),
  /** Concurrent connections; arrivals beyond them wait in the backlog. */
  connections: z.number().int().positive().default(64),
  /** Arrivals waiting for a connection beyond this many are dropped (and counted). */
  maxBacklog: z
    .number()
    .int()
    .nonnegative()
    .max(MAX_BACKLOG, `at most ${MAX_BACKLOG.toLocaleString('en')} arrivals may wait (each holds memory)`)
    .default(10_000),
  /** Total deadline of a request, from send to its last byte; later is a timeout failure. */
  timeout: duration().default(5_000),
  /** Total deadline of a streamed answer (`stream: sse`, gRPC server streams): LLM answers take long. */
  streamTimeout: duration().default(120_000),
  arrivals: z.enum(['even', 'poisson']).default('even'),
  /**
   * Before t = 0, send about 2 s worth of the first second's rate (at least one per connection, at
   * most 5,000; at most 3 s) of the mix's first request, unrecorded, so the first second is not
   * measuring cold connections (engines http and grpc). Turn off when that request has side effects.
   */
  warmUp: z.boolean().default(true),
  /** engine grpc: proto, service, method, messages (docs/grpc-and-streaming.md). */
  grpc: grpcSpec.optional(),
};

type LoadFields = z.output<z.ZodObject<typeof loadFields>>;

/** The checks and the closed model's transform every load (a single one, or a stream) gets. */
function loadChecks<T extends LoadFields>(l: T, ctx: z.RefinementCtx): void {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (l.model === 'closed') {
    if (!l.users)
      issue('users', 'required field is missing: model closed needs users: (a pattern of user counts)');
    if (l.pattern.length > 0)
      issue('pattern', 'model closed takes users: (how many virtual users over time), not a rate pattern');
  } else {
    if (l.users) issue('users', 'users: needs model: closed (the open model takes a rate pattern)');
    if (l.think)
      issue('think', 'load.think is the pause between passes of a virtual user: it needs model: closed');
  }
}

/** The plan reads the users' pattern as its phases: `rate` there is a number of users. */
function closedAsPattern<T extends LoadFields>(l: T): T {
  return l.model === 'closed' && l.users ? { ...l, pattern: l.users.map(usersAsPhase) } : l;
}

export const loadSpec = z.strictObject(loadFields).superRefine(loadChecks).transform(closedAsPattern);

/**
 * One of several load streams that run at once on one timeline (`load:` as a list): its own
 * target, engine, model, pattern, connections and mix, scored against its own service's SLOs.
 */
export const streamSpec = z
  .strictObject({
    ...loadFields,
    /** How the stream is named in results, reports and fault times (`at: peak of NAME`). */
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, 'expected a lower-case name of letters, digits and dashes'),
    /** This stream's engine; the scenario's `engine:` when absent. */
    engine: z.enum(ENGINES).optional(),
  })
  .superRefine(loadChecks)
  .transform(closedAsPattern);
export type StreamSpec = z.output<typeof streamSpec>;

/** A phase of user counts as a phase of the plan (rate = users), for fault times and the timeline. */
function usersAsPhase(p: UsersPhase): Phase {
  const name = p.name ?? `${p.kind} users`;
  if (p.kind === 'constant') return { kind: 'constant', name, rate: p.users, duration: p.duration };
  if (p.kind === 'ramp') return { kind: 'ramp', name, from: p.from, to: p.to, duration: p.duration };
  return { kind: 'step', name, levels: p.levels, each: p.each };
}
export type LoadSpec = z.output<typeof loadSpec>;

/** Common fault fields; type-specific parameters sit beside them and are checked by the fault's own schema. */
export const faultCommon = z.looseObject({
  type: z.string().min(1),
  target: z.string().min(1),
  at: z.union([z.string(), z.number()]).default('0s'),
  duration: duration(),
  repeat: z.number().int().positive().optional(),
  every: duration().optional(),
  probability: percent.optional(),
  count: z.number().int().positive().optional(),
  percent: percent.optional(),
  /** How late the apply may land after `at` and still count as planned (default: 10% of the window, at least 1s). */
  tolerance: duration().optional(),
});
export const FAULT_COMMON_KEYS = [
  'type',
  'target',
  'at',
  'duration',
  'repeat',
  'every',
  'probability',
  'count',
  'percent',
  'tolerance',
] as const;

export const abortCondition = z.strictObject({
  when: z.string().min(1),
  for: duration().default(0).or(z.literal(0)),
});

/**
 * `load:` is one load, or a list of named streams. Parsed by the shape it has, so that every
 * problem of the one that was meant is reported with its own location (a union would report one).
 */
const loadOrStreams = z.unknown().transform((v, ctx) => {
  const r = Array.isArray(v)
    ? z.array(streamSpec).min(1, 'expected at least one stream').safeParse(v, { reportInput: true })
    : loadSpec.safeParse(v, { reportInput: true });
  if (!r.success) {
    for (const iss of r.error.issues) ctx.addIssue(iss as unknown as Parameters<typeof ctx.addIssue>[0]);
    return z.NEVER;
  }
  return r.data as LoadSpec | StreamSpec[];
});

const scenarioFields = {
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected a lower-case name of letters, digits and dashes'),
  description: z.string().default(''),
  environment: z.string().min(1).default('demo'),
  engine: z.enum(ENGINES).default('http'),
  seed: z.number().int().nonnegative().optional(),
  faults: z.array(faultCommon).default([]),
  /** SLO file; scenarios/slo.yaml (beside the scenario, else built in) when absent. */
  slo: z.string().min(1).optional(),
  abort: z.array(abortCondition).default([]),
  /** Faults start only once the environment's probes held for `for` (else: inconclusive, no fault applied). */
  steadyState: steadyStateSpec.optional(),
};

/** A stream as the runner sees it: a load with its name and its engine resolved. */
export type NamedStream = LoadSpec & { name: string; engine: (typeof ENGINES)[number] };

export const scenarioSchema = z.strictObject({ ...scenarioFields, load: loadOrStreams }).transform((sc) => {
  // `load` stays the first stream (what single-stream code reads); `streams` holds every stream.
  const list = Array.isArray(sc.load) ? (sc.load as StreamSpec[]) : null;
  const streams: NamedStream[] = list
    ? list.map(({ name, engine, ...l }) => ({ ...l, name, engine: engine ?? sc.engine }))
    : [{ ...(sc.load as LoadSpec), name: 'load', engine: sc.engine }];
  const first = streams[0]!;
  const { name: _n, engine: engine0, ...load } = first;
  return { ...sc, engine: engine0, load: load as LoadSpec, streams, multiStream: list !== null };
});
export type ScenarioFile = z.output<typeof scenarioSchema>;

/** The same format for JSON Schema (editors, tools): `load` is one load or a list of streams. */
export const scenarioJsonSchema = z.strictObject({
  ...scenarioFields,
  load: z.union([loadSpec, z.array(streamSpec).min(1)]),
});

// ---- environment -------------------------------------------------------------------------------

const httpTarget = z.strictObject({
  kind: z.literal('http'),
  url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
  health: z.string().startsWith('/').optional(),
});
const proxyTarget = z.strictObject({
  kind: z.literal('proxy'),
  /** The proxy's name in the fault proxy (Toxiproxy-compatible API). */
  proxy: z.string().min(1),
  api: z.url({ protocol: /^https?$/, error: 'expected the proxy API URL, like http://127.0.0.1:8474' }),
  token: z.string().optional(),
});
/**
 * A process target picks processes by `match` (whole arguments in order, e.g. `my-api --port
 * 8080`; or `/regex/` over the whole command line, anchored at both ends), by `argv` (an exact
 * prefix of the argument list) or by `pidFile`. `expect` is how many must match (1 by default;
 * `any` for one or more); chaoskit's own processes, their ancestors, PID 1, kernel threads and
 * (unless `anyUser`) other users' processes are never picked. See src/targets/process.ts.
 */
const processTarget = z
  .strictObject({
    kind: z.literal('process'),
    match: z
      .string()
      .min(1)
      .refine((m) => m.trim().length > 0, {
        message:
          'match names no argument (it is blank); name the program and its arguments, e.g. "my-api --port 8080"',
      })
      .refine(
        (m) => {
          const re = /^\/(.+)\/([imsu]*)$/.exec(m.trim());
          if (!re) return true;
          try {
            new RegExp(re[1]!, re[2]);
            return true;
          } catch {
            return false;
          }
        },
        { message: 'match /.../ is not a valid regular expression' },
      )
      .optional(),
    argv: z.array(z.string().min(1)).min(1).optional(),
    pidFile: z.string().min(1).optional(),
    expect: z.union([z.number().int().positive(), z.literal('any')]).optional(),
    anyUser: z.boolean().optional(),
    restart: z.string().min(1).optional(),
    health: z.url().optional(),
  })
  .refine((t) => [t.match, t.argv, t.pidFile].filter((x) => x !== undefined).length === 1, {
    message:
      'a process target needs exactly one of match (its arguments, e.g. "my-api --port 8080"), argv or pidFile',
  });
const dockerTarget = z
  .strictObject({
    kind: z.literal('docker'),
    container: z.string().min(1).optional(),
    labels: z.record(z.string(), z.string()).optional(),
    network: z.string().optional(),
    health: z.url().optional(),
  })
  .refine((t) => t.container !== undefined || t.labels !== undefined, {
    message: 'a docker target needs container (a name) or labels',
  });
const netnsTarget = z.strictObject({
  kind: z.literal('netns'),
  namespace: z.string().min(1),
  device: z.string().optional(),
});
const gpuTarget = z.strictObject({
  kind: z.literal('gpu'),
  device: z.number().int().nonnegative().default(0),
});
const hostTarget = z.strictObject({ kind: z.literal('host') });

export const target = z.discriminatedUnion(
  'kind',
  [httpTarget, proxyTarget, processTarget, dockerTarget, netnsTarget, gpuTarget, hostTarget, grpcTarget],
  {
    error: (iss) =>
      iss.code === 'invalid_union' && 'discriminator' in iss
        ? 'expected kind to be one of http, proxy, process, docker, netns, gpu, host, grpc'
        : undefined,
  },
);
export type Target = z.output<typeof target>;
export type TargetKind = Target['kind'];

export const environmentSchema = z.strictObject({
  name: z.string().optional(),
  description: z.string().optional(),
  /** Start the built-in demo system for this environment. */
  demo: z.boolean().default(false),
  targets: z.record(z.string(), target),
  /** Steady-state probes, run every second of a run; results in results.json. */
  probes: z.record(z.string(), probeSpec).default({}),
});
export type EnvironmentFile = z.output<typeof environmentSchema>;
