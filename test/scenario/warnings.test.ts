/** Allowed but probably not meant: the loader's warnings (issue 12, "Bad input"). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/input/load.ts';
import { tempDir } from '../helpers/files.ts';

function load(faults: string, timeout = '1s') {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'env.yaml'),
    'targets:\n  api: { kind: http, url: "http://127.0.0.1:9" }\n  hop: { kind: proxy, proxy: dep, api: "http://127.0.0.1:9" }\n',
  );
  const file = join(dir, 's.yaml');
  writeFileSync(
    file,
    `name: w
environment: ./env.yaml
load:
  target: api
  timeout: ${timeout}
  pattern: [{ kind: constant, rate: 1, duration: 20s }]
faults:
${faults}`,
  );
  return { file, s: loadScenario(file) };
}

describe('scenario warnings', () => {
  it('a delay fault at least as long as load.timeout is allowed, and warned with its location', () => {
    const { file, s } = load(
      '  - { type: latency, target: hop, at: 2s, duration: 5s, delay: 800ms, jitter: 200ms }\n',
    );
    expect(s.warnings).toEqual([
      `${file}:8:64: faults[0].delay: the latency fault's delay (1s) is at least load.timeout (1s): every request it slows fails as a timeout, so its answers are never measured; raise load.timeout if you mean to see them`,
    ]);
  });

  it('a delay shorter than the deadline is not warned about', () => {
    expect(
      load('  - { type: http-delay, target: hop, at: 2s, duration: 5s, delay: 500ms }\n').s.warnings,
    ).toEqual([]);
  });
});
