/**
 * The CI files users copy: the example GitHub workflow declares its permissions and passes inputs
 * through env: (never `${{ }}` pasted into a script); the shell in it and resilience-pipeline.sh
 * are shellcheck clean. That the pipeline writes the job summary with the suite table first is
 * checked on a real pipeline run in test/e2e/pipeline.test.ts, which shares that run with the
 * artifact and regression checks.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PACKAGE_ROOT } from '../../src/core/paths.ts';
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
