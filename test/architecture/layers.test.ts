/**
 * The layers of src/: no directories import each other's values around any circle, and the
 * ground floor (src/core) stands on nothing else of ours (docs/architecture.md, "Layers").
 *
 *   core ← metrics, targets ← slo, faults/ ← scenario, safety ← load ← probes, input ← run, cli
 *
 * A unit is a directory directly under src/ (src/proxy/h2 is part of proxy), a file directly in
 * src/ (src/run.ts), or one of the two source trees the package builds beside it, faults/ and
 * reporters/ (each one unit). An edge is a value import between two units: `import … from`,
 * `import '…'` and `export … from`; `import type` and `export type` are erased, so they do not
 * count (an `import { type A }` does: the module is still loaded). A dynamic `import()` is lazy
 * and does not count either.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
/** The trees read: src/ and the two the build compiles with it (tsconfig.build.json). */
const TREES = ['src', 'faults', 'reporters'];

interface Import {
  /** The importing file, relative to the repository root. */
  from: string;
  /** The imported file, relative to the repository root. */
  to: string;
  /** Erased at run time (`import type`, `export type`). */
  typeOnly: boolean;
  /** `import('…')`. */
  dynamic: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.(ts|mts|mjs)$/.test(e.name) ? [p] : [];
  });
}

/** Every relative import of one file, from its syntax tree (so comments and strings are not read). */
function importsOf(file: string, text: string): Import[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const out: Import[] = [];
  const add = (spec: ts.Expression | undefined, typeOnly: boolean, dynamic: boolean) => {
    if (!spec || !ts.isStringLiteral(spec) || !spec.text.startsWith('.')) return;
    const to = relative(ROOT, resolve(dirname(join(ROOT, file)), spec.text))
      .split(sep)
      .join('/');
    out.push({ from: file, to, typeOnly, dynamic });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node))
      add(node.moduleSpecifier, node.importClause?.isTypeOnly ?? false, false);
    else if (ts.isExportDeclaration(node)) add(node.moduleSpecifier, node.isTypeOnly, false);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
      add(node.arguments[0], false, true);
    else if (ts.isImportTypeNode(node)) return; // typeof import('…') in a type
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The unit of a file: its top directory under src/, the file directly in src/, faults/ or reporters/; else null. */
function unitOf(path: string): string | null {
  const parts = path.split('/');
  if ((parts[0] === 'faults' || parts[0] === 'reporters') && parts.length > 1) return `${parts[0]}/`;
  if (parts[0] !== 'src' || parts.length < 2) return null;
  return parts.length === 2 ? parts[1]! : `${parts[1]}/`;
}

/** Value-import edges between units, each with the file imports that make it. */
function unitEdges(imports: Import[]): Map<string, Map<string, string[]>> {
  const edges = new Map<string, Map<string, string[]>>();
  for (const i of imports) {
    if (i.typeOnly || i.dynamic) continue;
    const a = unitOf(i.from);
    const b = unitOf(i.to);
    if (a === null || b === null || a === b) continue;
    const byTarget = edges.get(a) ?? new Map<string, string[]>();
    edges.set(a, byTarget);
    const files = byTarget.get(b) ?? [];
    byTarget.set(b, files);
    files.push(`${i.from} -> ${i.to}`);
  }
  return edges;
}

/** Strongly connected components with more than one unit (Tarjan): each is a set of units in a circle. */
function cycles(edges: Map<string, Map<string, string[]>>): string[][] {
  const nodes = new Set<string>();
  for (const [a, to] of edges) {
    nodes.add(a);
    for (const b of to.keys()) nodes.add(b);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const connect = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of [...nodes].sort()) if (!index.has(v)) connect(v);
  return out;
}

/** One line per unit edge inside a circle, then the file imports that make it. */
function describeCycles(edges: Map<string, Map<string, string[]>>): string[] {
  return cycles(edges).flatMap((scc) => {
    const inside = new Set(scc);
    const lines = [`circle: ${scc.join(', ')}`];
    for (const a of scc)
      for (const [b, files] of edges.get(a) ?? [])
        if (inside.has(b)) lines.push(`  ${a} -> ${b}`, ...files.map((f) => `      ${f}`));
    return lines;
  });
}

