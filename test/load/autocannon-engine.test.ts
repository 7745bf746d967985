import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { weightedSequence } from '../../src/load/autocannon-engine.ts';
import { runCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/files.ts';
import { httpServer, type TestServer } from '../helpers/servers.ts';

let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

describe('autocannon engine (closed model, capacity probes)', () => {
  it('turns weights into an interleaved request cycle', () => {
    const r = (name: string, weight: number) => ({
      name,
      weight,
      method: 'GET',
      path: `/${name}`,
      headers: {},
    });
    expect(weightedSequence([r('a', 80), r('b', 20)]).map((x) => x.name)).toEqual(['a', 'b', 'a', 'a', 'a']);
    expect(weightedSequence([r('a', 1)]).map((x) => x.name)).toEqual(['a']);
  });

  it('steps connections up, judges each step against the SLO and reports the knee', async () => {
    // A server that sheds load: more than 4 requests in flight get a 503. Timing-independent, so
    // a busy CI machine cannot move the knee.
    let inFlight = 0;
    server = await httpServer((_req, res) => {
      inFlight++;
      setTimeout(() => {
        res.statusCode = inFlight > 4 ? 503 : 200;
        res.end();
        inFlight--;
      }, 5);
    });
    const dir = tempDir();
    writeFileSync(join(dir, 'env.yaml'), `targets:\n  api: { kind: http, url: "${server.url}" }\n`);
    writeFileSync(join(dir, 'slo.yaml'), 'services:\n  api:\n    availability: 99%\n');
    writeFileSync(
      join(dir, 'cap.yaml'),
      'name: cap\nengine: autocannon\nenvironment: ./env.yaml\nslo: ./slo.yaml\nload:\n  target: api\n  capacity: { connections: [1, 2, 32, 64], each: 2s }\n',
    );
    const r = await runCli(['run', join(dir, 'cap.yaml'), '--out', dir, '--quiet']);
    expect(r.stderr).not.toContain('internal error');
    const res = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
    const steps = res.capacity.steps as {
      connections: number;
      pass: boolean;
      p99Ms: number;
      throughput: number;
    }[];
    // 32 connections keep far more than 4 requests in flight: most answers are 503, so stepping stops there.
    expect(steps.map((s) => [s.connections, s.pass])).toEqual([
      [1, true],
      [2, true],
      [32, false],
    ]);
    expect(res.capacity.knee).toMatchObject({ connections: 2 });
    expect(steps[1]!.throughput).toBeGreaterThan(50);
    expect(res.warnings.some((w: string) => w.startsWith('closed model (autocannon)'))).toBe(true);
  }, 60_000);
});
