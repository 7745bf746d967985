/**
 * `chaos export k6`: a TypeScript k6 script that reproduces a scenario's load (stages, request
 * mix, flows with captures, checks and think times; virtual users for the closed model) with
 * thresholds derived from its SLOs in k6's grammar. k6 itself is AGPL: chaoskit never bundles,
 * downloads or builds it; the script type-checks against the MIT-licensed @types/k6.
 *
 * What k6 cannot do as chaoskit does is refused with exit 2, naming it (k6Refusals): never a
 * script that does something else.
 */
import { dirname } from 'node:path';
import { InputError } from '../core/errors.ts';
import { compileWorkload, type Workload } from '../load/workload.ts';
import { SINGLE_STREAM_ONLY, type Scenario } from '../input/load.ts';
import type { RunPlan } from '../scenario/plan.ts';
import { objectivesFor } from '../slo/objectives.ts';
import { entriesCode, thinkExpr, type ScriptContext } from './script-flows.ts';
import { k6Duration, stagesOf } from './stages.ts';

/** Thresholds k6 can express; windowed ones (`over 10s`) cannot be: k6 checks the whole run (k6#1737). */
export function k6Thresholds(s: Scenario): { thresholds: Record<string, string[]>; skipped: string[] } {
  const so = objectivesFor(s.slo, s.spec.load.service ?? s.spec.load.target);
  const steps = new Set(profileNames(s));
  const thresholds: Record<string, string[]> = {};
  const add = (metric: string, t: string) =>
    (thresholds[metric] ??= []).includes(t) || thresholds[metric]!.push(t);
  const skipped: string[] = [];
  for (const o of so.objectives) {
    // A step or request profile is a k6 tag (`name`); a flow's sessions have no k6 metric.
    if (o.profile !== undefined && !steps.has(o.profile)) {
      skipped.push(o.name);
      continue;
    }
    const tag = o.profile !== undefined ? `{name:${o.profile}}` : '';
    if (o.kind === 'availability') add(`http_req_failed${tag}`, `rate<${+(1 - o.min).toFixed(6)}`);
    else if (o.kind === 'error-rate') add(`http_req_failed${tag}`, `rate<=${o.max}`);
    else if (o.kind === 'latency') {
      const stat = typeof o.stat === 'number' ? `p(${o.stat})` : o.stat;
      add(`http_req_duration${tag}`, `${stat}<=${o.maxMs}`);
    } else if (o.kind === 'threshold' && !o.threshold.windowMs) {
      const t = o.threshold;
      const stat = t.stat.kind === 'percentile' ? `p(${t.stat.p})` : t.stat.kind;
      add(
        `${t.stat.kind === 'rate' ? 'http_req_failed' : 'http_req_duration'}${tag}`,
        `${stat}${t.op}${t.value}`,
      );
    } else skipped.push(o.name);
  }
  return { thresholds, skipped };
}

function profileNames(s: Scenario): string[] {
  return compileWorkload(s.spec.load, dirname(s.file)).workload.profiles.map((p) => p.name);
}

/** Rows of a data file embedded in the script, at most. */
const MAX_EMBEDDED_ROWS = 10_000;

