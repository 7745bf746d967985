/**
 * Captures and checks on a flow step's answer. Compiled once at load time (a bad JSON path, regex
 * or capture kind is an input error with its location); evaluated on each answer.
 *
 *   capture: { token: 'json:$.token', conv: 'header:x-conversation', n: 'regex:id=(\d+)', s: status }
 *   expect:  { status: [200, 201], json: { '$.ok': true }, bodyContains: TEXT, maxDuration: 2s }
 *
 * A capture that does not match leaves its variable unset (a later step that uses it fails with
 * kind `check`, naming the variable); an expectation that does not hold fails the step itself.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ExpectSpec } from '../scenario/flow-schema.ts';

// ---- JSON paths ----------------------------------------------------------------------------------

/** `$.a.b`, `$.items[0].id`, `$['a b']`: a path of names and indexes, nothing more. */
export type JsonPath = readonly (string | number)[];

export function parseJsonPath(text: string): JsonPath | string {
  const s = text.trim();
  if (!s.startsWith('$'))
    return `expected a JSON path starting with $, like $.token or $.items[0].id, got ${JSON.stringify(text)}`;
  const out: (string | number)[] = [];
  let i = 1;
  while (i < s.length) {
    if (s[i] === '.') {
      const m = /^[A-Za-z_$][\w$-]*/.exec(s.slice(i + 1));
      if (!m) return `${JSON.stringify(text)}: expected a name after the dot at position ${i + 1}`;
      out.push(m[0]);
      i += 1 + m[0].length;
    } else if (s[i] === '[') {
      const m = /^\[\s*(?:(\d+)|'([^']*)'|"([^"]*)")\s*\]/.exec(s.slice(i));
      if (!m) return `${JSON.stringify(text)}: expected [index] or ['name'] at position ${i + 1}`;
      out.push(m[1] !== undefined ? Number(m[1]) : (m[2] ?? m[3])!);
      i += m[0].length;
    } else return `${JSON.stringify(text)}: unexpected ${JSON.stringify(s[i])} at position ${i + 1}`;
  }
  return out;
}

const MISSING = Symbol('missing');

export function getPath(value: unknown, path: JsonPath): unknown {
  let v: unknown = value;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return MISSING;
    if (typeof seg === 'number') {
      if (!Array.isArray(v) || seg >= v.length) return MISSING;
      v = v[seg];
    } else {
      if (Array.isArray(v) || !Object.hasOwn(v, seg)) return MISSING;
      v = (v as Record<string, unknown>)[seg];
    }
  }
  return v;
}

export const isMissing = (v: unknown): boolean => v === MISSING;

// ---- what an answer looks like to captures and checks ----------------------------------------------

export interface AnswerView {
  status: number;
  /** A header's value (names are case-insensitive), or undefined. */
  header(name: string): string | undefined;
  /** The body as text (bounded by the engine; for SSE, the stream's whole text). */
  text(): string;
}

/** What a capture or check needs from the answer, so the engine keeps only that. */
export interface Needs {
  body: boolean;
  headers: boolean;
}

// ---- captures ------------------------------------------------------------------------------------

export type Capture =
  | { name: string; kind: 'json'; source: string; path: JsonPath }
  | { name: string; kind: 'header'; source: string; header: string }
  | { name: string; kind: 'regex'; source: string; re: RegExp }
  | { name: string; kind: 'status'; source: string };

export const CAPTURE_KINDS = ['json', 'header', 'regex', 'status'] as const;

export function compileCapture(name: string, source: string): Capture | string {
  if (source.trim() === 'status') return { name, kind: 'status', source };
  const m = /^(\w+):(.*)$/s.exec(source);
  const kind = m?.[1];
  const arg = m?.[2] ?? '';
  switch (kind) {
    case 'json': {
      const path = parseJsonPath(arg);
      return typeof path === 'string' ? path : { name, kind: 'json', source, path };
    }
    case 'header':
      if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(arg.trim()))
        return `expected a header name after header:, like header:x-request-id, got ${JSON.stringify(arg)}`;
      return { name, kind: 'header', source, header: arg.trim().toLowerCase() };
    case 'regex':
      try {
        return { name, kind: 'regex', source, re: new RegExp(arg) };
      } catch (err) {
        return `invalid regular expression ${JSON.stringify(arg)}: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`;
      }
    default:
      return `unknown capture ${JSON.stringify(source)}: expected json:$.PATH, header:NAME, regex:PATTERN or status`;
  }
}

