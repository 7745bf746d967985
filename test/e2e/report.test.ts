/** `chaos report` and `chaos compare` through the real CLI, on saved results.json files. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { reporters } from '../../reporters/index.ts';
import { SCHEMA_VERSION, type RunResult } from '../../src/result.ts';
import { PACKAGE_ROOT } from '../../src/core/paths.ts';
import { runCli, startCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/files.ts';
import { partitionRun } from '../reporters/synthetic.ts';

let dir: string;
let good: string;
let result: RunResult;

function save(name: string, r: RunResult | string): string {
  const file = join(dir, name);
  writeFileSync(file, typeof r === 'string' ? r : reporters.json.render(r));
  return file;
}

beforeAll(() => {
  dir = tempDir('chaoskit-report-');
  result = partitionRun();
  good = save('results.json', result);
});

// Each CLI start costs a second or two of tsx start-up; several run side by side per test.
describe('chaos report', { timeout: 90_000 }, () => {
  it('re-renders a saved result in every format, to stdout', async () => {
    const [con, md, markdown, junit, json] = await Promise.all(
      ['console', 'md', 'markdown', 'junit', 'json'].map((f) => runCli(['report', good, '--format', f])),
    );
    for (const r of [con, md, markdown, junit, json]) expect(r!.code, r!.stderr).toBe(0);
    expect(con!.stdout).toContain('verdict: PASS — resilience score 83.9 (B), service api');
    expect(md!.stdout).toBe(reporters.markdown.render(result));
    expect(markdown!.stdout).toBe(md!.stdout);
    expect(junit!.stdout).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="chaoskit"/);
    expect(JSON.parse(json!.stdout)).toEqual(result);
  });

  it('--out writes a file, or the default file name inside a directory', async () => {
    const file = join(dir, 'page.html');
    const r = await runCli(['report', good, '--format', 'html', '--out', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`wrote ${file}\n`);
    expect(readFileSync(file, 'utf8')).toMatch(/^<!doctype html>/);
    const out = tempDir();
    expect((await runCli(['report', dir, '--format', 'junit', '--out', out])).code).toBe(0); // a directory holding results.json
    expect(existsSync(join(out, 'junit.xml'))).toBe(true);
  });

  it('a broken results.json is invalid input (exit 2) with file:line:col and the field path', async () => {
    const badJson = save('bad.json', '{\n  "schemaVersion": 1,\n  "runId": "x",\n}\n');
    const newer = SCHEMA_VERSION + 1;
    const v3 = save('v3.json', JSON.stringify({ ...result, schemaVersion: newer }, null, 2));
    const broken = structuredClone(result) as unknown as {
      timeline: { ok: unknown }[];
      faults: { status: string }[];
    };
    broken.timeline[3]!.ok = 'many';
    broken.faults[0]!.status = 'half-done';
    const zod = save('zod.json', JSON.stringify(broken, null, 2));
    const notOurs = save('other.json', '{ "name": "something else" }');
    const [r1, r2, r3, r4, r5] = await Promise.all([
      runCli(['report', badJson]),
      runCli(['report', v3, '--format', 'html']),
      runCli(['report', zod]),
      runCli(['report', notOurs]),
      runCli(['report', join(dir, 'missing.json')]),
    ]);
    for (const r of [r1, r2, r3, r4, r5]) {
      expect(r!.code).toBe(2);
      expect(r!.stdout).toBe('');
      expect(r!.stderr).not.toMatch(/\n\s+at /);
    }
    expect(r1!.stderr).toBe(`chaos: ${badJson}:4:1: the results file is not valid JSON: unexpected "}"\n`);
    expect(r2!.stderr).toContain(
      `${v3}:2:20: schemaVersion: schemaVersion ${newer} was written by a newer chaoskit; chaoskit 0.1.0 reads schema versions 1 to ${SCHEMA_VERSION}: upgrade chaoskit to read it`,
    );
    expect(r3!.stderr).toContain('invalid results file (2 problems)');
    expect(r3!.stderr).toMatch(
      new RegExp(`${zod}:\\d+:\\d+: timeline\\[3\\]\\.ok: expected number, got string`),
    );
    expect(r3!.stderr).toMatch(
      new RegExp(
        `${zod}:\\d+:\\d+: faults\\[0\\]\\.status: expected one of scheduled, skipped, applied, reverted, revert-failed, apply-failed`,
      ),
    );
    expect(r4!.stderr).toContain(
      `${notOurs}:1:1: (top level): no schemaVersion: this is not a chaoskit results.json`,
    );
    expect(r5!.stderr).toBe(
      `chaos: ${join(dir, 'missing.json')}: cannot read the results file: no such file\n`,
    );
    // The line and column point at the field.
    const line = Number(new RegExp(`${zod}:(\\d+):\\d+: timeline`).exec(r3!.stderr)![1]);
    expect(readFileSync(zod, 'utf8').split('\n')[line - 1]).toContain('"ok": "many"');
  });

  it('reads a results.json of schema version 1 (an older chaoskit) by migrating it, and says so', async () => {
    const v1 = join(PACKAGE_ROOT, 'test/fixtures/results-v1.json');
    const out = tempDir();
    const [md, nd] = await Promise.all([
      runCli(['report', v1, '--format', 'md']),
      runCli(['report', v1, '--format', 'ndjson', '--out', out]),
    ]);
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout).toContain('spike-with-partition');
    expect(md.stdout).toContain(`migrated from results schema version 1 to ${SCHEMA_VERSION}`);
    expect(md.stdout).toContain(`results.json schema ${SCHEMA_VERSION}`);
    expect(nd.code, nd.stderr).toBe(0);
    const lines = readFileSync(join(out, 'samples.ndjson'), 'utf8').split('\n').filter(Boolean);
    const old = JSON.parse(readFileSync(v1, 'utf8')) as RunResult;
    const failedPoints = lines.filter(
      (l) => l.includes('"metric":"http_req_failed"') && l.includes('"value":1,'),
    );
    expect(failedPoints.length).toBe(old.totals.failed);
    // Version 1 did not record which latency was a failure's: in seconds with failures no
    // expected_response tag is invented (seconds without failures are all expected responses).
    const durations = lines.filter(
      (l) => l.startsWith('{"type":"Point"') && l.includes('"metric":"http_req_duration"'),
    );
    expect(durations.length).toBe(old.totals.ok + old.totals.failed);
    expect(durations.filter((l) => l.includes('"expected_response":"false"'))).toEqual([]);
    const untagged = durations.filter((l) => !l.includes('expected_response')).length;
    const inFailingSeconds = old.timeline
      .filter((t) => t.failed > 0)
      .reduce((a, t) => a + t.ok + t.failed, 0);
    expect(untagged).toBe(inFailingSeconds);
    expect(untagged).toBeGreaterThan(old.totals.failed);
  });

  it('ndjson to a reader that stops early (| head) ends quietly; a failed render leaves no partial file', async () => {
    const v1 = join(PACKAGE_ROOT, 'test/fixtures/results-v1.json');
    const { child, done } = startCli(['report', v1, '--format', 'ndjson']);
    child.stdout!.once('data', () => child.stdout!.destroy());
    const r = await done;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // A histogram that cannot be decoded, late in the file: refused when the file is read (it
    // used to fail the render part-way), and nothing is written.
    const broken = JSON.parse(readFileSync(v1, 'utf8')) as { timeline: { hist: string | null }[] };
    broken.timeline.at(-1)!.hist = 'not-base64!';
    const file = save('broken-hist.json', JSON.stringify(broken));
    const out = join(tempDir(), 'samples.ndjson');
    const w = await runCli(['report', file, '--format', 'ndjson', '--out', out]);
    expect(w.code).toBe(2);
    expect(w.stderr).toMatch(
      new RegExp(
        `^chaos: invalid results file \\(1 problem\\)\\n  ${file}:\\d+:\\d+: timeline\\[${broken.timeline.length - 1}\\]\\.hist: not a valid encoded latency histogram`,
      ),
    );
    expect(existsSync(out)).toBe(false);
  });

  it('an unknown --format is a usage error', async () => {
    const r = await runCli(['report', good, '--format', 'pdf']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Invalid values');
  });
});

describe('chaos compare', { timeout: 90_000 }, () => {
  it('identical runs: exit 0, no regression', async () => {
    const r = await runCli(['compare', good, good]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^compare partition: no regression\n/);
    expect(r.stdout).toMatch(/resilience score\s+83\.9\s+83\.9\s+0/);
  });

  it('a planted regression (latency doubled, score 20 lower): exit 1, each regression named', async () => {
    const slow = partitionRun({
      at: (t) => (t >= 20 && t < 33 ? { ok: 40, failed: 60, ms: 240 } : { ok: 100, failed: 0, ms: 40 }),
    });
    slow.runId = 'slow';
    slow.verdict!.score = result.verdict!.score - 20;
    const file = save('slow.json', slow);
    const [text, json, md, lenient] = await Promise.all([
      runCli(['compare', good, file]),
      runCli(['compare', good, file, '--format', 'json']),
      runCli(['compare', good, file, '--format', 'md']),
      runCli([
        'compare',
        good,
        file,
        '--max-score-drop',
        '25',
        '--max-p99-increase',
        '150%',
        '--max-ttr-increase',
        '5s',
      ]),
    ]);
    expect(text!.code).toBe(1);
    expect(text!.stdout).toMatch(/^compare partition: 7 regression\(s\)/);
    expect(text!.stdout).toContain(
      '✗ resilience score fell 20 points (83.9 → 63.9), more than the 5 allowed',
    );
    expect(text!.stdout).toContain(
      '✗ baseline: p50 latency rose 2x, from 18ms to 36ms (median of the per-second p50s over 20 and 20 seconds; p < 0.001), more than the 50% and 2ms allowed',
    );
    expect(json!.code).toBe(1);
    const c = JSON.parse(json!.stdout) as {
      regressed: boolean;
      regressions: { kind: string; message: string }[];
    };
    expect(c.regressed).toBe(true);
    expect(c.regressions.map((x) => x.kind).sort()).toEqual([...Array<string>(6).fill('latency'), 'score']);
    expect(md!.stdout).toMatch(/^### ❌ partition: 7 regression\(s\) against the previous run/);
    expect(md!.stdout).toContain('| resilience score | 83.9 | 63.9 | -20 | **REGRESSION** |');
    expect(lenient!.code, lenient!.stdout).toBe(0);
  });

  it("compares last week's schema-1 results with this week's: migrated, no regression with itself", async () => {
    const v1 = join(PACKAGE_ROOT, 'test/fixtures/results-v1.json');
    const again = join(dir, 'v1-rerendered.json');
    const re = await runCli(['report', v1, '--format', 'json', '--out', again]);
    expect(re.code, re.stderr).toBe(0);
    expect((JSON.parse(readFileSync(again, 'utf8')) as RunResult).schemaVersion).toBe(SCHEMA_VERSION);
    const r = await runCli(['compare', v1, again]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^compare spike-with-partition: no regression\n/);
    expect(r.stderr).toContain(
      `chaos compare: ${v1}: migrated from results schema version 1 to ${SCHEMA_VERSION}`,
    );
  });

  it('bad tolerances and bad files are invalid input (exit 2)', async () => {
    const [pct, ttr, drop, file] = await Promise.all([
      runCli(['compare', good, good, '--max-p99-increase', 'lots']),
      runCli(['compare', good, good, '--max-ttr-increase', 'soon']),
      runCli(['compare', good, good, '--max-score-drop', '-1']),
      runCli(['compare', good, save('broken.json', '{"schemaVersion": 1')]),
    ]);
    expect(pct!.code).toBe(2);
    expect(pct!.stderr).toContain('--max-p99-increase must be a percentage like 20%, got "lots"');
    expect(ttr!.code).toBe(2);
    expect(ttr!.stderr).toContain('--max-ttr-increase must be a duration like 2s or 500ms, got "soon"');
    expect(drop!.code).toBe(2);
    expect(drop!.stderr).toContain('--max-score-drop must be a number of points, 0 or more, got -1');
    expect(file!.code).toBe(2);
    expect(file!.stderr).toMatch(
      /broken\.json:1:20: the results file is not valid JSON: unexpected end of the file/,
    );
  });
});
