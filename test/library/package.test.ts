import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/core/paths.ts';
import { demoEnv } from '../helpers/cli.ts';
import { tempDir } from '../helpers/files.ts';

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs plain Node (no tsx, no vitest resolver) inside the package, so `import 'chaoskit'` goes through package.json "exports". */
function node(args: string[], env: NodeJS.ProcessEnv = {}, timeout = 60_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd: PACKAGE_ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout },
      (err, stdout, stderr) =>
        resolve({ status: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

async function nodeEval(code: string): Promise<string> {
  const r = await node(['--input-type=module', '-e', code]);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe('chaoskit as a library, imported through package.json exports', () => {
  // The example runs a scenario for ~10 s on the demo system: it starts first, and the quick
  // checks run while it does.
  let example: Promise<Ran>;
  beforeAll(async () => {
    // `npm ci` builds dist/ (the prepare script); build it here too when a developer has not.
    if (!existsSync(join(PACKAGE_ROOT, 'dist/src/index.js'))) {
      execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: PACKAGE_ROOT, stdio: 'inherit' });
    }
    const env = { ...(await demoEnv()), CHAOSKIT_STATE_DIR: tempDir() };
    example = node(['examples/library.mjs'], env, 90_000);
  }, 120_000);
  // Whatever was run or filtered out, the example has ended before the file does.
  afterAll(() => example, 120_000);

  it('loadScenario and plan are typed, pure and usable without tsx', async () => {
    const out = await nodeEval(`
      import { loadScenario, plan, faultTypes } from 'chaoskit';
      const s = loadScenario('spike-with-partition');
      const p = plan(s, { seed: 3, timeScale: 0.5 });
      console.log(JSON.stringify({ phases: p.phases.length, faults: p.faults.map((f) => [f.type, f.startMs, f.endMs]), n: faultTypes.length > 10 }));
    `);
    expect(JSON.parse(out)).toEqual({ phases: 3, faults: [['partition', 16_000, 23_500]], n: true });
  });

  it('bad input surfaces as InputError with exit code 2', async () => {
    const out = await nodeEval(`
      import { loadScenario, InputError } from 'chaoskit';
      try { loadScenario('no-such-scenario'); } catch (e) { console.log(e instanceof InputError, e.exitCode); }
    `);
    expect(out.trim()).toBe('true 2');
  });

  it('the runnable example under examples/ runs a scenario end to end and prints the verdict', async () => {
    const r = await example;
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
