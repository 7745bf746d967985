/**
 * Loading = read YAML → validate with zod → cross-check against the environment → plan.
 * Everything is checked before anything runs; every problem names file, line, column and field.
 *
 * The loader sits above what it checks with: the scenario format (src/scenario), the SLO file
 * (src/slo), the engines' own checks that compile the workload and the gRPC calls
 * (src/load/checks.ts) and the fault registry (faults/). So it has a directory of its own, not
 * src/scenario, which the engines stand on.
 */
import { dirname } from 'node:path';
import { z } from 'zod';
import { faultDef, faultTypes } from '../../faults/index.ts';
import { InputError } from '../core/errors.ts';
import { engineTargetKind, streamingProblems } from '../load/checks.ts';
import { stepLevel } from '../scenario/patterns.ts';
import { loadSlo, type SloConfig } from '../slo/load.ts';
import { parseStopCondition } from '../slo/stop.ts';
import { formatDuration, parseDurationMs } from '../core/units.ts';
import { AT_HINT, parseAt } from '../scenario/at.ts';
import { resolveEnvironmentPath, resolveScenarioPath, resolveSloPath } from '../core/paths.ts';
import { plan as makePlan, type RunPlan } from '../scenario/plan.ts';
import {
  environmentSchema,
  FAULT_COMMON_KEYS,
  MAX_RATE_WITHOUT_FORCE,
  scenarioSchema,
  type EnvironmentFile,
  type LoadSpec,
  type NamedStream,
  type ScenarioFile,
} from '../scenario/schema.ts';
import {
  failWith,
  parseYamlFile,
  problemLine,
  zodProblems,
  type Problem,
  type SourceDoc,
} from '../core/yaml.ts';

// SLO loading lives in src/slo/load.ts; re-exported so callers keep importing it from here.
export { loadSlo };
export type { OpenSloDoc, SloConfig } from '../slo/load.ts';

export interface Environment {
  file: string;
  spec: EnvironmentFile;
}
export interface Scenario {
  file: string;
  spec: ScenarioFile;
  environment: Environment;
  slo: SloConfig;
  source: SourceDoc;
  /** Allowed but probably not meant (`chaos validate` prints them; a run records them). */
  warnings: string[];
}

export interface LoadOptions {
  /** Overrides the scenario's `environment:` (the `--env FILE` flag). */
  envFile?: string;
  /** Overrides the scenario's `slo:` (the `--slo FILE` flag). */
  sloFile?: string;
  /** Variables for `${VAR}` interpolation in environment files. */
  env?: NodeJS.ProcessEnv;
}

function parseWith<S extends z.ZodType>(src: SourceDoc, schema: S, label: string): z.output<S> {
  const r = schema.safeParse(src.value, { reportInput: true });
  if (!r.success) failWith(src, label, zodProblems(r.error));
  return r.data;
}

export function loadEnvironment(file: string, env: NodeJS.ProcessEnv = process.env): Environment {
  const src = parseYamlFile(file, 'environment file', env);
  return { file, spec: parseWith(src, environmentSchema, 'environment file') };
}

