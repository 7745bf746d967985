/**
 * The workload mix compiled once at load time: every request of the mix and every request step of
 * every flow becomes a *profile* (an index the scheduler and the metrics use; a step's profile is
 * named `FLOW.STEP`), and every flow becomes a small program the session interpreter runs
 * (src/load/sessions.ts):
 *
 *   steps: [login (capture token), loop ×uniform(3,6) [ask, think 2s], logout]
 *     ──> [req login] [loop →5] [req ask] [think] [end-loop →2] [req logout]
 *
 * Every problem (a capture kind, a JSON path, a regex, a template naming a value no earlier step
 * captures, a data file missing, empty or ragged) is reported with its field path before anything runs.
 */
import { isAbsolute, resolve } from 'node:path';
import { isFlow, type FlowStep, type LoadSpec, type MixEntry, type RequestStep } from '../scenario/schema.ts';
import type { Problem } from '../core/yaml.ts';
import type { DataSpec, RepeatCount, ThinkDist } from '../scenario/flow-schema.ts';
import { readDataFile, type DataFile } from './feeder.ts';
import { compileRequest, type CompiledRequest, type RequestLike } from './http-bodies.ts';
import type { TemplateScope } from './templates.ts';

export interface Profile {
  /** `NAME` of a mix request (or `METHOD PATH`), `FLOW.STEP` of a flow step. */
  name: string;
  flow: string | null;
  step: string | null;
  request: CompiledRequest;
}

export type Instr =
  | { op: 'req'; profile: number; onFail: 'stop' | 'continue' }
  | { op: 'think'; think: ThinkDist }
  | { op: 'loop'; repeat: RepeatCount; end: number }
  | { op: 'end-loop'; start: number };

export interface CompiledFlow {
  name: string;
  program: Instr[];
  /** The data this flow's sessions draw a row from (index into Workload.data), or -1. */
  data: number;
  /** Profiles of its request steps, in order of first appearance. */
  steps: number[];
}

export interface MixItem {
  weight: number;
  /** A request's profile, or -1 for a flow. */
  profile: number;
  /** A flow's index, or -1 for a request. */
  flow: number;
}

export interface DataSource {
  spec: DataSpec;
  file: DataFile;
}

export interface Workload {
  profiles: Profile[];
  flows: CompiledFlow[];
  mix: MixItem[];
  data: DataSource[];
  /** Index into data for requests of the mix (load.data), or -1. */
  requestData: number;
}

type Path = (string | number)[];

/** Compiles load.requests (and load.data) against the scenario's directory. */
export function compileWorkload(
  load: Pick<LoadSpec, 'requests' | 'data'>,
  dir: string,
): { workload: Workload; problems: Problem[] } {
  const problems: Problem[] = [];
  const w: Workload = { profiles: [], flows: [], mix: [], data: [], requestData: -1 };
  const dataOf = (spec: DataSpec | undefined, at: Path): { index: number; scope: TemplateScope['data'] } => {
    if (!spec) return { index: -1, scope: null };
    const file = isAbsolute(spec.file) ? spec.file : resolve(dir, spec.file);
    const existing = w.data.findIndex((d) => d.file.file === file && d.spec.order === spec.order);
    if (existing >= 0 && spec.order !== 'unique')
      return { index: existing, scope: new Set(w.data[existing]!.file.fields) };
    const f = readDataFile(file);
    if (typeof f === 'string') {
      problems.push({ path: [...at, 'file'], message: f });
      return { index: -1, scope: 'unchecked' };
    }
    w.data.push({ spec, file: f });
    return { index: w.data.length - 1, scope: new Set(f.fields) };
  };
  const loadData = dataOf(load.data, ['load', 'data']);
  w.requestData = loadData.index;

  load.requests.forEach((entry: MixEntry, i) => {
    const at: Path = ['load', 'requests', i];
    if (!isFlow(entry)) {
      const scope: TemplateScope = {
        data: loadData.scope,
        ...(load.data ? { dataFile: load.data.file } : {}),
      };
      const c = compileRequest(entry, at, dir, scope, problems);
      if (!c) return;
      w.profiles.push({
        name: entry.name ?? `${entry.method} ${entry.path}`,
        flow: null,
        step: null,
        request: c,
      });
      w.mix.push({ weight: entry.weight, profile: w.profiles.length - 1, flow: -1 });
      return;
    }
    const data = entry.data ? dataOf(entry.data, [...at, 'data']) : loadData;
    const dataFile = entry.data?.file ?? load.data?.file;
    const flow: CompiledFlow = { name: entry.name, program: [], data: data.index, steps: [] };
    const vars = new Set<string>();
    let stepNo = 0;
    const addRequest = (s: RequestStep, sat: Path) => {
      stepNo++;
      const scope: TemplateScope = { vars, data: data.scope, ...(dataFile ? { dataFile } : {}) };
      const c = compileRequest(s as RequestLike, sat, dir, scope, problems);
      for (const name of Object.keys(s.capture)) vars.add(name);
      if (!c) return;
      const step = s.name ?? `step${stepNo}`;
      const name = `${entry.name}.${step}`;
      // Two steps of one name are two profiles that the results merge under that name.
      w.profiles.push({ name, flow: entry.name, step, request: c });
      const profile = w.profiles.length - 1;
      flow.steps.push(profile);
      const onFail = s.onFail ?? entry.onFail;
      if (s.repeat) {
        const start = flow.program.length;
        flow.program.push({ op: 'loop', repeat: s.repeat, end: -1 });
        flow.program.push({ op: 'req', profile, onFail });
        flow.program.push({ op: 'end-loop', start: start + 1 });
        (flow.program[start] as Extract<Instr, { op: 'loop' }>).end = flow.program.length - 1;
      } else flow.program.push({ op: 'req', profile, onFail });
    };
    const addStep = (s: FlowStep, sat: Path) => {
      if (s.kind === 'think') flow.program.push({ op: 'think', think: s.think });
      else if (s.kind === 'request') addRequest(s, sat);
      else {
        const start = flow.program.length;
        flow.program.push({ op: 'loop', repeat: s.repeat, end: -1 });
        s.steps.forEach((x, k) => addStep(x, [...sat, 'loop', 'steps', k]));
        flow.program.push({ op: 'end-loop', start: start + 1 });
        (flow.program[start] as Extract<Instr, { op: 'loop' }>).end = flow.program.length - 1;
      }
    };
    entry.steps.forEach((s, j) => addStep(s, [...at, 'steps', j]));
    if (!flow.program.some((x) => x.op === 'req') && problems.length === 0)
      problems.push({ path: [...at, 'steps'], message: 'a flow needs at least one request step' });
    w.flows.push(flow);
    w.mix.push({ weight: entry.weight, profile: -1, flow: w.flows.length - 1 });
  });
  return { workload: w, problems };
}

/** True when the mix has a flow (sessions are run and reported). */
export const hasFlows = (w: Workload): boolean => w.flows.length > 0;
