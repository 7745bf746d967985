/**
 * The workload mix as k6 code: a function per flow (steps in order, captures through k6's JSON
 * selectors, headers and regexes, checks with `check()`, think times with `sleep()`, loops as
 * `for`), a function per request, and templates as JS template literals. What k6 cannot do the
 * way chaoskit does is refused by name (src/k6/export.ts), never exported as something else.
 */
import type { Capture, CompiledExpect } from '../load/captures.ts';
import type { ThinkDist } from '../scenario/flow-schema.ts';
import type { CompiledRequest } from '../load/http-bodies.ts';
import type { Template } from '../load/templates.ts';
import type { Instr, Workload } from '../load/workload.ts';

const q = (s: string) => JSON.stringify(s);

/** A template as a JS expression (a template literal); `vars` and `row` are in scope. */
export function templateExpr(t: Template): string {
  if (t.isStatic) return q(t.source);
  let out = '`';
  for (const p of t.parts) {
    if (typeof p === 'string') out += p.replace(/[\\`$]/g, (c) => `\\${c}`);
    else out += `\${${tagExpr(p)}}`;
  }
  return `${out}\``;
}

function tagExpr(p: Exclude<Template['parts'][number], string>): string {
  if (p.ref?.kind === 'var') return `vars[${q(p.ref.name)}]`;
  if (p.ref?.kind === 'data') return `row![${q(p.ref.name)}]`;
  const n = p.args.map(Number);
  switch (p.name) {
    case 'randInt':
      return `randInt(${n[0]}, ${n[1]})`;
    case 'randFloat':
      return `(${n[0]} + Math.random() * ${n[1]! - n[0]!})`;
    case 'pick':
      return `pick(${JSON.stringify(p.args)})`;
    case 'randString':
      return `randString(${n[0]})`;
    case 'uuid':
      return 'uuid()';
    default:
      // Refused before any code is written (src/k6/export.ts k6Refusals).
      throw new Error(`no k6 translation for {{${p.name}}}`);
  }
}

/** Names a request needs from its session (captured values) or its row (data fields). */
function refsOf(r: CompiledRequest): { vars: string[]; data: string[] } {
  const all = [r.path, r.bodyT, ...r.dynHeaders.map((h) => h.value)].flatMap((t) => t?.refs ?? []);
  return {
    vars: [...new Set(all.filter((x) => x.kind === 'var').map((x) => x.name))],
    data: [...new Set(all.filter((x) => x.kind === 'data').map((x) => x.name))],
  };
}

export function thinkExpr(d: ThinkDist): string {
  switch (d.kind) {
    case 'fixed':
      return `${d.ms / 1000}`;
    case 'uniform':
      return `${d.minMs / 1000} + Math.random() * ${(d.maxMs - d.minMs) / 1000}`;
    case 'exponential':
      return `-${d.meanMs / 1000} * Math.log(1 - Math.random())`;
  }
}

/** gjson syntax (k6's res.json selector): names with special characters escaped, indexes as numbers. */
function gjson(path: readonly (string | number)[]): string {
  return path
    .map((s) => (typeof s === 'number' ? String(s) : s.replace(/[.*?|#@\\]/g, (c) => `\\${c}`)))
    .join('.');
}

function captureCode(c: Capture): string {
  switch (c.kind) {
    case 'status':
      return `setVar(vars, ${q(c.name)}, String(res.status));`;
    case 'header':
      return `setVar(vars, ${q(c.name)}, header(res, ${q(c.header)}));`;
    case 'regex':
      return `setVar(vars, ${q(c.name)}, firstMatch(res, ${c.re.toString()}));`;
    case 'json':
      return `setVar(vars, ${q(c.name)}, jsonText(res, ${q(gjson(c.path))}));`;
  }
}

/** Checks as one k6 `check()` whose names say what is checked; the result decides the step. */
function checksCode(name: string, r: CompiledRequest, e: CompiledExpect | null): string {
  const cs: string[] = [`${q(`${name}: no HTTP error`)}: (x) => x.status > 0 && x.status < 400`];
  if (r.stream === 'sse' && r.streamEnd !== undefined)
    cs.push(`${q(`${name}: stream reached ${r.streamEnd}`)}: (x) => bodyText(x).includes(${q(r.streamEnd)})`);
  if (e?.status)
    cs.push(
      `${q(`${name}: status ${e.status.join('|')}`)}: (x) => ${JSON.stringify(e.status)}.includes(x.status)`,
    );
  if (e?.maxDurationMs !== null && e?.maxDurationMs !== undefined)
    cs.push(`${q(`${name}: within ${e.maxDurationMs}ms`)}: (x) => x.timings.duration <= ${e.maxDurationMs}`);
  if (e?.bodyContains)
    cs.push(`${q(`${name}: body contains`)}: (x) => bodyText(x).includes(${q(e.bodyContains)})`);
  for (const j of e?.json ?? [])
    cs.push(
      `${q(`${name}: ${j.source}`)}: (x) => same(jsonValue(x, ${q(gjson(j.path))}), ${JSON.stringify(j.value)})`,
    );
  return `check(res, { ${cs.join(', ')} })`;
}

export interface ScriptContext {
  workload: Workload;
  timeout: string;
  streamTimeout: string;
  /** Files for multipart parts, opened at init: path → constant name. */
  files: Map<string, string>;
  scenarioDir: string;
}

function requestCode(ctx: ScriptContext, p: number, indent: string, onFail: 'stop' | 'continue'): string {
  const prof = ctx.workload.profiles[p]!;
  const r = prof.request;
  const name = prof.name;
  const refs = refsOf(r);
  const lines: string[] = [];
  const skip = onFail === 'stop' ? 'return;' : '';
  if (refs.vars.length > 0) {
    // chaoskit never sends a step with an unset value: the step fails (kind check) instead.
    lines.push(
      `if (!has(vars, ${JSON.stringify(refs.vars)})) {`,
      `  check(null, { ${q(`${name}: captured values set`)}: () => false });`,
      ...(skip ? [`  ${skip}`] : []),
      `} else {`,
    );
  }
  const headers = `{ ${[
    ...Object.entries(r.headers)
      .filter(([k]) => !(r.multipart && k.toLowerCase() === 'content-type'))
      .map(([k, v]) => `${q(k)}: ${q(v)}`),
    ...r.dynHeaders.map((h) => `${q(h.name)}: ${templateExpr(h.value)}`),
  ].join(', ')} }`;
  let body = 'null';
  if (r.multipart) {
    body = `{ ${r.multipart.parts.map((part) => `${q(part.name)}: ${part.file ? `http.file(${fileConst(ctx, part.file)}, ${q(part.filename)}, ${q(part.contentType)})` : templateExpr(part.value!)}`).join(', ')} }`;
  } else if (r.bodyT) body = templateExpr(r.bodyT);
  const timeout = r.stream === 'sse' ? ctx.streamTimeout : ctx.timeout;
  lines.push(
    `res = http.request(${q(r.method)}, BASE_URL + ${templateExpr(r.path)}, ${body}, { headers: ${headers}, tags: { name: ${q(name)} }, timeout: ${q(timeout)} });`,
  );
  const ok = `ok = ${checksCode(name, r, r.expect)};`;
  lines.push(ok);
  if (r.captures.length) lines.push(`if (ok) {`, ...r.captures.map((c) => `  ${captureCode(c)}`), `}`);
  if (skip) lines.push(`if (!ok) ${skip}`);
  if (refs.vars.length > 0) lines.push('}');
  return lines.map((l) => indent + l).join('\n');
}

function fileConst(ctx: ScriptContext, file: string): string {
  let c = ctx.files.get(file);
  if (!c) {
    c = `FILE_${ctx.files.size}`;
    ctx.files.set(file, c);
  }
  return c;
}

/** The program of a flow as statements (loops as `for`, thinks as `sleep`). */
function programCode(ctx: ScriptContext, program: readonly Instr[], indent: string): string {
  const out: string[] = [];
  let depth = 0;
  const pad = () => indent + '  '.repeat(depth);
  for (const ins of program) {
    switch (ins.op) {
      case 'req':
        out.push(requestCode(ctx, ins.profile, pad(), ins.onFail));
        break;
      case 'think':
        out.push(`${pad()}sleep(${thinkExpr(ins.think)});`);
        break;
      case 'loop':
        out.push(
          `${pad()}for (let i${depth} = 0, n${depth} = randInt(${ins.repeat.min}, ${ins.repeat.max}); i${depth} < n${depth}; i${depth}++) {`,
        );
        depth++;
        break;
      case 'end-loop':
        depth--;
        out.push(`${pad()}}`);
        break;
    }
  }
  return out.join('\n');
}

/** One function per mix entry: `entry0()`, `entry1()`, … (a flow's session, or one request). */
export function entriesCode(ctx: ScriptContext, rowExpr: (data: number) => string): string {
  const wl = ctx.workload;
  return wl.mix
    .map((m, i) => {
      const flow = m.flow >= 0 ? wl.flows[m.flow]! : null;
      const data = flow ? flow.data : wl.requestData;
      const program: Instr[] = flow ? flow.program : [{ op: 'req', profile: m.profile, onFail: 'stop' }];
      const label = flow ? `flow ${flow.name}` : `request ${wl.profiles[m.profile]!.name}`;
      return `/** ${label} */
function entry${i}(): void {
  const vars: Record<string, string> = {};
  const row: Record<string, string> | null = ${data >= 0 ? rowExpr(data) : 'null'};
  let res: RefinedResponse<ResponseType> | null = null;
  let ok = true;
  void vars; void row; void res; void ok;
${programCode(ctx, program, '  ')}
}`;
    })
    .join('\n\n');
}