/** Reads and validates a scenario with its environment and SLO file. Throws InputError on any problem. */
export function loadScenario(nameOrPath: string, opts: LoadOptions = {}): Scenario {
  const file = resolveScenarioPath(nameOrPath);
  const source = parseYamlFile(file, 'scenario');
  const spec = parseWith(source, scenarioSchema, 'scenario');
  const dir = dirname(file);
  const envPath = opts.envFile ?? resolveEnvironmentPath(spec.environment, dir);
  let environment: Environment;
  try {
    environment = loadEnvironment(envPath, opts.env ?? process.env);
  } catch (err) {
    if (err instanceof InputError && err.message.includes('no such file') && !opts.envFile) {
      failWith(source, 'scenario', [
        {
          path: ['environment'],
          message: `environment ${JSON.stringify(spec.environment)} not found (looked for ${envPath})`,
        },
      ]);
    }
    throw err;
  }
  const slo = loadSlo(opts.sloFile ?? resolveSloPath(spec.slo ?? 'slo.yaml', dir));
  const sloExplicit = opts.sloFile !== undefined || spec.slo !== undefined;
  const cap = spec.load.capacity;
  if (spec.engine === 'autocannon' && spec.load.pattern.length > 0) {
    failWith(source, 'scenario', [
      {
        path: ['load', 'pattern'],
        message: 'engine autocannon is closed-model: use load.capacity instead of a rate pattern',
      },
    ]);
  }
  if (spec.engine === 'autocannon' && cap) {
    // The closed model has no rate; its steps become the plan's phases (for the timeline and fault times).
    spec.load.pattern = cap.connections.map((c) => ({
      kind: 'constant' as const,
      name: `${c}-connections`,
      rate: 0,
      duration: cap.each,
    }));
  }
  const scenario: Scenario = { file, spec, environment, slo, source, warnings: [] };
  const problems = crossCheck(scenario);
  const services = spec.streams.map((st) => st.service ?? st.target);
  const known = [...Object.keys(slo.services), ...slo.openslo.map((d) => d.spec.service)];
  spec.streams.forEach((st, i) => {
    const service = services[i]!;
    if (sloExplicit && problems.length === 0 && !known.includes(service)) {
      problems.push({
        path: spec.multiStream
          ? ['load', i, ...(st.service ? ['service'] : [])]
          : spec.slo
            ? ['slo']
            : ['load'],
        message: `the SLO file ${slo.file} has no objectives for service ${JSON.stringify(service)}, the one ${spec.multiStream ? `stream ${st.name}` : 'this scenario'} loads (it has: ${known.join(', ') || 'none'}); set ${spec.multiStream ? `load[${i}].service` : 'load.service'} or add the service`,
      });
    }
  });
  for (const d of slo.openslo) {
    if (sloExplicit && !services.includes(d.spec.service) && problems.length === 0) {
      problems.push({
        path: [spec.slo ? 'slo' : 'load'],
        message: `OpenSLO ${d.metadata.name} in ${slo.file} names service ${JSON.stringify(d.spec.service)}, which this scenario does not load (it loads ${services.map((x) => JSON.stringify(x)).join(', ')})`,
      });
    }
  }
  if (problems.length > 0) failWith(source, 'scenario', problems);
  scenario.warnings.push(...deadlineWarnings(scenario));
  return scenario;
}

/**
 * A deadline shorter than what a request is bound to take is allowed (a timeout is an outcome
 * worth measuring) but rarely meant: a delay fault at least as long as the deadline fails every
 * request it touches as a timeout, so its answers are never seen.
 */
function deadlineWarnings(s: Scenario): string[] {
  const out: string[] = [];
  const load = s.spec.load;
  const deadline = s.spec.engine === 'grpc' ? (load.grpc?.deadline ?? load.timeout) : load.timeout;
  s.spec.faults.forEach((f, i) => {
    const delay = typeof f.delay === 'string' ? parseDurationMs(f.delay) : undefined;
    const jitter = typeof f.jitter === 'string' ? (parseDurationMs(f.jitter) ?? 0) : 0;
    if (delay === undefined || delay + jitter < deadline) return;
    const loc = problemLine(s.source, { path: ['faults', i, 'delay'], message: '' }).replace(/: $/, '');
    out.push(
      `${loc}: the ${f.type} fault's delay (${formatDuration(delay + jitter)}) is at least load.timeout (${formatDuration(deadline)}): every request it slows fails as a timeout, so its answers are never measured; raise load.timeout if you mean to see them`,
    );
  });
  return out;
}

/**
 * Several load streams run on chaoskit's own engines in one process only: what takes one load
 * (k6, scale-out, the Kubernetes export) refuses a multi-stream scenario with exit 2, naming it.
 */
export const SINGLE_STREAM_ONLY = (what: string) =>
  `several load streams (load: as a list) are not built for ${what} yet: it takes a scenario with one load; run the streams with chaos run on chaoskit's own engines, or split them into one scenario each`;