/** What k6 cannot run the way chaoskit does, each named; empty when the scenario exports faithfully. */
export function k6Refusals(s: Scenario): string[] {
  const out: string[] = [];
  if (s.spec.multiStream) out.push(SINGLE_STREAM_ONLY('k6 (chaos export k6, --engine k6)'));
  const load = s.spec.load;
  const target = s.environment.spec.targets[load.target];
  if (s.spec.engine === 'grpc' || target?.kind === 'grpc')
    out.push(
      `the load target ${load.target} is a gRPC target (engine grpc): k6 scripts for gRPC (k6/net/grpc) work differently, and chaos export k6 writes HTTP load only`,
    );
  if (s.spec.engine === 'autocannon' || load.capacity)
    out.push(
      'load.capacity (engine autocannon: connection counts held, the knee found on the way): no k6 executor measures the same',
    );
  if (load.arrivals === 'poisson')
    out.push(
      "arrivals: poisson: k6's arrival-rate executors start iterations evenly, not as a Poisson process",
    );
  if (out.length > 0) return out;
  const { workload } = compileWorkload(load, dirname(s.file));
  for (const p of workload.profiles) {
    const r = p.request;
    const ts = [
      r.path,
      r.bodyT,
      ...r.dynHeaders.map((h) => h.value),
      ...(r.multipart?.parts.map((x) => x.value) ?? []),
    ];
    for (const t of ts)
      for (const part of t?.parts ?? [])
        if (typeof part !== 'string' && part.name === 'seq' && !part.ref)
          out.push(
            `{{seq}} in ${p.name}: it counts across the whole run, and k6's virtual users share no counter`,
          );
  }
  workload.data.forEach((d) => {
    if (d.spec.order === 'unique' && d.spec.onExhausted === 'stop')
      out.push(
        `data ${d.spec.file} (order unique, onExhausted stop): k6 cannot stop starting iterations when the rows run out`,
      );
    if (d.file.rows.length > MAX_EMBEDDED_ROWS)
      out.push(
        `data ${d.spec.file}: ${d.file.rows.length} rows; the script embeds at most ${MAX_EMBEDDED_ROWS}`,
      );
  });
  return [...new Set(out)];
}

/** Throws InputError (exit 2) naming every construct k6 cannot run as chaoskit does. */
export function assertExportable(s: Scenario): void {
  const r = k6Refusals(s);
  if (r.length > 0)
    throw new InputError(
      `${s.file}: cannot export to k6 without changing what the load does:\n  ${r.join('\n  ')}\n(run it with chaoskit's own engine instead)`,
    );
}

const HELPERS = `function randInt(lo: number, hi: number): number {
  return lo + Math.floor(Math.random() * (hi - lo + 1));
}
function pick(xs: string[]): string {
  return xs[Math.floor(Math.random() * xs.length)];
}
function randString(n: number): string {
  const a = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let s = '';
  for (let i = 0; i < n; i++) s += a[Math.floor(Math.random() * a.length)];
  return s;
}
function uuid(): string {
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
    const r = Math.floor(Math.random() * 16);
    return (c === 'x' ? r : 8 + (r % 4)).toString(16);
  });
}
function bodyText(r: RefinedResponse<ResponseType>): string {
  return typeof r.body === 'string' ? r.body : '';
}
function header(r: RefinedResponse<ResponseType>, name: string): string | undefined {
  for (const k of Object.keys(r.headers)) if (k.toLowerCase() === name) return r.headers[k];
  return undefined;
}
function jsonValue(r: RefinedResponse<ResponseType>, selector: string): unknown {
  try {
    return r.json(selector);
  } catch {
    return undefined;
  }
}
function jsonText(r: RefinedResponse<ResponseType>, selector: string): string | undefined {
  const v = jsonValue(r, selector);
  return v === undefined || v === null ? undefined : typeof v === 'string' ? v : JSON.stringify(v);
}
function firstMatch(r: RefinedResponse<ResponseType>, re: RegExp): string | undefined {
  const m = re.exec(bodyText(r));
  return m ? (m[1] ?? m[0]) : undefined;
}
function setVar(vars: Record<string, string>, name: string, v: string | undefined): void {
  if (v === undefined) delete vars[name];
  else vars[name] = v;
}
function has(vars: Record<string, string>, names: string[]): boolean {
  return names.every((n) => vars[n] !== undefined);
}
function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}`;

