import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportK6 } from '../../src/k6/export.ts';
import { stagesOf } from '../../src/k6/stages.ts';
import { loadScenario, planScenario } from '../../src/scenario/load.ts';
import { PACKAGE_ROOT } from '../../src/scenario/paths.ts';
import { tempDir } from '../helpers/files.ts';

const planOf = (name: string) => {
  const s = loadScenario(name);
  return { s, plan: planScenario(s, { seed: 0, timeScale: 1, force: false }) };
};

describe('chaos export k6', () => {
  it('maps a spike exactly onto ramping-arrival-rate stages', () => {
    const { plan } = planOf('spike-with-partition');
    expect(stagesOf(plan)).toEqual({
      startRate: 50,
      stages: [
        { target: 50, durationMs: 30_000 },
        { target: 500, durationMs: 2000 },
        { target: 500, durationMs: 20_000 },
        { target: 50, durationMs: 2000 },
        { target: 50, durationMs: 40_000 },
      ],
    });
  });

  it('steps jump (0 s stages) and sines are piecewise linear with the same total duration', () => {
    const step = stagesOf(planOf('step-rollout-with-errors').plan);
    expect(step.startRate).toBe(40);
    expect(step.stages.filter((s) => s.durationMs === 0).map((s) => s.target)).toEqual([100, 200, 400]);
    const sine = planOf('sine-with-crash');
    const st = stagesOf(sine.plan);
    expect(st.stages.reduce((n, s) => n + s.durationMs, 0)).toBeCloseTo(sine.plan.durationMs, 6);
    expect(Math.max(...st.stages.map((s) => s.target))).toBeCloseTo(250, 0);
    expect(Math.min(...st.stages.map((s) => s.target))).toBeCloseTo(50, 0);
  });

  it('derives thresholds from the SLO in k6 grammar', () => {
    const { s, plan } = planOf('spike-with-partition');
    const script = exportK6(s, plan);
    expect(script).toContain('"http_req_duration": [\n      "p(99)<=250",\n      "p(95)<=100"\n    ]');
    expect(script).toContain('"rate<0.01"');
  });

  it('the generated script type-checks against @types/k6', () => {
    const dir = tempDir();
    for (const name of ['spike-with-partition', 'sine-with-crash', 'step-rollout-with-errors']) {
      const { s, plan } = planOf(name);
      writeFileSync(join(dir, `${name}.k6.ts`), exportK6(s, plan));
    }
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'es2020',
          module: 'esnext',
          moduleResolution: 'bundler',
          types: ['k6'],
          typeRoots: [join(PACKAGE_ROOT, 'node_modules/@types')],
          skipLibCheck: false,
        },
        include: ['*.ts'],
      }),
    );
    const tsc = join(PACKAGE_ROOT, 'node_modules/.bin/tsc');
    // Throws (failing the test with tsc's messages) if any script does not type-check.
    execFileSync(tsc, ['-p', dir], { encoding: 'utf8' });
  });
});