export function assertSingleStream(s: Pick<Scenario, 'file' | 'spec'>, what: string): void {
  if (s.spec.multiStream) throw new InputError(`${s.file}: ${SINGLE_STREAM_ONLY(what)}`);
}

/** The scenario as one of its streams sees it: that stream as its load, with its own engine. */
export function streamScenario<T extends Omit<Scenario, 'slo'>>(s: T, stream: NamedStream): T {
  const { name: _name, engine, ...load } = stream;
  return { ...s, spec: { ...s.spec, engine, load: load as LoadSpec, streams: [stream], multiStream: false } };
}

/** Checks of one load (the scenario's, or one stream's) that need the environment. */
function loadProblems(s: Omit<Scenario, 'slo'>, list: string): Problem[] {
  const problems: Problem[] = [];
  const targets = s.environment.spec.targets;
  const load = s.spec.load;
  if (s.spec.engine === 'http' && load.pattern.length === 0) {
    problems.push({
      path: ['load', 'pattern'],
      message: 'required field is missing: the http engine needs at least one phase',
    });
  }
  if (s.spec.engine === 'autocannon') {
    if (!load.capacity)
      problems.push({
        path: ['load'],
        message: 'engine autocannon needs load.capacity: { connections: [10, 20, 40], each: 10s }',
      });
  } else if (load.capacity) {
    problems.push({
      path: ['load', 'capacity'],
      message: 'load.capacity needs engine: autocannon (closed model)',
    });
  }
  const loadTarget = targets[load.target];
  if (!loadTarget) {
    problems.push({
      path: ['load', 'target'],
      message: `target ${JSON.stringify(load.target)} is not in the environment ${s.environment.file} (it has: ${list})`,
    });
  } else if (loadTarget.kind !== engineTargetKind(s.spec.engine)) {
    const kind = engineTargetKind(s.spec.engine);
    problems.push({
      path: ['load', 'target'],
      message: `the ${s.spec.engine} engine needs ${kind === 'http' ? 'an http' : 'a grpc'} target; ${load.target} is a ${loadTarget.kind} target`,
    });
  }
  problems.push(...streamingProblems(s.spec, s.environment.spec, s.file));
  load.pattern.forEach((p, i) => {
    if (p.kind !== 'step') return;
    p.levels.forEach((l, j) => {
      if (Number.isNaN(stepLevel(l, p.peak))) {
        const why =
          typeof l === 'string' && /%\s*$/.test(l)
            ? 'a percentage level needs peak: on the phase'
            : `expected a rate or a percentage like 25%, got ${JSON.stringify(l)}`;
        problems.push({ path: ['load', 'pattern', i, 'levels', j], message: why });
      }
    });
  });
  return problems;
}

