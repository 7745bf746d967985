/**
 * HTTP requests compiled once at load time: path, header values and body (`body`, `bodyFile`
 * relative to the scenario, or `multipart`) are templates (src/load/templates.ts); captures and
 * checks (src/load/captures.ts) are compiled beside them. A request without tags keeps one fixed
 * form; one with tags is rendered per request from the run's seeded PRNG, its session's captured
 * values and its data row.
 *
 * Every body gets a content-type when the request names none: application/json for `body` and
 * `bodyFile` alike, multipart/form-data with its boundary for `multipart`.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { RequestSpec } from '../scenario/schema.ts';
import type { Problem } from '../core/yaml.ts';
import {
  checkAnswer,
  compileCapture,
  compileExpect,
  lazyJson,
  needsOf,
  runCaptures,
  type AnswerView,
  type Capture,
  type CompiledExpect,
  type Needs,
} from './captures.ts';
import type { ErrorKind } from '../core/error-kinds.ts';
import type { ProfileRecorder } from '../metrics/profiles.ts';
import { compileMultipart, type MultipartBody } from './multipart.ts';
import type { Prng } from './prng.ts';
import {
  compileTemplate,
  TemplateError,
  UnsetValue,
  type RenderContext,
  type Template,
  type TemplateScope,
} from './templates.ts';

/** What a request of the mix or a flow step says, before compiling (captures only on steps). */
export type RequestLike = Omit<RequestSpec, 'weight'> & { capture?: Record<string, string> };

export interface CompiledRequest {
  method: string;
  stream: 'sse' | undefined;
  streamEnd: string | undefined;
  path: Template;
  /** Header values without tags, with the default content-type added. */
  headers: Record<string, string>;
  /** Header values with tags, rendered per request. */
  dynHeaders: readonly { name: string; value: Template }[];
  /** The body when it never changes (text or multipart bytes). */
  body: string | Buffer | undefined;
  bodyT: Template | null;
  multipart: MultipartBody | null;
  /** True when anything must be rendered per request. */
  dynamic: boolean;
  captures: readonly Capture[];
  expect: CompiledExpect | null;
  needs: Needs;
  /** The body as written (the file's text for bodyFile), for exporters. */
  bodySource: string | undefined;
}

export interface Rendered {
  path: string;
  headers: Record<string, string> | null;
  body: string | Buffer | undefined;
}

/**
 * Compiles one request; problems are pushed with their field path (`at` is the request's own).
 * Returns null when the request cannot be used (its problems say why).
 */
