import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseTestResults } from 'test-results-parser';
import { describe, expect, it } from 'vitest';
import { junit } from '../../reporters/junit.ts';
import type { RunResult } from '../../src/result.ts';
import { tempDir } from '../helpers/files.ts';
import { partitionRun, synthetic } from './synthetic.ts';
import { XMLLINT, xsdErrors } from './tools.ts';

const attr = (xml: string, name: string) =>
  Number(new RegExp(`<testsuite [^>]*\\b${name}="(\\d+)"`).exec(xml)![1]);

/** The <testcase> element whose name attribute starts with `name` in `classname`. */
function testcase(xml: string, classname: string, name: string): string {
  const re = new RegExp(
    `<testcase classname="${classname.replace(/\./g, '\\.')}" name="${name}[^"]*"[^>]*?(/>|>[\\s\\S]*?</testcase>)`,
  );
  const m = re.exec(xml);
  expect(m, `${classname} ${name}`).not.toBeNull();
  return m![0];
}

const neverRecovers = () =>
  partitionRun({
    name: 'never',
    at: (t) => (t >= 20 ? { ok: 40, failed: 60, ms: 120 } : { ok: 100, failed: 0, ms: 20 }),
  });

const cases: [string, () => RunResult][] = [
  ['pass', () => partitionRun()],
  ['fail: never recovers', neverRecovers],
  [
    'fail: a gating recovery objective',
    () => partitionRun({ name: 'gating', slo: { recovery: null, budget: false } }),
  ],
  [
    'inconclusive: the baseline misses',
    () =>
      partitionRun({ name: 'sick', at: (t) => ({ ok: 95, failed: 5, ms: t >= 20 && t < 30 ? 300 : 20 }) }),
  ],
  [
    'a fault that could not be reverted, in an aborted run',
    () =>
      partitionRun({
        name: 'stuck',
        status: 'aborted',
        faults: [
          {
            appliedAtMs: 20_000,
            revertedAtMs: null,
            status: 'revert-failed',
            revertedBy: null,
            error: 'proxy api unreachable',
          },
          {
            id: 'f2',
            appliedAtMs: null,
            revertedAtMs: null,
            status: 'apply-failed',
            error: 'no such container',
          },
          { id: 'f3', appliedAtMs: null, revertedAtMs: null, status: 'skipped' },
        ],
      }),
  ],
  ['no faults', () => synthetic({ name: 'steady', seconds: 10, at: () => ({ ok: 100, failed: 0, ms: 10 }) })],
];

/** xmllint's verdict against junit-10.xsd (the rules Jenkins' xunit plugin validates with). */
function junit10Errors(file: string): string | null {
  const xsd = join(import.meta.dirname, 'junit-10.xsd');
  const r = spawnSync(XMLLINT!, ['--noout', '--schema', xsd, file], { encoding: 'utf8' });
  return r.status === 0 ? null : `${r.stdout}${r.stderr}`;
}

const times = (xml: string, el: string) =>
  [...xml.matchAll(new RegExp(`<${el} [^>]*?\\btime="([^"]+)"`, 'g'))].map((m) => m[1]!);
/** Sum of decimal strings in whole milliseconds (exact, no floating-point drift). */
const msSum = (ts: string[]) => ts.reduce((n, t) => n + Math.round(Number(t) * 1000), 0);

