/**
 * Every reporter renders a real results.json: the demo's spike-with-partition at time scale 0.1,
 * run once through the real CLI. The verdict of such a short run varies with the machine, so the
 * assertions check that each report says what the verdict says, not what the verdict is.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { reporterNames, reporters, writeReports } from '../../reporters/index.ts';
import { STATUS_EMOJI } from '../../reporters/shared.ts';
import { runResultSchema, type RunResult } from '../../src/result.ts';
import { PACKAGE_ROOT } from '../../src/core/paths.ts';
import { demoEnv, runCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/files.ts';
import { CHROMIUM, dumpDom, screenshot, XMLLINT, xsdErrors } from './tools.ts';

let result: RunResult;
let dir: string;

beforeAll(async () => {
  dir = tempDir('chaoskit-reporters-');
  const env = { ...(await demoEnv()), CHAOSKIT_STATE_DIR: tempDir('chaoskit-state-') };
  const r = await runCli(
    ['run', 'spike-with-partition', '--time-scale', '0.1', '--seed', '3', '--out', dir, '--quiet'],
    env,
    120_000,
  );
  expect([0, 1], r.stderr).toContain(r.code);
  result = runResultSchema.parse(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')));
  expect(result.verdict).toBeDefined();
}, 150_000);

describe('reporters render a real run', () => {
  it('the registry lists every format, each with its default file', () => {
    expect(reporterNames).toEqual(['console', 'json', 'markdown', 'html', 'junit', 'ndjson']);
    expect(Object.fromEntries(reporterNames.map((n) => [n, reporters[n].file]))).toEqual({
      console: '',
      json: 'results.json',
      markdown: 'report.md',
      html: 'report.html',
      junit: 'junit.xml',
      ndjson: 'samples.ndjson',
    });
  });

  it('console: the summary, the objective × phase table, TTR, budget, score with weights, verdict and reasons', () => {
    const v = result.verdict!;
    const out = reporters.console.render(result);
    expect(out).toContain(`spike-with-partition — ${result.status}`);
    expect(out).toMatch(/latency \(from intended send\)\s+p50\s+p90\s+p95\s+p99\s+max/);
    expect(out).toContain(
      `verdict: ${v.status.toUpperCase()} — resilience score ${v.score} (${v.grade}), service api`,
    );
    expect(out).toMatch(/objective\s+baseline \(\d+s\)\s+fault \(\d+s\)\s+recovery \(\d+s\)/);
    for (const o of v.objectives) expect(out).toContain(o.name);
    expect(out).toContain('† not gating (information)');
    expect(out).toMatch(/time to recover:\n\s+f1 {2}[✓✗–] (recovered in|not recovered)/);
    expect(out).toContain('error budget: burned');
    expect(out).toContain(
      `budget ${v.subscores.budget} (w 0.3), recovery ${v.subscores.recovery ?? '–'} (w 0.3)`,
    );
    expect(out).toContain(`= ${v.score}; grades A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, F < 40`);
    for (const why of v.reasons) expect(out).toContain(why);
  });

  it('json: the RunResult itself, verdict included, and it parses back', () => {
    const text = reporters.json.render(result);
    const back = runResultSchema.parse(JSON.parse(text));
    expect(back).toEqual(result);
    expect(back.verdict!.objectives[0]).toEqual(
      expect.objectContaining({
        name: expect.any(String),
        phase: 'baseline',
        target: expect.any(String),
        pass: expect.anything(),
      }),
    );
    expect(typeof back.verdict!.pass).toBe('boolean');
    expect(typeof back.verdict!.score).toBe('number');
  });

  it('markdown: status line, verdict table, TTR, faults, score formula with weights', () => {
    const v = result.verdict!;
    const md = reporters.markdown.render(result);
    const emoji = STATUS_EMOJI[v.status];
    expect(md.split('\n')[0]).toBe(
      `## ${emoji} spike-with-partition: ${v.status.toUpperCase()} — score ${v.score} / 100 (${v.grade})`,
    );
    expect(md).toContain('| objective | baseline (');
    const rows = md.split('\n').filter((l) => /^\| (availability|error rate|latency)/.test(l));
    expect(rows.length).toBe(new Set(v.objectives.map((o) => o.name)).size);
    expect(md).toMatch(/\| `f1` \| [✅❌–] \| (recovered in|not recovered)/);
    expect(md).toContain('| fault | what | planned | applied → reverted | status | TTR |');
    expect(md).toContain(
      '**How it is computed:** score = Σ wᵢ·sᵢ / Σ wᵢ over the sub-scores that apply, weights budget 0.3, recovery 0.3, loss 0.2, robustness 0.2.',
    );
    if (result.warnings.length) expect(md).toContain('### Warnings\n\n- ⚠️ ');
  });

  it('junit: one test case per objective per phase, one per fault, valid against the JUnit schema', (ctx) => {
    const v = result.verdict!;
    const xml = reporters.junit.render(result);
    const cases = xml.match(/<testcase /g) ?? [];
    // Plus one (passing, figures only) per request profile: the mix's read and write.
    expect(cases.length).toBe(
      v.objectives.length + result.faults.length + (v.budget?.maxSpend != null ? 1 : 0) + 2,
    );
    expect(xml).toContain('classname="chaoskit.spike-with-partition.profiles" name="request read: measured"');
    expect(xml).toContain('classname="chaoskit.spike-with-partition.baseline"');
    expect(xml).toContain('name="f1 partition on api-&gt;dependency: time to recover"');
    // A failed verdict shows failures; a passing one none; an inconclusive one skipped baseline rows.
    const failures = Number(/<testsuite [^>]*failures="(\d+)"/.exec(xml)![1]);
    if (v.status === 'pass') expect(failures).toBe(0);
    if (v.status === 'fail') expect(failures).toBeGreaterThan(0);
    if (v.status === 'inconclusive')
      expect(xml).toContain('<skipped message="inconclusive: the baseline already misses');
    if (!XMLLINT)
      return ctx.skip('xmllint is not installed (apt-get install libxml2-utils): JUnit XML not validated');
    const file = join(dir, 'junit-check.xml');
    writeFileSync(file, xml);
    expect(xsdErrors(file)).toBeNull();
  });

  it('writeReports writes every file of a real run and prints the console report', () => {
    const out = join(dir, 'all');
    const lines: string[] = [];
    const r = writeReports(result, out, reporterNames, (l) => lines.push(l), {});
    expect(r.failed).toEqual([]);
    expect(r.written).toEqual(
      ['results.json', 'report.md', 'report.html', 'junit.xml', 'samples.ndjson'].map((f) => join(out, f)),
    );
    expect(lines.join('\n')).toContain('verdict: ');
  });
});

describe('the HTML report in headless Chromium', () => {
  it('draws the charts offline and saves a screenshot', (ctx) => {
    if (!CHROMIUM)
      return ctx.skip(
        'chromium is not installed (apt-get install chromium): the HTML report was not opened in a browser',
      );
    const page = join(dir, 'report.html');
    writeFileSync(page, reporters.html.render(result));
    const dom = dumpDom(page);
    const rendered = /data-charts-rendered="(\d+)"/.exec(dom);
    expect(rendered, 'body[data-charts-rendered] was never set: the chart script failed').not.toBeNull();
    expect(Number(rendered![1])).toBeGreaterThanOrEqual(3);
    expect((dom.match(/<canvas/g) ?? []).length).toBeGreaterThanOrEqual(3);

    const update = process.env.UPDATE_SCREENSHOT === '1';
    const png = update
      ? join(PACKAGE_ROOT, 'docs/report-screenshot.png')
      : join(tempDir('chaoskit-shot-'), 'report.png');
    if (update) mkdirSync(join(PACKAGE_ROOT, 'docs'), { recursive: true });
    const tmp = join(dir, 'shot.png');
    screenshot(page, tmp);
    expect(existsSync(tmp) && statSync(tmp).size).toBeGreaterThan(20_000);
    copyFileSync(tmp, png);
    console.log(`report screenshot: ${png}`);
  }, 120_000);
});