export function compileRequest(
  r: RequestLike,
  at: readonly (string | number)[],
  dir: string,
  scope: TemplateScope,
  problems: Problem[],
): CompiledRequest | null {
  const before = problems.length;
  if (r.streamEnd !== undefined && r.stream === undefined)
    problems.push({ path: [...at, 'streamEnd'], message: 'streamEnd needs stream: sse' });
  const bodies = [r.body, r.bodyFile, r.multipart].filter((x) => x !== undefined).length;
  if (bodies > 1)
    problems.push({
      path: [...at, r.bodyFile !== undefined ? 'bodyFile' : 'multipart'],
      message: 'give one of body, bodyFile or multipart',
    });
  const compile = (text: string, field: (string | number)[]): Template | null => {
    try {
      return compileTemplate(text, scope);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      problems.push({ path: [...at, ...field], message: err.message });
      return null;
    }
  };
  let body = r.body;
  let bodyLabel = 'body';
  if (r.bodyFile !== undefined) {
    const file = isAbsolute(r.bodyFile) ? r.bodyFile : resolve(dir, r.bodyFile);
    bodyLabel = 'bodyFile';
    try {
      body = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push({
        path: [...at, 'bodyFile'],
        message: `${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      });
    }
  }
  const path = compile(r.path, ['path']);
  const bodyT = body === undefined ? null : compile(body, [bodyLabel]);
  let multipart: MultipartBody | null = null;
  if (r.multipart) {
    const m = compileMultipart(r.multipart, dir, (text, i) => compile(text, ['multipart', i, 'value']));
    if ('problem' in m) problems.push({ path: [...at, 'multipart', m.index, 'file'], message: m.problem });
    else multipart = m;
  }
  const headers: Record<string, string> = {};
  const dynHeaders: { name: string; value: Template }[] = [];
  for (const [name, value] of Object.entries(r.headers)) {
    const t = compile(value, ['headers', name]);
    if (t?.isStatic) headers[name] = value;
    else if (t) dynHeaders.push({ name, value: t });
  }
  const hasType = Object.keys(r.headers).some((k) => k.toLowerCase() === 'content-type');
  if (multipart && !hasType) headers['content-type'] = multipart.contentType;
  else if (body !== undefined && !hasType) headers['content-type'] = 'application/json';
  const captures: Capture[] = [];
  for (const [name, source] of Object.entries(r.capture ?? {})) {
    const c = compileCapture(name, source);
    if (typeof c === 'string') problems.push({ path: [...at, 'capture', name], message: c });
    else captures.push(c);
  }
  let expect: CompiledExpect | null = null;
  if (r.expect) {
    const e = compileExpect(r.expect);
    for (const p of e.problems) problems.push({ path: [...at, 'expect', ...p.path], message: p.message });
    expect = e.expect;
  }
  if (problems.length > before || !path) return null;
  const dynamic =
    !path.isStatic ||
    dynHeaders.length > 0 ||
    !!(bodyT && !bodyT.isStatic) ||
    !!(multipart && !multipart.fixed);
  return {
    method: r.method,
    stream: r.stream,
    streamEnd: r.streamEnd,
    path,
    headers,
    dynHeaders,
    body: multipart ? (multipart.fixed ?? undefined) : body,
    bodyT,
    multipart,
    dynamic,
    captures,
    expect,
    needs: needsOf(captures, expect),
    bodySource: body,
  };
}

/** A request's path, headers (null: the fixed ones) and body for one send. Throws UnsetValue. */
export function renderRequest(c: CompiledRequest, prng: Prng, ctx: RenderContext | null): Rendered {
  let headers: Record<string, string> | null = null;
  if (c.dynHeaders.length > 0) {
    headers = { ...c.headers };
    for (const h of c.dynHeaders) headers[h.name] = h.value.render(prng, ctx);
  }
  const path = c.path.isStatic ? c.path.source : c.path.render(prng, ctx);
  let body: string | Buffer | undefined = c.body;
  if (c.multipart && !c.multipart.fixed) body = c.multipart.build(prng, ctx);
  else if (c.bodyT && !c.bodyT.isStatic) body = c.bodyT.render(prng, ctx);
  return { path, headers, body };
}

/**
 * Renders a request for one send, or says which value it needs and lacks (the step then fails with
 * kind `check` without being sent; the message is recorded on its profile).
 */
export function prepareRequest(
  c: CompiledRequest,
  prng: Prng,
  ctx: RenderContext | null,
  profiles: ProfileRecorder,
  profile: number,
): Rendered | null {
  try {
    return renderRequest(c, prng, ctx);
  } catch (err) {
    if (!(err instanceof UnsetValue)) throw err;
    profiles.check(profile, `not sent: ${err.what}`);
    return null;
  }
}

/**
 * Checks, then captures, on an answer that did not fail already: returns `check` when an
 * expectation missed (its message recorded), else null after setting the captured values.
 */
export function inspectAnswer(
  c: CompiledRequest,
  view: AnswerView,
  latencyMs: number,
  vars: Record<string, string> | null,
  profiles: ProfileRecorder,
  profile: number,
): ErrorKind | null {
  if (!c.expect && c.captures.length === 0) return null;
  const json = lazyJson(() => view.text());
  const miss = c.expect ? checkAnswer(c.expect, view, latencyMs, json) : null;
  if (miss !== null) {
    profiles.check(profile, miss);
    return 'check';
  }
  if (c.captures.length > 0 && vars) {
    const missed = runCaptures(c.captures, view, vars, json);
    if (missed.length > 0) profiles.captureMiss(profile, missed);
  }
  return null;
}
