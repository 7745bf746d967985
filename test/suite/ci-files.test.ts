/**
 * The CI files users copy: the example GitHub workflow declares its permissions and passes inputs
 * through env: (never `${{ }}` pasted into a script); the shell in it and resilience-pipeline.sh
 * are shellcheck clean; and the pipeline writes the job summary with the suite table first.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PACKAGE_ROOT } from '../../src/scenario/paths.ts';
import { demoEnv } from '../helpers/cli.ts';
import { tempDir } from '../helpers/files.ts';

const SHELLCHECK =
  spawnSync('sh', ['-c', 'command -v shellcheck'], { encoding: 'utf8' }).stdout.trim() || null;

interface Step {
  name?: string;
  run?: string;
  uses?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}
const workflow = parse(readFileSync(join(PACKAGE_ROOT, '.github/workflows/resilience.yml'), 'utf8')) as {
  permissions?: Record<string, string>;
  jobs: Record<string, { permissions?: Record<string, string>; steps: Step[] }>;
};
const steps = Object.values(workflow.jobs).flatMap((j) => j.steps);

describe('the example GitHub workflow', () => {
  it('declares least permissions: read only', () => {
    expect(workflow.permissions).toEqual({ contents: 'read', actions: 'read' });
    for (const job of Object.values(workflow.jobs))
      for (const level of Object.values(job.permissions ?? {})) expect(level).not.toBe('write');
  });

  it('never pastes an expression into a script: inputs reach run: through env:', () => {
    const runs = steps.filter((s) => s.run);
    expect(runs.length).toBeGreaterThan(0);
    for (const s of runs) expect(s.run, s.name ?? s.run).not.toContain('${{');
    const pipeline = steps.find((s) => s.run?.includes('./resilience-pipeline.sh'))!;
    expect(pipeline.env?.TIME_SCALE).toBe("${{ inputs.time_scale || '1' }}");
    expect(pipeline.run).toContain('--time-scale "$TIME_SCALE"');
  });

  it('its shell steps and resilience-pipeline.sh are shellcheck clean', (ctx) => {
    if (!SHELLCHECK) return ctx.skip('shellcheck is not installed (apt-get install shellcheck)');
    const dir = tempDir();
    const files = [join(PACKAGE_ROOT, 'resilience-pipeline.sh')];
    steps.forEach((s, i) => {
      if (!s.run) return;
      const f = join(dir, `step-${i}.sh`);
      writeFileSync(f, `#!/usr/bin/env bash\nset -eo pipefail\n${s.run}`);
      files.push(f);
    });
    const r = spawnSync(SHELLCHECK, ['--severity=style', ...files], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('resilience-pipeline.sh and $GITHUB_STEP_SUMMARY', () => {
  it('appends the suite table first, then each scenario report collapsed, and nothing before it', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'short.yaml'),
      [
        'name: short',
        'environment: demo',
        'load:',
        '  target: api',
        '  requests: [{ path: /items/42 }]',
        '  pattern:',
        '    - { kind: constant, rate: 20, duration: 3s }',
        'faults:',
        '  - { type: partition, target: api->dependency, at: 1s, duration: 1s }',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'invalid.yaml'),
      'name: invalid\nload: { target: api, pattern: [{ kind: constant, rate: -1, duration: 1s }] }\n',
    );
    writeFileSync(
      join(dir, 'suite.yaml'),
      'name: ci\nenvironment: demo\nminScore: 0\nscenarios: [./short.yaml, ./invalid.yaml]\n',
    );
    const summary = join(dir, 'step-summary.md');
    writeFileSync(summary, 'an earlier step wrote this\n');
    const env = {
      ...process.env,
      ...(await demoEnv()),
      CHAOSKIT_STATE_DIR: tempDir(),
      GITHUB_STEP_SUMMARY: summary,
    };
    const r = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(
        join(PACKAGE_ROOT, 'resilience-pipeline.sh'),
        ['--suite', join(dir, 'suite.yaml'), '--artifacts', join(dir, 'out')],
        { env, timeout: 150_000 },
        (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 99) : 0, out: stdout + stderr }),
      ),
    );
    expect(r.out).toContain('== short');
    expect(r.code).toBe(2); // the invalid scenario: worst exit wins
    const md = readFileSync(summary, 'utf8');
    expect(md.startsWith('an earlier step wrote this\n# Resilience suite suite: failed (exit 2)\n')).toBe(
      true,
    );
    expect(md.indexOf('| `invalid` |')).toBeLessThan(md.indexOf('<details>'));
    expect(md.match(/<details><summary>/g)).toHaveLength(2);
    expect(md).toMatch(/<details><summary>short: \w+, score [\d.]+ \(\w\), exit \d<\/summary>\n\n## /);
    expect(md).toContain('<details><summary>invalid: invalid input, exit 2</summary>');
    expect([...md.matchAll(/\]\(([^)]*)\)/g)].filter((m) => !/^https?:\/\//.test(m[1]!))).toEqual([]);
  }, 180_000);
});
