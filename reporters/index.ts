/**
 * The reporter registry, and writeReports: render each named report into a directory. A reporter
 * that throws (or a file that cannot be written) is logged and listed in `failed`, never thrown:
 * a broken report must not break the run that produced the result.
 */
import { appendFileSync, closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../src/result.ts';
import { consoleReporter } from './console.ts';
import { html } from './html.ts';
import { json } from './json.ts';
import { junit } from './junit.ts';
import { markdown } from './markdown.ts';
import { ndjson } from './ndjson.ts';
import { REPORTER_NAMES, type ReporterName } from './names.ts';
import type { Reporter } from './shared.ts';

export type { Reporter } from './shared.ts';

export const reporters = {
  console: consoleReporter,
  json,
  markdown,
  html,
  junit,
  ndjson,
} as const satisfies Record<ReporterName, Reporter>;
export type { ReporterName };
export const reporterNames: readonly ReporterName[] = REPORTER_NAMES;

/** One report as a string (the library's `render(result, 'markdown')`). */
export function render(result: RunResult, name: ReporterName): string {
  return reporters[name].render(result);
}

export interface WriteReportsResult {
  /** Paths written, in the order of `names`. */
  written: string[];
  failed: { name: string; error: string }[];
}

/**
 * Renders each reporter in `names` into `outDir` under its default file name; the console
 * reporter (no file) is rendered to `log`. With $GITHUB_STEP_SUMMARY set, the Markdown report
 * is also appended to that file.
 */
export function writeReports(
  result: RunResult,
  outDir: string,
  names: readonly ReporterName[],
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): WriteReportsResult {
  const written: string[] = [];
  const failed: { name: string; error: string }[] = [];
  const fail = (name: string, what: string, err: unknown) => {
    const error = err instanceof Error ? err.message : String(err);
    failed.push({ name, error });
    log(`chaoskit: the ${name} report ${what}: ${error}`);
  };
  for (const name of names) {
    const reporter: Reporter = reporters[name];
    const file = join(outDir, reporter.file);
    if (reporter.chunks && reporter.file) {
      try {
        mkdirSync(outDir, { recursive: true });
        writeChunks(file, reporter.chunks(result));
        written.push(file);
      } catch (err) {
        fail(name, isIoError(err) ? `could not be written to ${file}` : 'could not be rendered', err);
      }
      continue;
    }
    let text: string;
    try {
      text = reporter.render(result);
    } catch (err) {
      fail(name, 'could not be rendered', err);
      continue;
    }
    if (!reporter.file) {
      log(text.replace(/\n$/, ''));
      continue;
    }
    try {
      mkdirSync(outDir, { recursive: true });
      writeFileSync(file, text);
      written.push(file);
    } catch (err) {
      fail(name, `could not be written to ${file}`, err);
      continue;
    }
    const summary = env.GITHUB_STEP_SUMMARY;
    if (name === 'markdown' && summary) {
      try {
        appendFileSync(summary, `${text.replace(/\n*$/, '')}\n\n`);
      } catch (err) {
        fail(name, `could not be appended to GITHUB_STEP_SUMMARY (${summary})`, err);
      }
    }
  }
  return { written, failed };
}

/**
 * Writes a report piece by piece, so its whole text is never in memory at once. On any failure
 * (rendering a piece, or writing it) the partial file is removed and the error rethrown.
 */
export function writeChunks(file: string, chunks: Iterable<string>): void {
  const fd = openSync(file, 'w');
  try {
    for (const c of chunks) writeSync(fd, c);
  } catch (err) {
    closeSync(fd);
    try {
      rmSync(file, { force: true }); // no half-written report left behind
    } catch {
      // the error that matters is the one rethrown
    }
    throw err;
  }
  closeSync(fd);
}

/** A failure of the file system (it has an errno code), as opposed to one of rendering. */
export const isIoError = (err: unknown): boolean =>
  typeof (err as NodeJS.ErrnoException | null)?.code === 'string';
