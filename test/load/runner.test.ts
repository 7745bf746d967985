/**
 * The runner (src/run.ts) around the HTTP engine, against a real loopback server: the warm-up
 * before t = 0 (logged, not recorded, off when asked, harmless when the target refuses) and
 * totals that count every sent request once.
 */
import { writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runScenario, type RunOptions } from '../../src/run.ts';
import { loadScenario } from '../../src/input/load.ts';
import { tempDir } from '../helpers/files.ts';
import { httpServer, type TestServer } from '../helpers/servers.ts';

let servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

/** A target that answers /health and counts every other request. */
async function target(handler?: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen = { load: 0 };
  const s = await httpServer((req, res) => {
    if (req.url === '/health') return res.end('ok');
    seen.load++;
    if (handler) handler(req, res);
    else res.end('ok');
  });
  servers.push(s);
  return { s, seen };
}

async function run(url: string, load: string, opts: RunOptions = {}) {
  const dir = tempDir();
  writeFileSync(join(dir, 'env.yaml'), `targets:\n  api: { kind: http, url: "${url}", health: /health }\n`);
  writeFileSync(
    join(dir, 'scenario.yaml'),
    `name: runner-test
environment: ./env.yaml
seed: 3
load:
  target: api
${load}`,
  );
  const handle = runScenario(loadScenario(join(dir, 'scenario.yaml')), {
    guard: false,
    stateDir: tempDir('chaoskit-state-'),
    ...opts,
  });
  const logs: string[] = [];
  handle.on('log', (l) => logs.push(l));
  return { result: await handle.result, logs };
}

const STEADY = `  connections: 4
  pattern:
    - { kind: constant, rate: 50, duration: 2s }
`;

describe('the runner warms the engine up before t = 0', () => {
  it('sends two seconds of the first rate first, logs it, and keeps it out of the result', async () => {
    const { s, seen } = await target();
    const { result, logs } = await run(s.url, STEADY);
    expect(logs).toContainEqual(
      expect.stringMatching(/^warm-up: 100 request\(s\) in \d+ ms, 0 failed, not recorded$/),
    );
    expect(seen.load).toBe(200);
    expect(result.totals).toMatchObject({ requested: 100, sent: 100, ok: 100, failed: 0 });
    expect(result.timeline.map((x) => x.requested)).toEqual([50, 50]);
  });

  it('load.warmUp: false in the scenario, or warmUp: false from the caller, turns it off', async () => {
    const { s, seen } = await target();
    const a = await run(s.url, `${STEADY}  warmUp: false\n`);
    expect(seen.load).toBe(100);
    expect(a.logs.some((l) => l.startsWith('warm-up'))).toBe(false);
    const b = await run(s.url, STEADY, { warmUp: false });
    expect(seen.load).toBe(200);
    expect(b.logs.some((l) => l.startsWith('warm-up'))).toBe(false);
  });

  it('a target that refuses once the preflight passed: the warm-up ends at once and the run goes on', async () => {
    // Stops listening after answering the preflight; every later connection is refused.
    const s = await httpServer((req, res) => {
      res.end('ok');
      if (req.url === '/health') s.close();
    });
    servers.push(s);
    const t0 = performance.now();
    const { result, logs } = await run(s.url, STEADY);
    const warm = logs.find((l) => l.startsWith('warm-up'));
    expect(warm).toMatch(/failed, not recorded; ended early: the target did not answer \(4 × refused\)$/);
    expect(Number(/in (\d+) ms/.exec(warm!)![1])).toBeLessThan(1000); // measured: a few ms
    expect(result.status).toBe('completed');
    expect(result.totals).toMatchObject({ requested: 100, sent: 100, ok: 0, failed: 100 });
    expect(result.totals.errors).toEqual({ refused: 100 });
    expect(performance.now() - t0).toBeLessThan(15_000); // a 2 s run; the warm-up added little
  });
});

describe('run totals', () => {
  it('requests sent after the planned end count in their intended second; the achieved rate shows the drain', async () => {
    // One connection and 30 ms answers: 50 arrivals in 1 s take 1.5 s to send, so about a third
    // of them go out after the plan's end, from the backlog.
    const { s } = await target((_req, res) => setTimeout(() => res.end('ok'), 30));
    const { result } = await run(
      s.url,
      `  connections: 1
  warmUp: false
  pattern:
    - { kind: constant, rate: 50, duration: 1s }
`,
    );
    // Every arrival of second 0 was sent and answered, and is counted in second 0...
    expect(result.timeline[0]).toMatchObject({ requested: 50, sent: 50, ok: 50, failed: 0, dropped: 0 });
    expect(result.totals).toMatchObject({ requested: 50, sent: 50, ok: 50, failed: 0, dropped: 0 });
    // ...while the achieved rate stays true to the second requests went out in: the engine fell
    // behind, and the drain after the plan's end is a second of its own, with no arrivals.
    expect(result.timeline).toHaveLength(2);
    expect(result.timeline[0]!.achieved).toBeLessThan(45);
    expect(result.timeline[1]).toMatchObject({ requested: 0, sent: 0 });
    expect(result.timeline[0]!.achieved + result.timeline[1]!.achieved).toBe(50);
    expect(result.warnings.some((w) => w.startsWith('achieved rate'))).toBe(true);
  });
});
