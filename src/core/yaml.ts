/**
 * YAML with positions: every validation problem is reported as `file:line:col: field.path: message`.
 *
 * The file boundary, in order (docs/scenario-format.md, "Input limits"):
 *   readSource   one read per path (a pipe such as `<(cat f)` is read once and remembered), regular
 *                files and inherited /dev/fd pipes only (a named FIFO is refused, never waited on),
 *                at most 10 MiB (results files 256 MiB), then nestingScan
 *   nestingScan  flow nesting ([ { ) deeper than 128 is refused before any parser sees it
 *   parse        syntax errors with line and column
 *   walk         per node: depth ≤ 64, at most 100 aliases, `${VAR}` substituted in scalar values
 *   toJS         alias expansion bounded (yaml's maxAliasCount)
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import {
  isAlias,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  type Document,
  type Node,
  type Scalar,
} from 'yaml';
import type { z } from 'zod';
import { InputError } from './errors.ts';

/** Input files larger than this are refused (scenario, environment, SLO, suite files). */
export const MAX_FILE_BYTES = 10 * 2 ** 20;
/** A saved results.json holds every second's histograms: a week-long run fits. */
export const MAX_RESULTS_FILE_BYTES = 256 * 2 ** 20;
/** Deepest nesting of mappings and lists accepted (the formats need about 8). */
export const MAX_DEPTH = 64;
/** Most YAML aliases (`*name`) one document may use; also yaml's bound on aliases of aliases (maxAliasCount). */
export const MAX_ALIASES = 100;

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

/** Text of non-regular files (pipes) already read: a pipe can be read only once. */
const pipeTexts = new Map<string, string>();

/** An inherited descriptor the shell opened for us: `<(cat f)`, `/dev/stdin`, `3< file`. */
const isInheritedFd = (file: string) =>
  /^\/(dev\/fd|proc\/self\/fd|proc\/\d+\/fd)\/\d+$|^\/dev\/stdin$/.test(file);

function cannotRead(file: string, label: string, why: string): InputError {
  return new InputError(`${file}: cannot read the ${label}: ${why}`);
}

/**
 * Reads an input file once, bounded: regular files, or a pipe handed over as /dev/fd/N (read once;
 * later reads of that path get the same text). A named FIFO, a device or a socket is refused
 * rather than waited on. Larger than the limit (10 MiB; results files 256 MiB) is refused.
 */
export function readSource(file: string, label = 'file'): string {
  const remembered = pipeTexts.get(file);
  if (remembered !== undefined) return remembered;
  const limit = label === 'results file' ? MAX_RESULTS_FILE_BYTES : MAX_FILE_BYTES;
  let st;
  try {
    st = statSync(file);
  } catch (err) {
    throw cannotRead(file, label, errnoText(err));
  }
  if (st.isDirectory()) throw cannotRead(file, label, 'it is a directory');
  if (!st.isFile() && !isInheritedFd(file)) {
    const what = st.isFIFO()
      ? 'it is a named pipe (FIFO), which could wait forever for a writer'
      : st.isSocket()
        ? 'it is a socket'
        : 'it is a device, not a file';
    throw cannotRead(
      file,
      label,
      `${what}; give a regular file, or a pipe from the shell such as <(cat file)`,
    );
  }
  if (st.isFile() && st.size > limit) throw tooLarge(file, label, limit);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw cannotRead(file, label, errnoText(err));
  }
  try {
    const text = readBounded(fd, file, label, limit);
    // Before any parser (JSON.parse's error locator and the YAML parser recurse per level).
    nestingScan(file, text);
    if (!fstatSync(fd).isFile()) pipeTexts.set(file, text);
    return text;
  } finally {
    closeSync(fd);
  }
}

