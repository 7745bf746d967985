/**
 * bin/chaos.mjs picks the built JavaScript in dist/ only while no source is newer than the build
 * that made it, so a developer (or a test run) after editing src/ never runs stale code. Driven on
 * a small package laid out in a temp folder: the real bin script, a dist/ and a src/ whose `main`
 * say which one ran, and this repository's node_modules (tsx) linked in.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_BIN, PACKAGE_ROOT } from '../../src/core/paths.ts';
import { tempDir } from '../helpers/files.ts';

const BUILT_AT = Date.now() - 60_000;
const BEFORE = (BUILT_AT - 60_000) / 1000; // utimes takes seconds
const AFTER = (BUILT_AT + 30_000) / 1000;

const made: string[] = [];
afterAll(() => {
  for (const root of made) rmSync(root, { recursive: true, force: true });
});

function fakePackage(opts: { buildInfo?: string | null } = {}): string {
  const root = tempDir('chaoskit-bin-');
  made.push(root);
  const file = (path: string, text: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  mkdirSync(join(root, 'bin'));
  file('package.json', '{ "name": "fake", "type": "module" }\n');
  copyFileSync(CLI_BIN, join(root, 'bin', 'chaos.mjs'));
  symlinkSync(join(PACKAGE_ROOT, 'node_modules'), join(root, 'node_modules'));
  const main = (which: string) =>
    `export async function main(argv) { process.stdout.write('${which} ' + argv.join(' ')); return argv.length; }\n`;
  file('dist/src/cli/main.js', main('dist'));
  // Type annotations: only tsx can run this one.
  file('src/cli/main.ts', main('src').replace('(argv)', '(argv: string[]): Promise<number>'));
  file('src/cli/commands/list.ts', 'export {};\n');
  file('faults/index.ts', 'export {};\n');
  file('reporters/index.ts', 'export {};\n');
  for (const p of ['src/cli/main.ts', 'src/cli/commands/list.ts', 'faults/index.ts', 'reporters/index.ts'])
    utimesSync(join(root, p), BEFORE, BEFORE);
  for (const d of ['src/cli/commands', 'src/cli', 'src', 'faults', 'reporters'])
    utimesSync(join(root, d), BEFORE, BEFORE);
  const info = opts.buildInfo === undefined ? JSON.stringify({ startedAt: BUILT_AT }) : opts.buildInfo;
  if (info !== null) file('dist/build-info.json', info);
  return root;
}

function run(root: string, args: string[] = ['a', 'b'], env: NodeJS.ProcessEnv = {}) {
  const { CHAOSKIT_FROM_SOURCE: _, ...base } = process.env;
  const r = spawnSync(process.execPath, [join(root, 'bin', 'chaos.mjs'), ...args], {
    env: { ...base, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { which: r.stdout.split(' ')[0], stdout: r.stdout, stderr: r.stderr, code: r.status };
}

describe('bin/chaos.mjs: dist or sources', { timeout: 120_000 }, () => {
  it('runs dist/ when no source is newer than the build, passing arguments and the exit code', () => {
    const r = run(fakePackage());
    expect(r).toMatchObject({ which: 'dist', stdout: 'dist a b', code: 2 });
  });

  it('runs the sources when a file in src/, faults/ or reporters/ changed after the build', () => {
    for (const p of ['src/cli/commands/list.ts', 'faults/index.ts', 'reporters/index.ts']) {
      const root = fakePackage();
      utimesSync(join(root, p), AFTER, AFTER);
      expect(run(root), p).toMatchObject({ which: 'src', stdout: 'src a b', code: 2 });
    }
  });

  it('runs the sources when a file was added, removed or renamed (the folder changed)', () => {
    const root = fakePackage();
    utimesSync(join(root, 'src/cli/commands'), AFTER, AFTER);
    expect(run(root).which).toBe('src');
  });

  it('runs the sources without a build record, with a broken one, or when CHAOSKIT_FROM_SOURCE=1', () => {
    expect(run(fakePackage({ buildInfo: null })).which).toBe('src');
    expect(run(fakePackage({ buildInfo: '{"startedAt": "yesterday"' })).which).toBe('src');
    expect(run(fakePackage(), [], { CHAOSKIT_FROM_SOURCE: '1' })).toMatchObject({ which: 'src', code: 0 });
  });
});