describe('junit reporter', () => {
  it.for(cases)('%s: valid against junit-10.xsd and the repository schema', ([, make], ctx) => {
    if (!XMLLINT)
      return ctx.skip('xmllint is not installed (apt-get install libxml2-utils): JUnit XML not validated');
    const file = join(tempDir(), 'junit.xml');
    writeFileSync(file, junit.render(make()));
    expect(junit10Errors(file)).toBeNull();
    expect(xsdErrors(file)).toBeNull();
  });

  it.for(cases)('%s: test case times add up to the suite time', ([, make]) => {
    const r = make();
    const xml = junit.render(r);
    const [suites] = times(xml, 'testsuites');
    const [suite] = times(xml, 'testsuite');
    const caseTimes = times(xml, 'testcase');
    expect(msSum(caseTimes)).toBe(msSum([suite!]));
    expect(suites).toBe(suite);
    for (const t of [...caseTimes, suite!]) expect(t).toMatch(/^\d+(\.\d{1,3})?$/);
    // A scored run: the objective cases cover every measured second.
    if (r.verdict?.objectives.length) expect(msSum([suite!])).toBe(r.timeline.length * 1000);
  });

  it('<testsuites> carries no skipped attribute (junit-10.xsd forbids it); <testsuite> does', () => {
    const xml = junit.render(cases[3]![1]());
    expect(/<testsuites [^>]*>/.exec(xml)![0]).not.toMatch(/skipped=/);
    expect(/<testsuite [^>]*>/.exec(xml)![0]).toMatch(/ skipped="\d+"/);
  });

  it.for(cases)(
    '%s: a real JUnit parser (test-results-parser) reads the same outcomes and times',
    ([, make]) => {
      const r = make();
      const xml = junit.render(r);
      const file = join(tempDir(), 'junit.xml');
      writeFileSync(file, xml);
      const parsed = parseTestResults({ type: 'junit', files: [file] });
      const suite = parsed.suites[0]!;
      const count = (tag: string) => (xml.match(new RegExp(`<${tag}[ >/]`, 'g')) ?? []).length;
      const caseCount = count('testcase');
      expect(suite.cases).toHaveLength(caseCount);
      expect(suite.skipped).toBe(count('skipped'));
      expect(suite.failed).toBe(count('failure'));
      expect(suite.errors).toBe(count('error'));
      expect(suite.total + suite.skipped).toBe(caseCount);
      expect(suite.cases.filter((c) => c.status === 'SKIP')).toHaveLength(count('skipped'));
      expect(suite.cases.filter((c) => c.status === 'FAIL')).toHaveLength(count('failure') + count('error'));
      expect(suite.cases.reduce((n, c) => n + Math.round(c.duration), 0)).toBe(Math.round(suite.duration));
      expect(Math.round(parsed.duration)).toBe(Math.round(suite.duration));
    },
  );

  it('a passing run: no failures; a fault-phase miss passes and describes the degradation', () => {
    const r = partitionRun();
    const xml = junit.render(r);
    expect(r.verdict!.status).toBe('pass');
    expect([attr(xml, 'failures'), attr(xml, 'errors'), attr(xml, 'skipped')]).toEqual([0, 0, 0]);
    expect(attr(xml, 'tests')).toBe(r.verdict!.objectives.length + 1 + 1);
    const c = testcase(xml, 'chaoskit.partition.fault', 'availability ≥ 99%');
    expect(c).not.toContain('<failure');
    expect(c).toContain(
      '<system-out>degradation (not gating): during the fault phase availability ≥ 99% was missed: 40% vs target ≥ 99%.',
    );
    expect(
      testcase(xml, 'chaoskit.partition.recovery', 'f1 partition on api-&gt;dependency: time to recover'),
    ).toContain('f1: recovered in 3s (objective 10s)');
    expect(testcase(xml, 'chaoskit.partition.run', 'error budget burned ≤ 5%')).toContain(
      '<system-out>burned ',
    );
  });

  it('a fault that never recovers is a failure of its time-to-recover test case', () => {
    const xml = junit.render(neverRecovers());
    const c = testcase(xml, 'chaoskit.never.recovery', 'f1 partition');
    expect(c).toMatch(/<failure message="f1: not recovered \(objective 10s\)[^"]*" type="recovery">/);
    expect(attr(xml, 'failures')).toBeGreaterThanOrEqual(1);
  });

  it('a gating recovery-phase miss is a failure with actual vs target', () => {
    const r = partitionRun({ name: 'gating', slo: { recovery: null, budget: false } });
    expect(r.verdict!.status).toBe('fail');
    const c = testcase(junit.render(r), 'chaoskit.gating.recovery', 'availability ≥ 99%');
    expect(c).toContain(
      '<failure message="recovery: availability ≥ 99% missed: 94% vs target ≥ 99%" type="slo">',
    );
  });

  it('baseline misses are skipped as inconclusive (an unmet assumption), not failed', () => {
    const r = partitionRun({
      name: 'sick',
      at: (t) => ({ ok: 95, failed: 5, ms: t >= 20 && t < 30 ? 300 : 20 }),
    });
    expect(r.verdict!.status).toBe('inconclusive');
    const xml = junit.render(r);
    expect(testcase(xml, 'chaoskit.sick.baseline', 'availability ≥ 99%')).toContain(
      '<skipped message="inconclusive: the baseline already misses availability ≥ 99% (95% vs target ≥ 99%); the system was not healthy before any fault"/>',
    );
    expect(xml).toContain('<property name="verdict" value="inconclusive"/>');
  });

  it('faults that could not be reverted or applied are errors with the manual command; an aborted run is an error', () => {
    const xml = junit.render(cases[4]![1]());
    expect(testcase(xml, 'chaoskit.stuck.recovery', 'f1 partition')).toContain(
      '<error message="f1 could not be reverted: proxy api unreachable" type="revert-failed">revert by hand: curl -X DELETE http://127.0.0.1:8474/proxies/dependency/toxics/x</error>',
    );
    expect(testcase(xml, 'chaoskit.stuck.recovery', 'f2 partition')).toContain('type="apply-failed"');
    expect(testcase(xml, 'chaoskit.stuck.recovery', 'f3 partition')).toContain(
      '<skipped message="f3 was not applied (skipped)"/>',
    );
    expect(testcase(xml, 'chaoskit.stuck.run', 'run completed')).toContain(
      '<error message="run aborted: stop condition error-rate &gt; 50% for 10s" type="aborted">',
    );
    expect(attr(xml, 'errors')).toBe(3);
  });

  it('escapes text from the result and drops characters XML cannot carry', (ctx) => {
    const r = partitionRun({ name: 'x', description: 'a <b>&"quoted"\u0001' });
    r.scenario.name = 'we<ird>&"name\'';
    r.faults[0]!.target = 'a->b';
    const xml = junit.render(r);
    expect(xml).toContain('classname="chaoskit.we&lt;ird&gt;&amp;&quot;name&apos;.baseline"');
    expect(xml).not.toContain('\u0001');
    if (!XMLLINT) return ctx.skip('xmllint is not installed: escaping not validated');
    const file = join(tempDir(), 'junit.xml');
    writeFileSync(file, xml);
    expect(xsdErrors(file)).toBeNull();
  });
});
