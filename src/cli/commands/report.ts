import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { reporters, writeChunks, type Reporter, type ReporterName } from '../../../reporters/index.ts';
import { InputError } from '../../errors.ts';
import { runResultSchema, type RunResult } from '../../result.ts';
import { migrateResult } from '../../results/migrate.ts';
import { failWith, parseYamlDocs, readSource, zodProblems } from '../../scenario/yaml.ts';
import { VERSION } from '../../version.ts';
import type { Command } from './index.ts';

/** --format values: the reporter names plus `md` for markdown. */
export const REPORT_FORMATS = ['console', 'json', 'markdown', 'md', 'html', 'junit', 'ndjson'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
export const reporterFor = (f: ReportFormat): ReporterName => (f === 'md' ? 'markdown' : f);

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
  if (parsed?.success) return parsed.data;
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

export const reportCommand: Command = (cli, setCode) =>
  cli.command(
    'report <results>',
    're-render a saved results.json as console text, JSON, Markdown, HTML or JUnit XML',
    (y) =>
      y
        .positional('results', {
          type: 'string',
          demandOption: true,
          describe: 'a results.json written by chaos run --out (or its directory)',
        })
        .option('format', {
          choices: REPORT_FORMATS,
          default: 'console' as ReportFormat,
          describe: 'report format',
        })
        .option('out', {
          type: 'string',
          describe: 'write to this file (or into this directory under the default name) instead of stdout',
        }),
    async (args) => {
      const result = readResultFile(args.results);
      const reporter: Reporter = reporters[reporterFor(args.format)];
      const chunks = reporter.chunks?.(result) ?? [reporter.render(result)];
      if (!args.out) {
        for (const c of chunks)
          if (!process.stdout.write(c)) await new Promise((ok) => process.stdout.once('drain', ok));
      } else {
        const isDir = existsSync(args.out) && statSync(args.out).isDirectory();
        const file = isDir ? join(args.out, reporter.file || 'report.txt') : args.out;
        try {
          mkdirSync(dirname(file), { recursive: true });
          writeChunks(file, chunks);
        } catch (err) {
          throw new InputError(`--out ${file}: cannot write the report: ${(err as Error).message}`);
        }
        process.stderr.write(`wrote ${file}\n`);
      }
      setCode(0);
    },
  );