export function exportK6(s: Scenario, plan: RunPlan): string {
  assertExportable(s);
  const load = s.spec.load;
  const target = s.environment.spec.targets[load.target];
  const baseUrl = target?.kind === 'http' ? target.url : 'http://127.0.0.1:8080';
  const { startRate, stages } = stagesOf(plan);
  const { thresholds, skipped } = k6Thresholds(s);
  const vus = load.connections;
  const workload: Workload = compileWorkload(load, dirname(s.file)).workload;
  const ctx: ScriptContext = {
    workload,
    timeout: k6Duration(load.timeout),
    streamTimeout: k6Duration(load.streamTimeout),
    files: new Map(),
    scenarioDir: dirname(s.file),
  };
  const rowExpr = (d: number) => {
    const spec = workload.data[d]!.spec;
    return spec.order === 'random'
      ? `DATA_${d}[Math.floor(Math.random() * DATA_${d}.length)]`
      : `DATA_${d}[exec.scenario.iterationInTest % DATA_${d}.length]`;
  };
  const entries = entriesCode(ctx, rowExpr);
  const closed = load.model === 'closed';
  const j = (v: unknown, indent = 0) => JSON.stringify(v, null, 2).replace(/\n/g, `\n${' '.repeat(indent)}`);
  const stageList = j(
    stages.map((st) => ({ target: st.target, duration: k6Duration(st.durationMs) })),
    6,
  );
  const executor = closed
    ? `executor: 'ramping-vus',
      startVUs: ${startRate},
      stages: ${stageList},
      gracefulRampDown: '${k6Duration(load.gracefulStop)}',`
    : `executor: 'ramping-arrival-rate',
      startRate: ${startRate},
      timeUnit: '1s',
      preAllocatedVUs: ${vus},
      maxVUs: ${vus * 4},
      stages: ${stageList},`;
  const data = workload.data
    .map((d, i) => `const DATA_${i}: Record<string, string>[] = ${JSON.stringify(d.file.rows)};`)
    .join('\n');
  const files = [...ctx.files]
    .map(
      ([file, c]) =>
        `const ${c}: ArrayBuffer = open(FILES_DIR + ${JSON.stringify(`/${file.slice(ctx.scenarioDir.length + 1)}`)}, 'b');`,
    )
    .join('\n');
  const weights = workload.mix.map((m) => m.weight);
  const pass = closed && load.think ? `\n  sleep(${thinkExpr(load.think)});` : '';
  return `// Generated by chaoskit ${'`'}chaos export k6 ${s.spec.name}${'`'}: the scenario's load as a k6 script.
// Faults are not part of it: run them with chaoskit (or \`chaos run --engine k6\`).
// k6 is AGPL-licensed and not shipped with chaoskit; install it yourself: https://k6.io
// Run: k6 run -e BASE_URL=${baseUrl} ${s.spec.name}.k6.ts
// ${closed ? 'Closed model: each virtual user loops the mix (ramping-vus).' : 'Open model: each iteration is one arrival of the pattern: a request, or a whole flow session.'}
// Flow steps are requests tagged with their profile name (FLOW.STEP); a failed step or check ends
// its session as chaoskit does, and a step that needs a value no capture found is not sent.
// Streamed (SSE) answers are measured whole: k6 has no time to first event.
import http from 'k6/http';
import type { RefinedResponse, ResponseType } from 'k6/http';
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import type { Options } from 'k6/options';
${skipped.length ? `// Not expressible in k6 (windowed, derived or per-session objectives): ${skipped.join('; ')}\n` : ''}
export const options: Options = {
  scenarios: {
    ${s.spec.name.replace(/-/g, '_')}: {
      ${executor}
    },
  },
  thresholds: ${j(thresholds, 2)},
};

const BASE_URL: string = __ENV.BASE_URL || ${JSON.stringify(baseUrl)};
const FILES_DIR: string = __ENV.FILES_DIR || ${JSON.stringify(ctx.scenarioDir)};
void FILES_DIR;
${data}
${files}

${HELPERS}

${entries}

const WEIGHTS: number[] = ${JSON.stringify(weights)};
const ENTRIES: (() => void)[] = [${workload.mix.map((_, i) => `entry${i}`).join(', ')}];
const TOTAL_WEIGHT = WEIGHTS.reduce((n, w) => n + w, 0);

export default function (): void {
  let x = Math.random() * TOTAL_WEIGHT;
  let i = 0;
  while (i < WEIGHTS.length - 1 && x >= WEIGHTS[i]) x -= WEIGHTS[i++];
  ENTRIES[i]();${pass}
}
`;
}
