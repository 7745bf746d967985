import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { reporterNames, reporters, writeReports } from '../../reporters/index.ts';
import { tempDir } from '../helpers/files.ts';
import { partitionRun } from './synthetic.ts';

const result = partitionRun();

afterEach(() => {
  vi.restoreAllMocks();
});

describe('writeReports', () => {
  it('writes each file report into the directory and renders the console report to the log', () => {
    const dir = join(tempDir(), 'nested', 'out');
    const log: string[] = [];
    const r = writeReports(result, dir, reporterNames, (l) => log.push(l), {});
    expect(r).toEqual({
      written: ['results.json', 'report.md', 'report.html', 'junit.xml', 'samples.ndjson'].map((f) =>
        join(dir, f),
      ),
      failed: [],
    });
    expect(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'))).toEqual(result);
    expect(log).toHaveLength(1);
    expect(log[0]).toContain('verdict: PASS — resilience score');
  });

  it('a reporter that throws is logged and listed; the others are still written', () => {
    vi.spyOn(reporters.html, 'render').mockImplementation(() => {
      throw new Error('boom in html');
    });
    const dir = tempDir();
    const log: string[] = [];
    const r = writeReports(result, dir, ['json', 'html', 'junit'], (l) => log.push(l), {});
    expect(r.failed).toEqual([{ name: 'html', error: 'boom in html' }]);
    expect(r.written).toEqual([join(dir, 'results.json'), join(dir, 'junit.xml')]);
    expect(existsSync(join(dir, 'report.html'))).toBe(false);
    expect(log).toEqual(['chaoskit: the html report could not be rendered: boom in html']);
  });

  it('a streamed report that fails half-way is logged and leaves no partial file', () => {
    vi.spyOn(reporters.ndjson, 'chunks').mockImplementation(function* () {
      yield '{"type":"Metric"}\n';
      throw new Error('boom in ndjson');
    });
    const dir = tempDir();
    const log: string[] = [];
    const r = writeReports(result, dir, ['json', 'ndjson'], (l) => log.push(l), {});
    expect(r.failed).toEqual([{ name: 'ndjson', error: 'boom in ndjson' }]);
    expect(r.written).toEqual([join(dir, 'results.json')]);
    expect(existsSync(join(dir, 'samples.ndjson'))).toBe(false);
    expect(log).toEqual(['chaoskit: the ndjson report could not be rendered: boom in ndjson']);
  });

  it('a directory that cannot be written fails every file report without throwing', () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'x');
    const log: string[] = [];
    const r = writeReports(result, join(file, 'out'), ['json', 'markdown'], (l) => log.push(l), {});
    expect(r.written).toEqual([]);
    expect(r.failed.map((f) => f.name)).toEqual(['json', 'markdown']);
    expect(log[0]).toMatch(
      /^chaoskit: the json report could not be written to .*a-file\/out\/results\.json: /,
    );
  });

  it('with GITHUB_STEP_SUMMARY set, the Markdown report is appended to it, after what was there', () => {
    const summary = join(tempDir(), 'step-summary.md');
    writeFileSync(summary, '# earlier step\n\n');
    const dir = tempDir();
    writeReports(result, dir, ['markdown', 'junit'], () => {}, { GITHUB_STEP_SUMMARY: summary });
    writeReports(result, dir, ['markdown'], () => {}, { GITHUB_STEP_SUMMARY: summary });
    const text = readFileSync(summary, 'utf8');
    expect(text.startsWith('# earlier step\n\n## ✅ partition: PASS')).toBe(true);
    expect(text.split('## ✅ partition: PASS').length - 1).toBe(2);
    expect(text).toContain(readFileSync(join(dir, 'report.md'), 'utf8').trimEnd());
  });

  it('reads GITHUB_STEP_SUMMARY from the process environment by default, and a bad path is only logged', () => {
    const bad = join(tempDir(), 'missing-dir', 'summary.md');
    vi.stubEnv('GITHUB_STEP_SUMMARY', bad);
    const log: string[] = [];
    const r = writeReports(result, tempDir(), ['markdown'], (l) => log.push(l));
    vi.unstubAllEnvs();
    expect(r.written).toHaveLength(1);
    expect(r.failed).toEqual([{ name: 'markdown', error: expect.stringContaining('ENOENT') }]);
    expect(log[0]).toContain('could not be appended to GITHUB_STEP_SUMMARY');
  });
});
