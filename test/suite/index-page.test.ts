/**
 * The suite's artifacts: the merged junit.xml (junit-10.xsd, times add up), and the GitHub job
 * summary (suite table first, each report collapsed after it, no links that cannot resolve).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { junit } from '../../reporters/junit.ts';
import { markdown } from '../../reporters/markdown.ts';
import { writeSuiteIndex } from '../../src/suite/index-page.ts';
import { tempDir } from '../helpers/files.ts';
import { partitionRun, synthetic } from '../reporters/synthetic.ts';
import { XMLLINT, xsdErrors } from '../reporters/tools.ts';

/** An artifacts folder as resilience-pipeline.sh leaves it: two reported scenarios and one without. */
function artifacts(): string {
  const dir = tempDir();
  const put = (name: string, files: Record<string, string>) => {
    mkdirSync(join(dir, name), { recursive: true });
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, name, f), text);
  };
  const a = partitionRun({ name: 'spike' });
  const b = synthetic({ name: 'steady', seconds: 10, at: () => ({ ok: 100, failed: 0, ms: 10 }) });
  put('spike', {
    'results.json': JSON.stringify(a),
    'report.md': `${markdown.render(a)}\nSee [the HTML report](report.html), ![chart](chart.png), <a href="results.json">JSON</a> and [the docs](https://example.org/docs).\n`,
    'junit.xml': junit.render(a),
    'exit-code': '0\n',
    'compare.json': JSON.stringify({ regressions: [{ message: 'p99 | rose\n40%' }] }),
  });
  put('steady', {
    'results.json': JSON.stringify(b),
    'report.md': markdown.render(b),
    'junit.xml': junit.render(b),
    'exit-code': '0\n',
  });
  put('broken', { 'exit-code': '2\n' });
  writeSuiteIndex(dir, 'weekly', ['spike', 'steady', 'broken'], 1);
  return dir;
}

describe('job-summary.md (for $GITHUB_STEP_SUMMARY)', () => {
  const dir = artifacts();
  const md = readFileSync(join(dir, 'job-summary.md'), 'utf8');

  it('puts the suite table first and each scenario in a collapsed <details> after it', () => {
    expect(md.startsWith('# Resilience suite weekly: failed (exit 1)\n\n| | scenario | verdict |')).toBe(
      true,
    );
    const table = md.indexOf('| ❌ | `spike` |');
    const firstDetails = md.indexOf('<details>');
    expect(table).toBeGreaterThan(0);
    expect(firstDetails).toBeGreaterThan(md.indexOf('| ❌ | `broken` |'));
    const summaries = [...md.matchAll(/<details><summary>([^<]*)<\/summary>\n\n/g)].map((m) => m[1]);
    expect(summaries).toEqual([
      'spike: pass, score 83.9 (B), exit 0',
      'steady: pass, score 100 (A), exit 0',
      'broken: invalid input, exit 2',
    ]);
    expect(md.match(/<\/details>/g)).toHaveLength(3);
    expect(md).toContain('## ✅ spike: PASS');
    expect(md).toContain('No report: the scenario exited 2 (invalid input) without one');
  });

  it('has no link that cannot resolve in a job summary (only absolute http(s) links stay)', () => {
    const links = [...md.matchAll(/\]\(([^)]*)\)/g), ...md.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!);
    expect(links).toEqual(['https://example.org/docs']);
    expect(md).toContain('See the HTML report, chart, JSON and [the docs](https://example.org/docs).');
  });

  it('keeps a regression with a pipe or a line break inside its table cell', () => {
    expect(md).toContain('| p99 \\| rose 40% |');
  });

  it('summary.md in the artifacts keeps its links to the reports beside it', () => {
    expect(readFileSync(join(dir, 'summary.md'), 'utf8')).toContain('[spike](spike/report.md)');
  });
});

describe('the merged junit.xml', () => {
  const dir = artifacts();
  const xml = readFileSync(join(dir, 'junit.xml'), 'utf8');

  it('is valid against junit-10.xsd and the repository schema', (ctx) => {
    if (!XMLLINT) return ctx.skip('xmllint is not installed: JUnit XML not validated');
    const r = spawnSync(
      XMLLINT,
      ['--noout', '--schema', join(import.meta.dirname, '../reporters/junit-10.xsd'), join(dir, 'junit.xml')],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(xsdErrors(join(dir, 'junit.xml'))).toBeNull();
  });

  it('totals and time are the sums of its suites; no skipped on <testsuites>', () => {
    const top = /<testsuites [^>]*>/.exec(xml)![0];
    expect(top).not.toMatch(/skipped=/);
    const suites = [...xml.matchAll(/<testsuite [^>]*>/g)].map((m) => m[0]);
    expect(suites).toHaveLength(4); // spike, spike's regression, steady, broken
    const attr = (tag: string, name: string) => Number(new RegExp(`\\b${name}="([\\d.]+)"`).exec(tag)![1]);
    for (const a of ['tests', 'failures', 'errors'])
      expect(attr(top, a)).toBe(suites.reduce((n, s) => n + attr(s, a), 0));
    expect(attr(top, 'time') * 1000).toBe(suites.reduce((n, s) => n + Math.round(attr(s, 'time') * 1000), 0));
    expect(attr(top, 'time')).toBe(70); // 60 s + 10 s of measured seconds
  });
});