function readBounded(fd: number, file: string, label: string, limit: number): string {
  const chunks: Buffer[] = [];
  let total = 0;
  const waitUntil = Date.now() + 30_000;
  for (;;) {
    const buf = Buffer.allocUnsafe(Math.min(1 << 20, limit + 1 - total));
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (err) {
      // A non-blocking pipe with no data yet: wait a little, within a bound.
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN' && Date.now() < waitUntil) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      throw cannotRead(file, label, errnoText(err));
    }
    if (n === 0) break;
    chunks.push(buf.subarray(0, n));
    total += n;
    if (total > limit) throw tooLarge(file, label, limit);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

function tooLarge(file: string, label: string, limit: number): InputError {
  return new InputError(
    `${file}: the ${label} is larger than ${limit / 2 ** 20} MiB, the limit for input files; is it the right file?`,
  );
}

function errnoText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return String((err as Error).message ?? err);
}

/** Line and column (1-based) of a character offset. */
function linePos(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: offset - lineStart + 1 };
}

/**
 * Flow nesting (`[`, `{`) deeper than MAX_DEPTH, found before parsing: the YAML parser itself
 * runs out of memory on about 10,000 levels. Quoted strings and comments are skipped; brackets
 * inside plain scalars may count, so the bound here is twice the one on parsed nodes.
 */
export function nestingScan(file: string, text: string): void {
  const [DQ, SQ, BACKSLASH, HASH] = [0x22, 0x27, 0x5c, 0x23];
  const limit = MAX_DEPTH * 2;
  let depth = 0;
  let prev = 0x0a;
  // Where a value (and so a quoted string) can start; a quote elsewhere is text (it's, 5").
  const opener = (ch: number) =>
    ch <= 0x20 || ch === 0x5b || ch === 0x7b || ch === 0x2c || ch === 0x3a || ch === 0x2d || ch === 0x3f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c === DQ || c === SQ) && opener(prev)) {
      // Skip to the string's end: \" escapes in double quotes, '' in single quotes.
      for (;;) {
        const end = text.indexOf(c === DQ ? '"' : "'", i + 1);
        if (end === -1) {
          i = text.length;
          break;
        }
        let slashes = 0;
        while (c === DQ && text.charCodeAt(end - 1 - slashes) === BACKSLASH) slashes++;
        i = end;
        if (slashes % 2 === 1) continue;
        if (c === SQ && text.charCodeAt(end + 1) === SQ) {
          i = end + 1;
          continue;
        }
        break;
      }
    } else if (c === HASH && prev <= 0x20) {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? text.length : nl;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) {
        const pos = linePos(text, i);
        throw new InputError(
          `${file}:${pos.line}:${pos.col}: nesting deeper than ${limit} levels of [ and {, the limit for input files`,
        );
      }
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
    prev = text.charCodeAt(i);
  }
}

/** Parses every YAML document in `text`; YAML syntax errors become an InputError with line and column. */
export function parseYamlDocs(
  file: string,
  text: string,
  opts: { env?: NodeJS.ProcessEnv } = {},
): SourceDoc[] {
  nestingScan(file, text);
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  const errors = list.flatMap((d) => d.errors);
  if (errors.length > 0) {
    const msgs = errors.map((e) => {
      const pos = lines.linePos(e.pos[0]);
      // `${VAR}` is substituted after parsing, so inside a flow collection it must be quoted.
      const hint = text.startsWith('${', e.pos[0] - 1)
        ? ' (a ${VAR} inside { } or [ ] needs quotes: "${VAR}")'
        : '';
      return `${file}:${pos.line}:${pos.col}: ${firstLine(e.message)}${hint}`;
    });
    throw new InputError(`invalid YAML\n  ${msgs.join('\n  ')}`);
  }
  return list
    .filter((d) => d.contents !== null)
    .map((doc) => {
      const src: SourceDoc = { file, doc, lines, value: undefined };
      const firstAlias = walk(src, text, opts.env);
      try {
        src.value = doc.toJS({ maxAliasCount: MAX_ALIASES }) as unknown;
      } catch (err) {
        if (!(err instanceof ReferenceError) || !firstAlias) throw err;
        throw new InputError(
          `${at(src, firstAlias.node)}: ${formatPath(firstAlias.path)}: aliases of aliases in this document multiply past ${MAX_ALIASES} (an alias bomb?); write the values out instead`,
        );
      }
      return src;
    });
}