/** Imports from src/core to anywhere else in the repository, of any kind. */
function coreLeaks(imports: Import[]): string[] {
  return imports
    .filter((i) => i.from.startsWith('src/core/') && !i.to.startsWith('src/core/'))
    .map((i) => `${i.from} -> ${i.to}`);
}

const files = TREES.flatMap((t) => sourceFiles(join(ROOT, t))).map((p) =>
  relative(ROOT, p).split(sep).join('/'),
);
const imports = files.flatMap((f) => importsOf(f, readFileSync(join(ROOT, f), 'utf8')));

describe('the layers of src/ (with faults/ and reporters/)', () => {
  it('reads the tree (a scan that found nothing would pass vacuously)', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(imports.filter((i) => !i.typeOnly && !i.dynamic).length).toBeGreaterThan(300);
    expect(unitEdges(imports).size).toBeGreaterThan(10);
  });

  it('has no circle of value imports between directories', () => {
    expect(describeCycles(unitEdges(imports)).join('\n')).toBe('');
  });

  it('src/core imports nothing outside src/core (types and lazy imports included)', () => {
    expect(coreLeaks(imports)).toEqual([]);
  });
});

describe('the checker itself', () => {
  const imp = (from: string, to: string, typeOnly = false, dynamic = false): Import => ({
    from,
    to,
    typeOnly,
    dynamic,
  });

  it('finds a circle and names the files of each edge; type-only and lazy imports do not count', () => {
    const edges = unitEdges([
      imp('src/a/x.ts', 'src/b/y.ts'),
      imp('src/b/y.ts', 'src/c/z.ts'),
      imp('src/c/z.ts', 'src/a/w.ts'),
      imp('src/c/z.ts', 'src/d/v.ts', true),
      imp('src/d/v.ts', 'src/c/z.ts'),
      imp('src/e/u.ts', 'src/a/x.ts', false, true),
      imp('src/a/x.ts', 'src/e/u.ts'),
      imp('src/a/x.ts', 'src/a/w.ts'),
    ]);
    expect(describeCycles(edges)).toEqual([
      'circle: a/, b/, c/',
      '  a/ -> b/',
      '      src/a/x.ts -> src/b/y.ts',
      '  b/ -> c/',
      '      src/b/y.ts -> src/c/z.ts',
      '  c/ -> a/',
      '      src/c/z.ts -> src/a/w.ts',
    ]);
  });

  it('finds any import out of src/core, a type-only or lazy one too', () => {
    expect(
      coreLeaks([
        imp('src/core/a.ts', 'src/core/b.ts'),
        imp('src/core/a.ts', 'src/load/x.ts', true),
        imp('src/core/a.ts', 'src/units.ts', false, true),
        imp('src/load/x.ts', 'src/core/a.ts'),
      ]),
    ).toEqual(['src/core/a.ts -> src/load/x.ts', 'src/core/a.ts -> src/units.ts']);
  });

  it('reads import kinds from the syntax, not from comments', () => {
    const text = [
      "/** import { x } from '../b/in-a-comment.ts' */",
      "import type { T } from '../b/types.ts';",
      "import { type U, v } from '../b/mixed.ts';",
      "import '../b/side-effect.ts';",
      "export { w } from '../b/reexport.ts';",
      "export type { X } from '../b/reexport-type.ts';",
      "const lazy = () => import('../b/lazy.ts');",
      "type M = typeof import('../b/type-query.ts');",
      "import { z } from 'zod';",
    ].join('\n');
    expect(importsOf('src/a/f.ts', text).map((i) => [i.to, i.typeOnly, i.dynamic])).toEqual([
      ['src/b/types.ts', true, false],
      ['src/b/mixed.ts', false, false],
      ['src/b/side-effect.ts', false, false],
      ['src/b/reexport.ts', false, false],
      ['src/b/reexport-type.ts', true, false],
      ['src/b/lazy.ts', false, true],
    ]);
  });

  it('a file directly in src/ is a unit of its own; faults/ and reporters/ are one each; tests are none', () => {
    expect(
      ['src/run.ts', 'src/proxy/h2/frames.ts', 'faults/pause.ts', 'reporters/html.ts', 'test/x.test.ts'].map(
        unitOf,
      ),
    ).toEqual(['run.ts', 'proxy/', 'faults/', 'reporters/', null]);
  });
});
