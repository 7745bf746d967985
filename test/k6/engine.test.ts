import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/files.ts';
import { httpServer, type TestServer } from '../helpers/servers.ts';

let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

/**
 * k6 itself cannot be installed here (it is AGPL, and this project never downloads it), so this
 * stand-in plays its part of the contract: `k6 version`, and `k6 run --out json=FILE -e BASE_URL=…
 * SCRIPT` making real requests to BASE_URL and writing k6's documented NDJSON lines.
 */
const STAND_IN = `#!/usr/bin/env node
const args = process.argv.slice(2);
if (args[0] === 'version') { console.log('k6 v1.0.0 (stand-in)'); process.exit(0); }
const out = args.find((a) => a.startsWith('json=')).slice(5);
const base = args[args.indexOf('-e') + 1].replace(/^BASE_URL=/, '');
const script = args.at(-1);
if (!require('fs').readFileSync(script, 'utf8').includes("executor: 'ramping-arrival-rate'")) process.exit(107);
const lines = [JSON.stringify({ type: 'Metric', metric: 'http_req_duration', data: { name: 'http_req_duration', type: 'trend' } })];
let left = 40;
const tick = async () => {
  const t0 = Date.now();
  const r = await fetch(base + '/items/1');
  const ms = Date.now() - t0;
  const time = new Date().toISOString();
  const tags = { status: String(r.status), method: 'GET', name: 'read' };
  lines.push(JSON.stringify({ type: 'Point', metric: 'http_reqs', data: { time, value: 1, tags } }));
  lines.push(JSON.stringify({ type: 'Point', metric: 'http_req_duration', data: { time, value: ms, tags } }));
  lines.push(JSON.stringify({ type: 'Point', metric: 'http_req_failed', data: { time, value: r.status >= 400 ? 1 : 0, tags } }));
  if (--left > 0) setTimeout(tick, 50); else require('fs').writeFileSync(out, lines.join('\\n') + '\\n');
};
tick();
`;

describe('--engine k6', () => {
  it('without k6 on PATH: exit 2 before anything runs, saying why and what to do', async () => {
    const r = await runCli(['run', 'spike-with-partition', '--engine', 'k6', '--time-scale', '0.1'], {
      CHAOSKIT_K6: 'k6-not-installed-here',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'engine k6 needs a k6 binary on PATH (looked for "k6-not-installed-here": ENOENT)',
    );
    expect(r.stderr).toContain('k6 is AGPL-licensed, so chaoskit does not ship or download it');
  });

  it('runs the exported script with k6 and turns its NDJSON into results.json, scored as usual', async () => {
    server = await httpServer((req, res) => {
      res.statusCode = req.url === '/health' || req.url?.startsWith('/items') ? 200 : 404;
      res.end('{}');
    });
    const dir = tempDir();
    const k6 = join(dir, 'k6');
    writeFileSync(k6, STAND_IN);
    chmodSync(k6, 0o755);
    writeFileSync(
      join(dir, 'env.yaml'),
      `targets:\n  api: { kind: http, url: "${server.url}", health: /health }\n`,
    );
    writeFileSync(join(dir, 'slo.yaml'), 'services:\n  api:\n    availability: 99%\n');
    writeFileSync(
      join(dir, 's.yaml'),
      'name: k6-run\nenvironment: ./env.yaml\nslo: ./slo.yaml\nload:\n  target: api\n  requests: [{ method: GET, path: /items/1 }]\n  pattern:\n    - { kind: constant, rate: 20, duration: 2s }\n',
    );
    const r = await runCli(['run', join(dir, 's.yaml'), '--engine', 'k6', '--out', dir, '--quiet'], {
      CHAOSKIT_K6: k6,
    });
    expect(r.stderr).not.toContain('internal error');
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
    expect(res.totals.ok).toBe(40);
    expect(res.verdict.status).toBe('pass');
    expect(res.warnings.some((w: string) => w.includes('coordinated omission'))).toBe(true);
  });
});
