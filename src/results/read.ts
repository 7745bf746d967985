/**
 * Reading a saved results.json: JSON errors located by line and column, older schema versions
 * migrated (./migrate.ts), and every schema problem named by file:line:col and field path.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../core/errors.ts';
import { decode } from '../core/hist.ts';
import { runResultSchema, type RunResult } from '../result.ts';
import { failWith, parseYamlDocs, readSource, zodProblems } from '../core/yaml.ts';
import { VERSION } from '../version.ts';
import { migrateResult } from './migrate.ts';

/** `line:col` (1-based) of a character offset. */
function position(text: string, offset: number): string {
  const before = text.slice(0, offset);
  return `${before.split('\n').length}:${offset - before.lastIndexOf('\n')}`;
}

/** Offset of the first JSON syntax error (JSON.parse does not always say where). */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const expect = (ok: boolean) => {
    if (!ok) throw i;
  };
  const str = () => {
    for (i++; i < text.length && text[i] !== '"'; i++) {
      expect(text.charCodeAt(i) >= 0x20);
      if (text[i] === '\\') i++;
    }
    expect(i < text.length);
    i++;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '"') return str();
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) return void i++;
      for (;;) {
        if (c === '{') {
          ws();
          expect(text[i] === '"');
          str();
          ws();
          expect(text[i] === ':');
          i++;
        }
        value();
        ws();
        if (text[i] === ',') i++;
        else return (expect(text[i] === close), void i++);
      }
    }
    const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 64));
    expect(m !== null);
    i += m![0].length;
  };
  try {
    value();
    ws();
    expect(i === text.length);
  } catch (at) {
    if (typeof at === 'number') return at;
    throw at;
  }
  return text.length;
}

const MAX_PROBLEMS = 20;

/** The first encoded histogram that does not decode (a hand-edited or truncated file), if any. */
function badHistogram(r: RunResult): { path: (string | number)[]; message: string } | null {
  const check = (h: string | null | undefined, path: (string | number)[]) => {
    if (!h) return null;
    try {
      decode(h);
      return null;
    } catch (err) {
      return { path, message: `not a valid encoded latency histogram (${(err as Error).message})` };
    }
  };
  let bad = check(r.totals.hist, ['totals', 'hist']);
  for (let i = 0; !bad && i < r.timeline.length; i++) {
    const s = r.timeline[i]!;
    bad =
      check(s.hist, ['timeline', i, 'hist']) ??
      check(s.failedHist, ['timeline', i, 'failedHist']) ??
      check(s.stream?.firstEventHist, ['timeline', i, 'stream', 'firstEventHist']);
    for (const [name, p] of Object.entries(s.phases ?? {}))
      bad ??= check(p?.hist, ['timeline', i, 'phases', name, 'hist']);
  }
  for (const [name, p] of Object.entries(r.profiles ?? {})) bad ??= check(p.hist, ['profiles', name, 'hist']);
  return bad;
}

/**
 * Reads a saved results.json (or a directory holding one) and validates it against the
 * RunResult schema. Every problem is an InputError naming file:line:col and the field path;
 * JSON is valid YAML, so the YAML helpers locate fields in it.
 */
export function readResultFile(path: string): RunResult {
  let file = path;
  if (existsSync(path) && statSync(path).isDirectory() && existsSync(join(path, 'results.json')))
    file = join(path, 'results.json');
  const text = readSource(file, 'results file');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const at = jsonErrorOffset(text);
    const what = at >= text.length ? 'unexpected end of the file' : `unexpected ${JSON.stringify(text[at])}`;
    throw new InputError(`${file}:${position(text, at)}: the results file is not valid JSON: ${what}`);
  }
  const migrated = migrateResult(value, VERSION);
  const parsed = migrated.ok ? runResultSchema.safeParse(migrated.doc, { reportInput: true }) : null;
  if (parsed?.success) {
    const bad = badHistogram(parsed.data);
    if (!bad) return parsed.data;
    const at = parseYamlDocs(file, text)[0];
    if (at) failWith(at, 'results file', [{ path: bad.path, message: bad.message }]);
    throw new InputError(`${file}: ${bad.path.join('.')}: ${bad.message}`);
  }
  const src = parseYamlDocs(file, text)[0];
  if (!src) throw new InputError(`${file}:1:1: the results file is empty`);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    failWith(src, 'results file', [
      { path: [], message: 'expected a chaoskit results.json object (written by chaos run --out)' },
    ]);
  }
  if (!migrated.ok) failWith(src, 'results file', [{ path: ['schemaVersion'], message: migrated.reason }]);
  if ((value as { schemaVersion?: unknown }).schemaVersion === undefined) {
    failWith(src, 'results file', [
      { path: [], message: 'no schemaVersion: this is not a chaoskit results.json' },
    ]);
  }
  if (!parsed) throw new Error('unreachable: a migrated document is always parsed');
  const problems = zodProblems(parsed.error);
  const more = problems.length - MAX_PROBLEMS;
  failWith(
    src,
    'results file',
    more > 0
      ? [...problems.slice(0, MAX_PROBLEMS), { path: [], message: `and ${more} more problems` }]
      : problems,
  );
}
