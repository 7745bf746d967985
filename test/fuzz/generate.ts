/**
 * Seeded generators for the fuzz tests: valid base documents, and mutations of them that a
 * careless editor, a bad merge, a hostile file or a shell typo could produce. The same seed
 * always gives the same cases (FUZZ_SEED=n to explore others; the seed is in every case's name).
 */
import { stringify } from 'yaml';

/** mulberry32: small, fast, good enough to pick mutations. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rand = () => number;
export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
export const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

/** Values that break assumptions: types, signs, bounds, units, quoting, interpolation, size. */
export const JUNK: readonly unknown[] = [
  -1,
  0,
  1,
  1.5,
  1e21,
  2 ** 53 + 2,
  1e308,
  -0,
  '',
  ' ',
  'abc',
  '10',
  '150%',
  '100.0001%',
  '-5%',
  '0.5',
  '30d',
  '8d',
  '7d',
  '1e400d',
  `${'9'.repeat(40)}s`,
  '250',
  '-5s',
  '0s',
  '1m30',
  '${UNSET_FUZZ_VAR}',
  '${FUZZ_X:-12}',
  '$${NOT_A_VAR}',
  `it's "quoted": a # b`,
  'a: b',
  '- x',
  '[1, 2',
  '{a: 1',
  '*alias',
  '&anchor x',
  'null',
  null,
  true,
  false,
  [],
  {},
  [1, 'two', null],
  { a: { b: { c: 1 } } },
  'x'.repeat(5000),
  '\u0000\u0007',
  '😀 unicode ünïcödé',
  '0x10',
  '1_000',
  '.inf',
  '.nan',
  'p(95)<500',
  'error-rate > 150%',
  'peak + 30d',
  'phase 99',
  'end - 1s',
  '/items/{{randInt 1 100}}',
];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Paths to every node of a JSON-like value. */
function paths(
  v: unknown,
  at: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

function setAt(
  root: unknown,
  path: (string | number)[],
  f: (old: unknown) => unknown | typeof DELETE,
): unknown {
  if (path.length === 0) {
    const n = f(root);
    return n === DELETE ? null : n;
  }
  let node = root as Record<string | number, unknown>;
  for (const seg of path.slice(0, -1)) node = node[seg] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  const n = f(node[last]);
  if (n === DELETE) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete node[last];
  } else node[last] = n;
  return root;
}
const DELETE = Symbol('delete');

/** One structural mutation of a parsed document (a deep copy is mutated and returned). */
export function mutateValue(r: Rand, doc: unknown, skip?: (path: (string | number)[]) => boolean): unknown {
  const copy = structuredClone(doc) as Json;
  const all = paths(copy).filter((p) => !skip?.(p));
  const path = pick(r, all.length > 1 ? all.slice(1) : all);
  const op = int(r, 0, 7);
  switch (op) {
    case 0:
    case 1:
    case 2:
      return setAt(copy, path, () => structuredClone(pick(r, JUNK)));
    case 3:
      return setAt(copy, path, () => DELETE);
    case 4:
      return setAt(copy, path, (old) =>
        old && typeof old === 'object' && !Array.isArray(old)
          ? { ...old, [pick(r, ['bogus', 'colour', 'Rate', 'kind'])]: pick(r, JUNK) }
          : [old],
      );
    case 5:
      return setAt(copy, path, (old) => ({ wrapped: old }));
    case 6: {
      // Deep nesting where one level was expected.
      let v: unknown = 1;
      for (let i = int(r, 10, 200); i > 0; i--) v = r() < 0.5 ? [v] : { k: v };
      return setAt(copy, path, () => v);
    }
    default:
      return setAt(copy, path, (old) =>
        typeof old === 'number' ? -old * 1e6 : typeof old === 'string' ? `${old}${old}` : old,
      );
  }
}

/** One textual mutation: what no structural edit produces (syntax, aliases, encodings, cuts). */
export function mutateText(r: Rand, text: string): string {
  const lines = text.split('\n');
  const i = int(r, 0, Math.max(0, lines.length - 1));
  switch (int(r, 0, 11)) {
    case 0:
      return text.slice(0, int(r, 0, text.length));
    case 1: {
      const at = int(r, 0, text.length);
      return (
        text.slice(0, at) +
        pick(r, ['"', "'", '{', '[', ':', '\t', '#', '&', '*', '|', '>', '%', '@', '`', '\\', '\u0000']) +
        text.slice(at)
      );
    }
    case 2:
      lines.splice(i, 0, lines[i] ?? '');
      return lines.join('\n'); // a duplicated key or item
    case 3:
      lines[i] = ` ${lines[i]}`;
      return lines.join('\n');
    case 4: {
      // A billion laughs.
      const bomb = ['lol0: &l0 [x, x, x, x, x, x, x, x, x, x]'];
      for (let k = 1; k < int(r, 3, 9); k++)
        bomb.push(
          `lol${k}: &l${k} [${Array(10)
            .fill(`*l${k - 1}`)
            .join(', ')}]`,
        );
      return `${bomb.join('\n')}\n${text}`;
    }
    case 5:
      return `${text}\n---\n${text}`;
    case 6:
      return `\ufeff${text}`;
    case 7:
      return text.replace(/: /g, r() < 0.5 ? ':' : ' : ');
    case 8:
      return `${'['.repeat(int(r, 100, 50_000))}${']'.repeat(int(r, 0, 50_000))}`;
    case 9:
      return text.replace(/\n/g, '\r\n');
    case 10:
      return `x: &a ${stringify(pick(r, JUNK)).trim()}\ny: *a\nz: *missing\n${text}`;
    default:
      return lines.filter((_, k) => k !== i).join('\n');
  }
}

/** A generated document: structural mutations, then sometimes a textual one. */
export function mutant(
  r: Rand,
  base: unknown,
  json = false,
  skip?: (path: (string | number)[]) => boolean,
): string {
  let v = base;
  for (let n = int(r, 1, 3); n > 0; n--) v = mutateValue(r, v, skip);
  const text = json ? JSON.stringify(v, null, r() < 0.5 ? 2 : 0) : stringify(v, { lineWidth: 0 });
  return r() < 0.35 ? mutateText(r, text) : text;
}
