import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { faultTypes } from '../../faults/index.ts';
import { PACKAGE_ROOT } from '../../src/core/paths.ts';

const read = (f: string) => readFileSync(join(PACKAGE_ROOT, f), 'utf8');

describe('docs stay in step with the code', () => {
  it('docs/faults.md has a section for every registered fault type', () => {
    const doc = read('docs/faults.md');
    const missing = faultTypes.filter((t) => !doc.includes(`### ${t}\n`));
    expect(missing).toEqual([]);
  });

  it('README opens with the two set-up commands', () => {
    const lines = read('README.md').split('\n');
    const block = lines.slice(lines.indexOf('```sh') + 1, lines.indexOf('```', lines.indexOf('```sh') + 1));
    expect(block[0]).toMatch(/^npm ci && npx chaos run spike-with-partition/);
    expect(block[1]).toMatch(/^npm ci && npm test/);
  });

  it('.ci/run runs the README test command', () => {
    expect(read('.ci/run')).toMatch(/^npm test$/m);
  });
});
