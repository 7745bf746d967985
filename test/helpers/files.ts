/** Temporary scenario/environment files for validation tests. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix = 'chaoskit-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export const TEST_ENV = `targets:
  api: { kind: http, url: "http://127.0.0.1:9", health: /health }
  api->dependency: { kind: proxy, proxy: dependency, api: "http://127.0.0.1:9" }
  api-process: { kind: process, match: no-such-process-xyz }
`;

/** Writes a scenario (and an environment beside it) and returns the scenario's path. */
export function writeScenario(yaml: string, env = TEST_ENV, dir = tempDir()): string {
  writeFileSync(join(dir, 'env.yaml'), env);
  const file = join(dir, 'scenario.yaml');
  writeFileSync(file, yaml);
  return file;
}

export const MINIMAL = `name: t
environment: ./env.yaml
load:
  target: api
  pattern:
    - { kind: constant, rate: 10, duration: 10s }
`;