function at(src: SourceDoc, node: Node): string {
  const p = src.lines.linePos(node.range?.[0] ?? 0);
  return `${src.file}:${p.line}:${p.col}`;
}

/**
 * One pass over a document's nodes (iterative: no recursion on hostile input): depth and alias
 * bounds, and `${VAR}` substitution in scalars when `env` is given. Returns the first alias.
 */
function walk(
  src: SourceDoc,
  text: string,
  env: NodeJS.ProcessEnv | undefined,
): { node: Node; path: PropertyKey[] } | null {
  const root = src.doc.contents as Node | null;
  if (!root) return null;
  const stack: { node: Node; path: PropertyKey[] }[] = [{ node: root, path: [] }];
  let aliases = 0;
  let first: { node: Node; path: PropertyKey[] } | null = null;
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (path.length > MAX_DEPTH) {
      throw new InputError(
        `${at(src, node)}: ${formatPath(path.slice(0, 8))}…: nesting deeper than ${MAX_DEPTH} levels, the limit for input files`,
      );
    }
    if (isAlias(node)) {
      first ??= { node, path };
      if (++aliases > MAX_ALIASES) {
        throw new InputError(
          `${at(src, node)}: ${formatPath(path)}: more than ${MAX_ALIASES} aliases in one document (an alias bomb?); write the values out instead`,
        );
      }
    } else if (isScalar(node)) {
      if (env && typeof node.value === 'string' && node.value.includes('$'))
        substitute(src, text, node, path, env);
    } else if (isMap(node)) {
      for (let i = node.items.length - 1; i >= 0; i--) {
        const pair = node.items[i]!;
        const key = isScalar(pair.key) ? String(pair.key.value) : i;
        if (env && isScalar(pair.key) && typeof pair.key.value === 'string' && pair.key.value.includes('$'))
          substitute(src, text, pair.key, [...path, key], env);
        if (isNode(pair.value)) stack.push({ node: pair.value, path: [...path, key] });
        if (isNode(pair.key) && !isScalar(pair.key)) stack.push({ node: pair.key, path: [...path, key] });
      }
    } else if (isSeq(node)) {
      for (let i = node.items.length - 1; i >= 0; i--) {
        const item = node.items[i];
        if (isPair(item)) {
          if (isNode(item.value)) stack.push({ node: item.value, path: [...path, i] });
        } else if (isNode(item)) stack.push({ node: item, path: [...path, i] });
      }
    }
  }
  return first;
}

const VAR = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * `${VAR}` / `${VAR:-default}` in one scalar value (never in comments or keys' syntax), `$${VAR}`
 * for a literal `${VAR}`. An unquoted value that becomes a number or true/false is one.
 */
function substitute(
  src: SourceDoc,
  text: string,
  node: Scalar,
  path: PropertyKey[],
  env: NodeJS.ProcessEnv,
): void {
  const raw = node.value as string;
  let changed = false;
  const out = raw.replace(VAR, (m, escaped: string, name: string, dflt: string | undefined) => {
    changed = true;
    if (escaped) return m.slice(1);
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (dflt !== undefined) return dflt;
    // Point at the `${NAME` itself when it is in the source as written.
    const [start, end] = node.range ?? [0, 0];
    const idx = text.slice(start, end).indexOf(`\${${name}`);
    const pos = src.lines.linePos(idx >= 0 ? start + idx : start);
    throw new InputError(
      `${src.file}:${pos.line}:${pos.col}: ${formatPath(path)}: environment variable ${name} is not set and has no default (write \${${name}:-value} for one)`,
    );
  });
  if (!changed) return;
  node.value = node.type === 'PLAIN' ? retype(out) : out;
}

function retype(s: string): string | number | boolean {
  if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(s)) return Number(s);
  if (s === 'true' || s === 'false') return s === 'true';
  return s;
}

export function parseYamlFile(file: string, label: string, env: NodeJS.ProcessEnv = {}): SourceDoc {
  const docs = parseYamlDocs(file, readSource(file, label), { env });
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
