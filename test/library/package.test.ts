import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/scenario/paths.ts';
import { demoEnv } from '../helpers/cli.ts';
import { tempDir } from '../helpers/files.ts';

/** Runs plain Node (no tsx, no vitest resolver) inside the package, so `import 'chaoskit'` goes through package.json "exports". */
function nodeEval(code: string, env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: PACKAGE_ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
}

describe('chaoskit as a library, imported through package.json exports', () => {
  beforeAll(() => {
    // `npm ci` builds dist/ (the prepare script); build it here too when a developer has not.
    if (!existsSync(join(PACKAGE_ROOT, 'dist/src/index.js'))) {
      execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: PACKAGE_ROOT, stdio: 'inherit' });
    }
  }, 120_000);

  it('loadScenario and plan are typed, pure and usable without tsx', () => {
    const out = nodeEval(`
      import { loadScenario, plan, faultTypes } from 'chaoskit';
      const s = loadScenario('spike-with-partition');
      const p = plan(s, { seed: 3, timeScale: 0.5 });
      console.log(JSON.stringify({ phases: p.phases.length, faults: p.faults.map((f) => [f.type, f.startMs, f.endMs]), n: faultTypes.length > 10 }));
    `);
    expect(JSON.parse(out)).toEqual({ phases: 3, faults: [['partition', 16_000, 23_500]], n: true });
  });

  it('bad input surfaces as InputError with exit code 2', () => {
    const out = nodeEval(`
      import { loadScenario, InputError } from 'chaoskit';
      try { loadScenario('no-such-scenario'); } catch (e) { console.log(e instanceof InputError, e.exitCode); }
    `);
    expect(out.trim()).toBe('true 2');
  });

  it('the runnable example under examples/ runs a scenario end to end and prints the verdict', async () => {
    const env = { ...(await demoEnv()), CHAOSKIT_STATE_DIR: tempDir() };
    const r = spawnSync(process.execPath, ['examples/library.mjs'], {
      cwd: PACKAGE_ROOT,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 90_000,
    });
    // exit 1 = the verdict was not a pass (a loaded CI box); the run itself completed
    expect([0, 1], r.stderr).toContain(r.status);
    const out = r.stdout;
    expect(out).toMatch(/^plan: 3 phases, 1 fault\(s\), 9\.4s$/m);
    expect(out).toMatch(
      /^status (pass|fail|inconclusive|invalid), score [\d.]+ \([A-F]\), \d+ requests, faults: f1 reverted$/m,
    );
    // The live view reached the example's listener once a second.
    expect(r.stderr.match(/^t=\d+s sent \d+\/s$/gm)?.length ?? 0).toBeGreaterThanOrEqual(5);
  });
});