/** Checks that need the environment and the fault registry. */
function crossCheck(s: Omit<Scenario, 'slo'>): Problem[] {
  const problems: Problem[] = [];
  const targets = s.environment.spec.targets;
  const names = Object.keys(targets);
  const list = names.length ? names.join(', ') : '(none)';
  // Each stream is checked as the load of a scenario of its own; its problems are located under
  // `load[i]` when `load:` is a list.
  const seen = new Map<string, number>();
  s.spec.streams.forEach((stream, i) => {
    const at = (p: Problem): Problem =>
      s.spec.multiStream && p.path[0] === 'load' ? { ...p, path: ['load', i, ...p.path.slice(1)] } : p;
    if (s.spec.multiStream) {
      const before = seen.get(stream.name);
      if (before !== undefined)
        problems.push({
          path: ['load', i, 'name'],
          message: `two streams are named ${JSON.stringify(stream.name)} (load[${before}] and load[${i}]): names must be unique`,
        });
      seen.set(stream.name, i);
    }
    for (const p of loadProblems(streamScenario(s, stream), list)) problems.push(at(p));
  });
  if (s.spec.multiStream) {
    if (s.spec.streams.some((x) => x.engine === 'autocannon' || x.engine === 'k6'))
      problems.push({
        path: ['load'],
        message:
          'several streams run on the open-model engines (http, grpc): a capacity probe (autocannon) or a k6 engine runs alone',
      });
  }
  s.spec.faults.forEach((f, i) => {
    const at = ['faults', i];
    const def = faultDef(f.type);
    if (!def) {
      problems.push({
        path: [...at, 'type'],
        message: `unknown fault type ${JSON.stringify(f.type)} (known: ${faultTypes.join(', ')})`,
      });
      return;
    }
    const t = targets[f.target];
    if (!t) {
      problems.push({
        path: [...at, 'target'],
        message: `target ${JSON.stringify(f.target)} is not in the environment ${s.environment.file} (it has: ${list}); the environment is the allowlist of what may be touched`,
      });
    } else if (!def.on[t.kind]) {
      problems.push({
        path: [...at, 'target'],
        message: `fault ${f.type} cannot act on a ${t.kind} target (${f.target}); it works on: ${Object.keys(def.on).join(', ')}`,
      });
    }
    if (!parseAt(f.at))
      problems.push({ path: [...at, 'at'], message: `expected ${AT_HINT}, got ${JSON.stringify(f.at)}` });
    const params = Object.fromEntries(
      Object.entries(f).filter(([k]) => !(FAULT_COMMON_KEYS as readonly string[]).includes(k)),
    );
    const r = def.params.safeParse(params, { reportInput: true });
    if (!r.success) problems.push(...zodProblems(r.error, at));
  });
  s.spec.abort.forEach((a, i) => {
    const c = parseStopCondition(a.when, a.for);
    if (typeof c === 'string') problems.push({ path: ['abort', i, 'when'], message: c });
  });
  if (problems.length > 0) return problems;

  const { plan, problems: planProblems } = makePlan(s.spec, { seed: 0 });
  problems.push(...planProblems);
  conflicts(plan, problems);
  return problems;
}

/** Two faults of one type on one target at the same time would fight over the same knob. */
function conflicts(plan: RunPlan, problems: Problem[]): void {
  const fs = plan.faults;
  for (let a = 0; a < fs.length; a++) {
    for (let b = a + 1; b < fs.length; b++) {
      const x = fs[a]!,
        y = fs[b]!;
      if (x.index === y.index || x.target !== y.target || x.type !== y.type) continue;
      if (x.startMs < y.endMs && y.startMs < x.endMs) {
        problems.push({
          path: ['faults', y.index],
          message: `overlaps faults[${x.index}] (both ${x.type} on ${x.target} between ${x.startMs / 1000}s and ${x.endMs / 1000}s); they would conflict on one target`,
        });
        return;
      }
    }
  }
}

export interface PlanCheckOptions {
  seed: number;
  timeScale: number;
  force: boolean;
}

/** Plans a loaded scenario, applying run-time checks (the rate cap). */
export function planScenario(s: Scenario, o: PlanCheckOptions): RunPlan {
  const { plan, problems } = makePlan(s.spec, { seed: o.seed, timeScale: o.timeScale });
  if (!o.force) {
    const each = plan.streams
      ? plan.streams.map((st, i) => ({ phases: st.phases, base: ['load', i, 'pattern'] }))
      : [{ phases: plan.phases, base: ['load', 'pattern'] }];
    for (const { phases, base } of each)
      phases.forEach((p, i) => {
        if (p.peakRate > MAX_RATE_WITHOUT_FORCE) {
          problems.push({
            path: [...base, i],
            message: `peak rate ${Math.round(p.peakRate)}/s is above the ${MAX_RATE_WITHOUT_FORCE}/s safety cap; pass --force if you mean it`,
          });
        }
      });
  }
  if (plan.durationMs < MIN_SCALED_LOAD_MS && problems.length === 0) {
    problems.push({
      path: ['load', 'pattern'],
      message: `at time scale ${o.timeScale} the load would last ${plan.durationMs}ms; at least ${MIN_SCALED_LOAD_MS / 1000}s is needed to measure anything (use a larger --time-scale)`,
    });
  }
  if (problems.length > 0) failWith(s.source, 'scenario', problems);
  return plan;
}

/** A load shorter than this measures nothing worth scoring. */
export const MIN_SCALED_LOAD_MS = 1000;
