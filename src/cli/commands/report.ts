import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ReporterName } from '../../../reporters/names.ts';
import type { Reporter } from '../../../reporters/shared.ts';
import { InputError } from '../../core/errors.ts';
import type { Command } from './index.ts';

/** --format values: the reporter names plus `md` for markdown. */
export const REPORT_FORMATS = ['console', 'json', 'markdown', 'md', 'html', 'junit', 'ndjson'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
export const reporterFor = (f: ReportFormat): ReporterName => (f === 'md' ? 'markdown' : f);

export const reportCommand: Command = (cli, setCode) =>
  cli.command(
    'report <results>',
    're-render a saved results.json as console text, JSON, Markdown, HTML, JUnit XML or k6 NDJSON',
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
      const [{ readResultFile }, { isIoError, reporters, writeChunks }] = await Promise.all([
        import('../../results/read.ts'),
        import('../../../reporters/index.ts'),
      ]);
      const result = readResultFile(args.results);
      const reporter: Reporter = reporters[reporterFor(args.format)];
      const chunks = reporter.chunks?.(result) ?? [reporter.render(result)];
      if (!args.out) {
        await writeToStdout(chunks);
      } else {
        const isDir = existsSync(args.out) && statSync(args.out).isDirectory();
        const file = isDir ? join(args.out, reporter.file || 'report.txt') : args.out;
        try {
          mkdirSync(dirname(file), { recursive: true });
          writeChunks(file, chunks);
        } catch (err) {
          if (!isIoError(err)) throw err; // rendering failed: an internal error, as on stdout
          throw new InputError(`--out ${file}: cannot write the report: ${(err as Error).message}`);
        }
        process.stderr.write(`wrote ${file}\n`);
      }
      setCode(0);
    },
  );

/**
 * Writes chunks to stdout with backpressure. A reader that goes away (`| head`) ends the output
 * quietly, as with any Unix filter; no stack trace.
 */
async function writeToStdout(chunks: Iterable<string>): Promise<void> {
  const out = process.stdout;
  let gone: Error | null = null;
  const onError = (err: Error) => (gone = err);
  out.on('error', onError);
  try {
    for (const c of chunks) {
      if (gone) break;
      if (!out.write(c))
        await new Promise<void>((ok) => {
          const done = () => {
            out.off('drain', done);
            out.off('error', done);
            out.off('close', done);
            ok();
          };
          out.once('drain', done);
          out.once('error', done);
          out.once('close', done);
        });
    }
  } finally {
    if (!gone) out.off('error', onError); // after an EPIPE, later ones are swallowed too
  }
  if (gone && (gone as NodeJS.ErrnoException).code !== 'EPIPE') throw gone;
}
