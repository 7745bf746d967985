/**
 * YAML with positions: every validation problem is reported as `file:line:col: field.path: message`.
 * Environment variables in values are interpolated as `${VAR}` or `${VAR:-default}`.
 */
import { readFileSync } from 'node:fs';
import { isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import type { z } from 'zod';
import { InputError } from '../errors.ts';

export interface SourceDoc {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  value: unknown;
}

export interface Problem {
  path: readonly PropertyKey[];
  message: string;
  /** Point at the key rather than its value (unknown fields). */
  atKey?: boolean;
}

export function readSource(file: string, label = 'file'): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : String(err);
    throw new InputError(`${file}: cannot read the ${label}: ${why}`);
  }
}

/** Parses every YAML document in `text`; YAML syntax errors become an InputError with line and column. */
export function parseYamlDocs(file: string, text: string): SourceDoc[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  const errors = list.flatMap((d) => d.errors);
  if (errors.length > 0) {
    const msgs = errors.map((e) => {
      const pos = lines.linePos(e.pos[0]);
      return `${file}:${pos.line}:${pos.col}: ${firstLine(e.message)}`;
    });
    throw new InputError(`invalid YAML\n  ${msgs.join('\n  ')}`);
  }
  return list
    .filter((d) => d.contents !== null)
    .map((doc) => ({ file, doc, lines, value: doc.toJS({ maxAliasCount: 100 }) as unknown }));
}

export function parseYamlFile(file: string, label: string, env: NodeJS.ProcessEnv = {}): SourceDoc {
  const text = interpolate(readSource(file, label), env, file);
  const docs = parseYamlDocs(file, text);
  if (docs.length === 0) throw new InputError(`${file}:1:1: the ${label} is empty`);
  if (docs.length > 1) {
    const pos = docs[1]!.lines.linePos(docs[1]!.doc.range[0]);
    throw new InputError(
      `${file}:${pos.line}:${pos.col}: expected one YAML document in the ${label}, found ${docs.length}`,
    );
  }
  return docs[0]!;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** `${VAR}` / `${VAR:-default}`; an unset variable without default is an input error. */
export function interpolate(text: string, env: NodeJS.ProcessEnv, file: string): string {
  return text.replace(VAR, (_m, name: string, dflt: string | undefined) => {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (dflt !== undefined) return dflt;
    const line = text.slice(0, text.indexOf(_m)).split('\n').length;
    throw new InputError(
      `${file}:${line}: environment variable ${name} is not set and has no default (\${${name}:-value})`,
    );
  });
}

/** Line and column of the node at `path`, or of its nearest existing ancestor. */
export function locate(
  src: SourceDoc,
  path: readonly PropertyKey[],
  key = false,
): { line: number; col: number } {
  let node: unknown = src.doc.contents;
  let best = node;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg),
      );
      if (!pair) break;
      best = key ? pair.key : (pair.value ?? pair.key);
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      if (node === undefined) break;
      best = node;
    } else break;
  }
  const offset = isNode(best) && best.range ? best.range[0] : 0;
  return src.lines.linePos(offset);
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out || '(top level)';
}

export function problemLine(src: SourceDoc, p: Problem): string {
  const { line, col } = locate(src, p.path, p.atKey ?? false);
  return `${src.file}:${line}:${col}: ${formatPath(p.path)}: ${p.message}`;
}

/** zod issues → our problems, with friendlier wording than zod's defaults. */
export function zodProblems(error: z.ZodError, base: readonly PropertyKey[] = []): Problem[] {
  const out: Problem[] = [];
  for (const iss of error.issues) {
    const path = [...base, ...iss.path];
    if (iss.code === 'unrecognized_keys') {
      for (const k of iss.keys)
        out.push({ path: [...path, k], message: `unknown field ${JSON.stringify(k)}`, atKey: true });
      continue;
    }
    if (iss.code === 'invalid_type' && iss.input === undefined) {
      out.push({ path, message: `required field is missing (expected ${iss.expected})` });
      continue;
    }
    if (iss.code === 'invalid_union' && iss.input === undefined) {
      out.push({ path, message: 'required field is missing' });
      continue;
    }
    if (
      iss.code === 'invalid_union' &&
      iss.errors.length > 0 &&
      !('discriminator' in iss && iss.message.startsWith('expected'))
    ) {
      const nested = iss.errors.flatMap((e) => e);
      const first = nested.find((e) => e.code !== 'invalid_type') ?? nested[0];
      if (first && !iss.message.startsWith('expected')) {
        out.push({ path: [...path, ...first.path], message: cleanMessage(first.message) });
        continue;
      }
    }
    out.push({ path, message: cleanMessage(iss.message) });
  }
  return out;
}

function cleanMessage(m: string): string {
  return m
    .replace(/^Invalid input: expected (\w+), received (\w+)$/, 'expected $1, got $2')
    .replace(
      /^Invalid option: expected one of (.*)$/,
      (_x, list: string) => `expected one of ${list.replace(/"/g, '').replace(/\|/g, ', ')}`,
    )
    .replace(/^Too small: expected (\w+) to have >=(\d+) items?$/, 'expected at least $2 item(s)')
    .replace(
      /^Too small: expected number to be >(=?)(-?[\d.]+)$/,
      (_x, eq: string, n: string) => `expected a number ${eq ? 'at least' : 'greater than'} ${n}`,
    )
    .replace(
      /^Too big: expected number to be <(=?)(-?[\d.]+)$/,
      (_x, eq: string, n: string) => `expected a number ${eq ? 'at most' : 'less than'} ${n}`,
    )
    .replace(/^Invalid input$/, 'invalid value');
}

/** Throws one InputError listing every problem, each with its location. */
export function failWith(src: SourceDoc, label: string, problems: readonly Problem[]): never {
  const lines = problems.map((p) => problemLine(src, p));
  throw new InputError(
    `invalid ${label} (${problems.length} problem${problems.length > 1 ? 's' : ''})\n  ${lines.join('\n  ')}`,
  );
}
