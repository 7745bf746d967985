/**
 * Request templates: text with `{{tag args}}` fields filled from the run's seeded PRNG, so the
 * same seed sends the same bodies. Compiled once at load time; rendering is a loop over parts.
 *
 *   "user-{{randInt 1 100}}" ──compile──> [lit "user-", randInt(1,100)] ──render(prng)──> "user-42"
 *
 * Tags: randInt MIN MAX (inclusive), randFloat MIN MAX, pick A B C (words or "quoted strings"),
 * randString N (letters and digits), uuid (a v4 UUID from the PRNG), seq (1, 2, 3, … per template).
 * In flows, `{{NAME}}` is a value an earlier step captured and `{{data.FIELD}}` a field of the
 * session's data row (src/load/flows.ts); which names exist is known when compiling (the scope).
 */
import type { Prng } from './prng.ts';

export type TagValue = string | number;

/** What a request knows besides the PRNG: its session's captured values and its data row. */
export interface RenderContext {
  vars: Record<string, string> | null;
  row: Record<string, string> | null;
}

/** Names a template may use besides the random tags (absent: none). */
export interface TemplateScope {
  /** Values captured by earlier steps of the flow. */
  vars?: ReadonlySet<string>;
  /** The data file's fields (null: no data for this request; 'unchecked': the file could not be read, said elsewhere). */
  data?: ReadonlySet<string> | null | 'unchecked';
  /** Where the data comes from, for messages. */
  dataFile?: string;
}

/** A value the request needs is not there: the step fails with kind `check` instead of being sent. */
export class UnsetValue extends Error {
  constructor(readonly what: string) {
    super(what);
  }
}

interface Tag {
  /** 'number' when every value is a number (fits numeric message fields). */
  readonly kind: 'number' | 'string';
  gen(prng: Prng, ctx?: RenderContext | null): TagValue;
  /** For `pick`: the literal choices (so a bool or enum field can check them). */
  readonly choices?: readonly string[];
  /** A captured value or a data field, by name (for exporters that translate templates). */
  readonly ref?: { kind: 'var' | 'data'; name: string };
}

export interface Template {
  /** The source text, for messages. */
  readonly source: string;
  /** No tags: render() always returns the same text. */
  readonly isStatic: boolean;
  /** The template is exactly one tag (its value can be a number, not only text). */
  readonly single: Tag | null;
  /** Captured values and data fields it uses. */
  readonly refs: readonly { kind: 'var' | 'data'; name: string }[];
  /** The literal text and tags in order (exporters translate them). */
  readonly parts: readonly (
    string | { name: string; args: string[]; ref?: { kind: 'var' | 'data'; name: string } }
  )[];
  /** Throws UnsetValue when a captured value or data field it needs is missing. */
  render(prng: Prng, ctx?: RenderContext | null): string;
}

const TAG = /\{\{\s*([^}]*?)\s*\}\}/g;
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const HEX = '0123456789abcdef';
export const TAG_NAMES = ['randInt', 'randFloat', 'pick', 'randString', 'uuid', 'seq'] as const;

export class TemplateError extends Error {}

/** Compiles a template; throws TemplateError naming the tag when it is not understood. */
export function compileTemplate(source: string, scope: TemplateScope = {}): Template {
  const parts: (string | Tag)[] = [];
  const described: Template['parts'][number][] = [];
  let last = 0;
  for (const m of source.matchAll(TAG)) {
    if (m.index > last) {
      parts.push(source.slice(last, m.index));
      described.push(source.slice(last, m.index));
    }
    const tag = compileTag(m[1]!, scope);
    parts.push(tag);
    const [name = '', ...args] = splitArgs(m[1]!);
    described.push({ name, args, ...(tag.ref ? { ref: tag.ref } : {}) });
    last = m.index + m[0].length;
  }
  if (last < source.length) {
    parts.push(source.slice(last));
    described.push(source.slice(last));
  }
  const tags = parts.filter((p): p is Tag => typeof p !== 'string');
  const refs = tags.flatMap((t) => (t.ref ? [t.ref] : []));
  if (tags.length === 0)
    return { source, isStatic: true, single: null, refs, parts: described, render: () => source };
  const single = parts.length === 1 ? tags[0]! : null;
  return {
    source,
    isStatic: false,
    single,
    refs,
    parts: described,
    render(prng, ctx = null) {
      let out = '';
      for (const p of parts) out += typeof p === 'string' ? p : String(p.gen(prng, ctx));
      return out;
    },
  };
}

