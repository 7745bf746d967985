import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PACKAGE_ROOT } from '../../src/scenario/paths.ts';
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

describe('resilience-pipeline.sh', () => {
  it('runs a suite, writes the artifacts, and flags a planted slowdown as a regression on the second run', async () => {
    const env = { ...(await demoEnv()), CHAOSKIT_STATE_DIR: tempDir() };
    const first = tempDir();
    const r1 = await pipeline(
      ['--time-scale', '0.1', '--only', 'spike-with-partition', '--artifacts', first, '--seed', '1'],
      env,
    );
    expect(r1.out).toContain('== spike-with-partition');
    expect([0, 1]).toContain(r1.code);
    for (const f of [
      'index.html',
      'summary.md',
      'junit.xml',
      'spike-with-partition/results.json',
      'spike-with-partition/report.html',
      'spike-with-partition/junit.xml',
    ]) {
      expect(existsSync(join(first, f)), f).toBe(true);
    }
    expect(readFileSync(join(first, 'index.html'), 'utf8')).toContain('spike-with-partition/report.html');
    expect(readFileSync(join(first, 'junit.xml'), 'utf8')).toMatch(
      /^<\?xml[\s\S]*<testsuites name="chaoskit"[\s\S]*<testsuite /,
    );

    // The same suite with the dependency 150 ms slower: p99 and score get worse.
    const second = tempDir();
    const r2 = await pipeline(
      [
        '--time-scale',
        '0.1',
        '--only',
        'spike-with-partition',
        '--artifacts',
        second,
        '--previous',
        first,
        '--seed',
        '1',
      ],
      {
        ...env,
        CHAOSKIT_DEMO_DEPENDENCY_WORK_MS: '150',
      },
    );
    expect(r2.code).toBe(1);
    expect(r2.out).toContain('regression against');
    // At --time-scale 0.1 each phase is too short for chaos compare to judge latency (docs/ci.md
    // "Regressions"): the slowdown shows as a lower score and a recovery that no longer comes.
    expect(readFileSync(join(second, 'summary.md'), 'utf8')).toMatch(
      /resilience score fell|did not recover now|time to recover grew|latency rose/,
    );
    expect(readFileSync(join(second, 'junit.xml'), 'utf8')).toContain('type="regression"');
  }, 300_000);

  it('a suite naming a scenario that does not exist is invalid input (exit 2) before anything runs', async () => {
    const dir = tempDir();
    const suite = join(dir, 'suite.yaml');
    (await import('node:fs')).writeFileSync(
      suite,
      'name: s\nscenarios:\n  - spike-with-partition\n  - no-such-scenario\n',
    );
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
