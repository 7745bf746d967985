/**
 * The engine registry: a literal map from the scenario's `engine:` (or `--engine`) to what the
 * runner needs; valid names derive from it. The runner never branches on the engine.
 */
import { dirname } from 'node:path';
import { InputError } from '../core/errors.ts';
import { K6Load, k6Preflight } from '../k6/engine.ts';
import { assertExportable } from '../k6/export.ts';
import { AutocannonLoad } from '../load/autocannon-engine.ts';
import type { EngineContext, EngineDef } from '../load/engine.ts';
import { compileGrpcCalls } from '../load/grpc-calls.ts';
import { grpcPreflight } from '../load/grpc-run.ts';
import { GrpcLoad } from '../load/grpc-engine.ts';
import { HttpLoad } from '../load/http-engine.ts';
import { compileWorkload } from '../load/workload.ts';
import type { Scenario } from '../input/load.ts';
import { planSegment } from '../scenario/plan.ts';
import { isFlow, type ENGINES, type RequestSpec, type Target } from '../scenario/schema.ts';
import { judgeCapacityStep } from '../slo/capacity.ts';
import { objectivesFor } from '../slo/objectives.ts';

type HttpTarget = Extract<Target, { kind: 'http' }>;
type GrpcTarget = Extract<Target, { kind: 'grpc' }>;

function loadTarget<K extends 'http' | 'grpc'>(s: Scenario, kind: K): Extract<Target, { kind: K }> {
  const name = s.spec.load.target;
  const t = s.environment.spec.targets[name];
  // The loader checked this; a library caller who built a Scenario by hand gets a clear error.
  if (!t || t.kind !== kind) throw new InputError(`load target ${name} is not a ${kind} target`);
  return t as Extract<Target, { kind: K }>;
}

/** The load target answers before anything is started or applied. */
async function httpPreflight(s: Scenario): Promise<void> {
  const t: HttpTarget = loadTarget(s, 'http');
  const probe = new URL(t.health ?? '/', t.url).toString();
  try {
    const r = await fetch(probe, { signal: AbortSignal.timeout(3_000) });
    await r.body?.cancel();
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new InputError(
      `load target ${s.spec.load.target} (${probe}, from ${s.environment.file}) is not reachable at start: ${code}. ` +
        'Start the service, or point the scenario at another environment with --env FILE.',
    );
  }
}

function openModel(ctx: EngineContext) {
  const load = ctx.scenario.spec.load;
  return {
    segment: planSegment(ctx.plan),
    arrivals: ctx.plan.arrivals,
    maxBacklog: load.maxBacklog,
    prng: ctx.prng,
    store: ctx.store,
    clock: ctx.clock,
    ...(ctx.executionSegment ? { executionSegment: ctx.executionSegment } : {}),
  };
}

const http: EngineDef = {
  preflight: ({ scenario }) => httpPreflight(scenario),
  address: (s) => loadTarget(s, 'http').url,
  create(ctx) {
    const s = ctx.scenario;
    const load = s.spec.load;
    return new HttpLoad({
      ...openModel(ctx),
      url: loadTarget(s, 'http').url,
      workload: compileWorkload(load, dirname(s.file)).workload,
      model: load.model,
      ...(load.think ? { think: load.think } : {}),
      gracefulStopMs: load.gracefulStop,
      warn: ctx.log,
      connections: load.connections,
      timeoutMs: load.timeout,
      streamTimeoutMs: load.streamTimeout,
      tracer: ctx.tracer ?? null,
    });
  },
};

const grpc: EngineDef = {
  preflight: ({ scenario }) =>
    grpcPreflight(loadTarget(scenario, 'grpc'), scenario.environment.file, scenario.spec.load.target),
  address: (s) => `grpc://${loadTarget(s, 'grpc').address}`,
  create(ctx) {
    const s = ctx.scenario;
    const load = s.spec.load;
    const spec = load.grpc;
    if (!spec) throw new InputError(`${s.file}: engine grpc needs load.grpc`);
    const t: GrpcTarget = loadTarget(s, 'grpc');
    return new GrpcLoad({
      ...openModel(ctx),
      address: t.address,
      calls: compileGrpcCalls(spec, dirname(s.file)).calls,
      concurrency: load.connections,
      channels: spec.channels,
      deadlineMs: spec.deadline ?? load.timeout,
      streamDeadlineMs: spec.deadline ?? load.streamTimeout,
      tracer: ctx.tracer ?? null,
    });
  },
};

const autocannon: EngineDef = {
  preflight: ({ scenario }) => httpPreflight(scenario),
  address: (s) => loadTarget(s, 'http').url,
  create(ctx) {
    const s = ctx.scenario;
    const cap = s.spec.load.capacity;
    if (!cap) throw new InputError(`${s.file}: engine autocannon needs load.capacity`);
    const so = objectivesFor(s.slo, s.spec.load.service ?? s.spec.load.target);
    return new AutocannonLoad({
      url: loadTarget(s, 'http').url,
      requests: s.spec.load.requests.filter((r): r is RequestSpec => !isFlow(r)),
      steps: cap.connections.map((c) => ({ connections: c, durationMs: cap.each * ctx.plan.timeScale })),
      timeoutMs: s.spec.load.timeout,
      store: ctx.store,
      clock: ctx.clock,
      judge: (m) => judgeCapacityStep(so, m),
      stopAtKnee: cap.stopAtKnee,
      log: ctx.log,
    });
  },
};

const k6: EngineDef = {
  preflight: async ({ scenario, env }) => {
    assertExportable(scenario); // what k6 would run differently is refused before anything starts
    k6Preflight(env);
    await httpPreflight(scenario);
  },
  address: (s) => loadTarget(s, 'http').url,
  create: (ctx) =>
    new K6Load({
      bin: k6Preflight(ctx.env),
      scenario: ctx.scenario,
      plan: ctx.plan,
      baseUrl: loadTarget(ctx.scenario, 'http').url,
      store: ctx.store,
      clock: ctx.clock,
      log: ctx.log,
    }),
};

export type EngineName = (typeof ENGINES)[number];
/** Typed against the scenario format's list: an engine missing here (or extra) does not compile. */
export const engines: Readonly<Record<EngineName, EngineDef>> = { http, grpc, autocannon, k6 };
