import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PACKAGE_ROOT } from '../../src/core/paths.ts';
import { demoEnv } from '../helpers/cli.ts';
import { tempDir } from '../helpers/files.ts';

function pipeline(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      join(PACKAGE_ROOT, 'resilience-pipeline.sh'),
      args,
      { env: { ...process.env, ...env }, timeout: 180_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 99) : 0, out: stdout + stderr });
      },
    );
  });
}

// Each refuses before any scenario runs, with its own state directory: they run side by side, and
// before the suite runs below (whose timings they would otherwise share the machine with).
describe.concurrent('resilience-pipeline.sh input errors', () => {
  it('by default it runs the weekly suite; --only naming none of its scenarios is invalid input (exit 2)', async () => {
    const r = await pipeline(['--only', 'no-such-scenario', '--artifacts', join(tempDir(), 'out')], {
      CHAOSKIT_STATE_DIR: tempDir(),
    });
    expect(r.code).toBe(2);
    expect(r.out).toContain(
      `no scenario of ${join(PACKAGE_ROOT, 'scenarios/suites/weekly.yaml')} matched --only no-such-scenario`,
    );
    expect(r.out).not.toContain('== ');
  });

  it('a suite naming a scenario that does not exist is invalid input (exit 2) before anything runs', async () => {
    const dir = tempDir();
    const suite = join(dir, 'suite.yaml');
    writeFileSync(suite, 'name: s\nscenarios:\n  - spike-with-partition\n  - no-such-scenario\n');
    const r = await pipeline(['--suite', suite, '--artifacts', join(dir, 'out')], {
      CHAOSKIT_STATE_DIR: tempDir(),
    });
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/suite\.yaml:4:5: scenarios\[1\]: no scenario "no-such-scenario"/);
  });

  it('an unwritable artifacts directory is invalid input', async () => {
    const r = await pipeline(['--artifacts', '/proc/chaoskit-nope'], { CHAOSKIT_STATE_DIR: tempDir() });
    expect(r.code).toBe(2);
    expect(r.out).toContain('cannot create the artifacts directory /proc/chaoskit-nope');
  });
});

/**
 * One suite, run twice through the real pipeline on the demo system: a short scenario (80 s at
 * --time-scale 0.1: 1.5 s of baseline, a 1 s partition, 5.5 s to recover in: the 2 s hold floor
 * must fit after a late revert on a busy machine) and an invalid one.
 * The first run writes the artifacts and the job summary ($GITHUB_STEP_SUMMARY); the second runs
 * the short scenario alone (--only) with the dependency 150 ms slower, against the first
 * (--previous), and must flag the regression.
 */