/** `{{NAME}}` (a captured value) or `{{data.FIELD}}` (the row's field), checked against the scope. */
function refTag(body: string, name: string, scope: TemplateScope): Tag | null {
  if (name.startsWith('data.')) {
    const field = name.slice('data.'.length);
    if (scope.data === undefined || scope.data === null)
      throw new TemplateError(
        `{{${body}}}: data fields need a data file (data: { file: … } on the load or the flow)`,
      );
    if (scope.data !== 'unchecked' && !scope.data.has(field))
      throw new TemplateError(
        `{{${body}}}: ${scope.dataFile ?? 'the data file'} has no field ${JSON.stringify(field)} (it has: ${[...scope.data].join(', ') || 'none'})`,
      );
    return {
      kind: 'string',
      ref: { kind: 'data', name: field },
      gen: (_p, ctx) => {
        const v = ctx?.row?.[field];
        if (v === undefined) throw new UnsetValue(`data field ${field} is missing from the session's row`);
        return v;
      },
    };
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || (TAG_NAMES as readonly string[]).includes(name)) return null;
  if (!scope.vars?.has(name)) return null;
  return {
    kind: 'string',
    ref: { kind: 'var', name },
    gen: (_p, ctx) => {
      const v = ctx?.vars?.[name];
      if (v === undefined)
        throw new UnsetValue(`variable ${name} is unset: the step that captures it did not match`);
      return v;
    },
  };
}

/** True when the text holds at least one `{{…}}` tag. */
export function hasTags(text: string): boolean {
  TAG.lastIndex = 0;
  return TAG.test(text);
}

function compileTag(body: string, scope: TemplateScope): Tag {
  const words = splitArgs(body);
  const [name, ...args] = words;
  if (name !== undefined && args.length === 0) {
    const ref = refTag(body, name, scope);
    if (ref) return ref;
  }
  const nums = () => {
    const n = args.map(Number);
    if (args.length !== 2 || n.some((x) => !Number.isFinite(x))) {
      throw new TemplateError(`{{${body}}}: ${name} takes two numbers, like {{${name} 1 100}}`);
    }
    if (n[0]! > n[1]!)
      throw new TemplateError(`{{${body}}}: the minimum ${n[0]} is above the maximum ${n[1]}`);
    return n as [number, number];
  };
  switch (name) {
    case 'randInt': {
      const [lo, hi] = nums();
      if (!Number.isInteger(lo) || !Number.isInteger(hi))
        throw new TemplateError(`{{${body}}}: randInt takes whole numbers`);
      return { kind: 'number', gen: (p) => lo + p.int(hi - lo + 1) };
    }
    case 'randFloat': {
      const [lo, hi] = nums();
      return { kind: 'number', gen: (p) => lo + p.next() * (hi - lo) };
    }
    case 'pick': {
      if (args.length === 0)
        throw new TemplateError(`{{${body}}}: pick needs at least one choice, like {{pick a b c}}`);
      const numeric = args.every((a) => a !== '' && Number.isFinite(Number(a)));
      const values: TagValue[] = numeric ? args.map(Number) : args;
      return {
        kind: numeric ? 'number' : 'string',
        choices: args,
        gen: (p) => values[p.int(values.length)]!,
      };
    }
    case 'randString': {
      const n = Number(args[0]);
      if (args.length !== 1 || !Number.isInteger(n) || n < 0 || n > 1_000_000) {
        throw new TemplateError(
          `{{${body}}}: randString takes a length from 0 to 1000000, like {{randString 16}}`,
        );
      }
      return {
        kind: 'string',
        gen: (p) => {
          let s = '';
          for (let i = 0; i < n; i++) s += ALNUM[p.int(ALNUM.length)];
          return s;
        },
      };
    }
    case 'uuid':
      noArgs(body, args);
      return { kind: 'string', gen: uuid };
    case 'seq': {
      noArgs(body, args);
      let n = 0;
      return { kind: 'number', gen: () => ++n };
    }
    default: {
      const known = [...TAG_NAMES, ...(scope.data ? ['data.FIELD'] : [])].join(', ');
      const vars =
        scope.vars === undefined
          ? ''
          : scope.vars.size > 0
            ? `; captured by earlier steps: ${[...scope.vars].join(', ')}`
            : '; no earlier step captures a value by that name';
      throw new TemplateError(
        `{{${body}}}: unknown tag ${JSON.stringify(name ?? '')} (known: ${known}${vars})`,
      );
    }
  }
}

function noArgs(body: string, args: string[]): void {
  if (args.length > 0) throw new TemplateError(`{{${body}}}: takes no arguments`);
}

/** Words separated by spaces; "double" or 'single' quotes keep spaces inside one argument. */
function splitArgs(s: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const m of s.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

function uuid(p: Prng): string {
  let s = '';
  for (let i = 0; i < 32; i++) {
    const c = i === 12 ? 4 : i === 16 ? 8 + p.int(4) : p.int(16);
    s += HEX[c];
    if (i === 7 || i === 11 || i === 15 || i === 19) s += '-';
  }
  return s;
}