/** Runs the captures: matched values are set, unmatched ones unset. Returns the names that missed. */
export function runCaptures(
  caps: readonly Capture[],
  a: AnswerView,
  vars: Record<string, string>,
  json: () => unknown,
): string[] {
  const missed: string[] = [];
  for (const c of caps) {
    const v = captureValue(c, a, json);
    if (v === undefined) {
      delete vars[c.name];
      missed.push(c.name);
    } else vars[c.name] = v;
  }
  return missed;
}

function captureValue(c: Capture, a: AnswerView, json: () => unknown): string | undefined {
  switch (c.kind) {
    case 'status':
      return String(a.status);
    case 'header':
      return a.header(c.header);
    case 'regex': {
      const m = c.re.exec(a.text());
      return m ? (m[1] ?? m[0]) : undefined;
    }
    case 'json': {
      const doc = json();
      if (doc === MISSING) return undefined;
      const v = getPath(doc, c.path);
      if (v === MISSING || v === null) return undefined;
      return typeof v === 'string' ? v : JSON.stringify(v);
    }
  }
}

// ---- checks --------------------------------------------------------------------------------------

export interface CompiledExpect {
  status: readonly number[] | null;
  json: readonly { source: string; path: JsonPath; value: unknown }[];
  bodyContains: string | null;
  maxDurationMs: number | null;
}

export function compileExpect(e: ExpectSpec): {
  expect: CompiledExpect;
  problems: { path: string[]; message: string }[];
} {
  const problems: { path: string[]; message: string }[] = [];
  const json: CompiledExpect['json'][number][] = [];
  for (const [source, value] of Object.entries(e.json ?? {})) {
    const path = parseJsonPath(source);
    if (typeof path === 'string') problems.push({ path: ['json', source], message: path });
    else json.push({ source, path, value });
  }
  return {
    expect: {
      status: e.status === undefined ? null : Array.isArray(e.status) ? e.status : [e.status],
      json,
      bodyContains: e.bodyContains ?? null,
      maxDurationMs: e.maxDuration ?? null,
    },
    problems,
  };
}

/** The first expectation that does not hold, as a message; null when all hold. */
export function checkAnswer(
  e: CompiledExpect,
  a: AnswerView,
  latencyMs: number,
  json: () => unknown,
): string | null {
  if (e.status && !e.status.includes(a.status))
    return `status ${a.status} is not ${e.status.length > 1 ? `one of ${e.status.join(', ')}` : e.status[0]}`;
  if (e.maxDurationMs !== null && latencyMs > e.maxDurationMs)
    return `took longer than maxDuration ${e.maxDurationMs}ms`;
  if (e.bodyContains !== null && !a.text().includes(e.bodyContains))
    return `the body does not contain ${JSON.stringify(e.bodyContains)}`;
  if (e.json.length > 0) {
    const doc = json();
    if (doc === MISSING) return 'the body is not JSON';
    for (const j of e.json) {
      const v = getPath(doc, j.path);
      if (v === MISSING) return `${j.source} is not in the body`;
      if (!isDeepStrictEqual(v, j.value))
        return `${j.source} is ${JSON.stringify(v)}, expected ${JSON.stringify(j.value)}`;
    }
  }
  return null;
}

/** Parses a body once for every JSON capture and check of one answer (MISSING when it is not JSON). */
export function lazyJson(text: () => string): () => unknown {
  let done = false;
  let v: unknown = MISSING;
  return () => {
    if (!done) {
      done = true;
      try {
        v = JSON.parse(text());
      } catch {
        v = MISSING;
      }
    }
    return v;
  };
}

export function needsOf(caps: readonly Capture[], e: CompiledExpect | null): Needs {
  return {
    body:
      caps.some((c) => c.kind === 'json' || c.kind === 'regex') ||
      (!!e && (e.json.length > 0 || e.bodyContains !== null)),
    headers: caps.some((c) => c.kind === 'header'),
  };
}