describe('resilience-pipeline.sh on a suite, twice', () => {
  const dir = tempDir();
  const first = join(dir, 'first');
  const second = join(dir, 'second');
  const summary = join(dir, 'step-summary.md');
  const suite = join(dir, 'suite.yaml');
  let r1: { code: number; out: string };
  let r2: { code: number; out: string };

  beforeAll(async () => {
    writeFileSync(
      join(dir, 'short.yaml'),
      [
        'name: short',
        'environment: demo',
        'load:',
        '  target: api',
        '  requests: [{ path: /items/42 }]',
        '  pattern:',
        '    - { kind: constant, rate: 20, duration: 80s }',
        'faults:',
        '  - { type: partition, target: api->dependency, at: 15s, duration: 10s }',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'invalid.yaml'),
      'name: invalid\nload: { target: api, pattern: [{ kind: constant, rate: -1, duration: 1s }] }\n',
    );
    writeFileSync(
      suite,
      'name: ci\nenvironment: demo\nslo: slo.yaml\nminScore: 0\nscenarios: [./short.yaml, ./invalid.yaml]\n',
    );
    writeFileSync(summary, 'an earlier step wrote this\n');
    const env = { ...(await demoEnv()), CHAOSKIT_STATE_DIR: tempDir() };
    r1 = await pipeline(['--suite', suite, '--time-scale', '0.1', '--artifacts', first, '--seed', '1'], {
      ...env,
      GITHUB_STEP_SUMMARY: summary,
    });
    // The same scenario with the dependency 150 ms slower: score and recovery get worse.
    r2 = await pipeline(
      [
        '--suite',
        suite,
        '--only',
        'short',
        '--time-scale',
        '0.1',
        '--artifacts',
        second,
        '--previous',
        first,
        '--seed',
        '1',
      ],
      { ...env, CHAOSKIT_DEMO_DEPENDENCY_WORK_MS: '150' },
    );
  }, 300_000);

  it('runs every scenario of the suite and writes the artifacts; the worst exit wins', () => {
    expect(r1.out).toContain('== short');
    expect(r1.out).toContain('== invalid');
    expect(r1.code, r1.out).toBe(2); // the invalid scenario
    expect(['0', '1']).toContain(readFileSync(join(first, 'short/exit-code'), 'utf8').trim());
    expect(readFileSync(join(first, 'invalid/exit-code'), 'utf8').trim()).toBe('2');
    for (const f of [
      'index.html',
      'summary.md',
      'junit.xml',
      'short/results.json',
      'short/report.html',
      'short/junit.xml',
    ]) {
      expect(existsSync(join(first, f)), f).toBe(true);
    }
    const result = JSON.parse(readFileSync(join(first, 'short/results.json'), 'utf8'));
    expect(result).toMatchObject({ timeScale: 0.1, seed: 1, scenario: { name: 'short' } });
    expect(readFileSync(join(first, 'index.html'), 'utf8')).toContain('short/report.html');
    expect(readFileSync(join(first, 'junit.xml'), 'utf8')).toMatch(
      /^<\?xml[\s\S]*<testsuites name="chaoskit"[\s\S]*<testsuite /,
    );
  });

  it('appends the suite table first, then each scenario report collapsed, to $GITHUB_STEP_SUMMARY', () => {
    const md = readFileSync(summary, 'utf8');
    expect(md.startsWith('an earlier step wrote this\n# Resilience suite suite: failed (exit 2)\n')).toBe(
      true,
    );
    expect(md.indexOf('| `invalid` |')).toBeLessThan(md.indexOf('<details>'));
    expect(md.match(/<details><summary>/g)).toHaveLength(2);
    expect(md).toMatch(/<details><summary>short: \w+, score [\d.]+ \(\w\), exit \d<\/summary>\n\n## /);
    expect(md).toContain('<details><summary>invalid: invalid input, exit 2</summary>');
    expect([...md.matchAll(/\]\(([^)]*)\)/g)].filter((m) => !/^https?:\/\//.test(m[1]!))).toEqual([]);
  });

  it('flags a planted slowdown as a regression against the previous run', () => {
    expect(r2.out).toContain('== short');
    expect(r2.out).not.toContain('== invalid'); // --only
    expect(r2.code, r2.out).toBe(1);
    expect(r2.out).toContain(`regression against ${join(first, 'short')}`);
    // At --time-scale 0.1 each phase is too short for chaos compare to judge latency (docs/ci.md
    // "Regressions"): the slowdown shows as a lower score and a recovery that no longer comes.
    expect(readFileSync(join(second, 'summary.md'), 'utf8')).toMatch(
      /resilience score fell|did not recover now|time to recover grew|latency rose/,
    );
    expect(readFileSync(join(second, 'junit.xml'), 'utf8')).toContain('type="regression"');
  });
});

describe('CI examples users copy', () => {
  it('the GitHub workflow runs weekly and on demand, installs, runs the pipeline and uploads the artifacts', () => {
    const wf = parse(readFileSync(join(PACKAGE_ROOT, '.github/workflows/resilience.yml'), 'utf8'));
    expect(wf.on.schedule[0].cron).toMatch(/^\S+ \S+ \* \* [0-6]$/);
    expect(wf.on).toHaveProperty('workflow_dispatch');
    const steps = wf.jobs.resilience.steps as {
      run?: string;
      uses?: string;
      with?: Record<string, string>;
    }[];
    expect(steps.some((s) => s.run === 'npm ci')).toBe(true);
    expect(
      steps.some((s) => s.run?.includes('./resilience-pipeline.sh --artifacts resilience-artifacts')),
    ).toBe(true);
    expect(steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))?.with?.path).toBe(
      'resilience-artifacts',
    );
  });

  it('the GitLab example in docs/ci.md parses and keeps the JUnit report', () => {
    const doc = readFileSync(join(PACKAGE_ROOT, 'docs/ci.md'), 'utf8');
    const block = /## GitLab CI\s+```yaml\n([\s\S]*?)```/.exec(doc)![1]!;
    const job = parse(block).resilience;
    expect(job.script).toContain('./resilience-pipeline.sh --artifacts resilience-artifacts');
    expect(job.artifacts.reports.junit).toBe('resilience-artifacts/junit.xml');
  });
});
