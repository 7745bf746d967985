/**
 * Scale-out end to end with the real CLI: `chaos run --workers`, a coordinator with `chaos runner`
 * processes, a runner SIGKILLed mid-run (every fault reverted), a coordinator that stops answering
 * (its runner stops its load within 3 s), and every bad input (exit 2, nothing started).
 * Load goes to the demo system or to a server in this process, on 127.0.0.1 only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/result.ts';
import { Ledger } from '../../src/safety/ledger.ts';
import { demoEnv } from '../helpers/cli.ts';
import { tempDir, writeScenario } from '../helpers/files.ts';
import { freePort, killAll, runCli, sleep, spawnCli, waitUntil } from '../helpers/procs.ts';
import { httpServer, type TestServer } from '../helpers/servers.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await killAll();
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

const results = (dir: string) => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RunResult;
/** Per-second requested, without trailing seconds that only hold a late send (timer jitter). */
function requested(r: RunResult): number[] {
  const out = r.timeline.map((s) => s.requested);
  while (out.length > 0 && out[out.length - 1] === 0) out.pop();
  return out;
}

async function target(): Promise<TestServer & { hits: number[] }> {
  const hits: number[] = [];
  const s = await httpServer((req, res) => {
    if (req.url !== '/health') hits.push(performance.now());
    res.end('ok');
  });
  cleanups.push(() => s.close());
  return Object.assign(s, { hits });
}

function scenario(url: string, pattern: string): string {
  return writeScenario(
    `name: t\nenvironment: ./env.yaml\nload:\n  target: api\n  pattern: ${pattern}\n`,
    `targets:\n  api: { kind: http, url: "${url}", health: /health }\n`,
  );
}

describe('chaos run --workers / --runners, chaos runner', () => {
  it('spike-with-partition --workers 2 has the same per-second requested as --workers 1', async () => {
    const env = await demoEnv();
    const state = tempDir('chaoskit-state-');
    const out1 = tempDir();
    const out2 = tempDir();
    const args = ['run', 'spike-with-partition', '--time-scale', '0.1', '--seed', '9', '--quiet'];
    const one = spawnCli([...args, '--workers', '1', '--out', out1], state, env);
    const e1 = await one.wait(90_000);
    const two = spawnCli([...args, '--workers', '2', '--out', out2], state, env);
    const e2 = await two.wait(90_000);
    expect([0, 1], one.output()).toContain(e1.code);
    expect([0, 1], two.output()).toContain(e2.code);
    const [r1, r2] = [results(out1), results(out2)];
    expect(r1.workers).toBe(1);
    expect(r2.workers).toBe(2);
    expect(requested(r2)).toEqual(requested(r1));
    expect(r2.totals.requested).toBe(r1.totals.requested);
    expect(r2.faults.map((f) => f.status)).toEqual(['reverted']);
    expect(new Ledger(state).open()).toEqual([]);
  }, 200_000);

  it('SIGKILL of one runner mid-run: the coordinator aborts (exit 3), marks it lost and reverts every fault', async () => {
    const env = await demoEnv();
    const state = tempDir('chaoskit-state-');
    const out = tempDir();
    const port = await freePort();
    const coord = spawnCli(
      [
        'run',
        'spike-with-partition',
        '--time-scale',
        '0.2',
        '--seed',
        '4',
        '--runners',
        '2',
        '--listen',
        `127.0.0.1:${port}`,
        '--out',
        out,
      ],
      state,
      env,
    );
    await coord.waitForOutput(/waiting for 2 runner/, 30_000);
    const url = `http://127.0.0.1:${port}`;
    const r0 = spawnCli(['runner', '--coordinator', url, '--index', '0'], state, env);
    const r1 = spawnCli(['runner', '--coordinator', url, '--index', '1'], state, env);
    await coord.waitForOutput(/fault f1 applied/, 60_000);
    r1.signal('SIGKILL');
    const exit = await coord.wait(30_000);
    expect(exit.code, coord.output()).toBe(3);
    expect(coord.stderr).toMatch(
      /runner 1 \(.+\) lost at t=\d+(\.\d+)?s: its connection to the coordinator closed \(--on-runner-loss abort\)/,
    );
    expect((await r0.wait(10_000)).code).toBe(0);
    const r = results(out);
    expect(r.status).toBe('aborted');
    expect(r.faults.map((f) => [f.status, f.revertedBy])).toEqual([['reverted', 'runner-exit']]);
    expect(r.runners!.map((x) => x.state)).toEqual(['stopped', 'lost']);
    expect(r.warnings.some((w) => /runner 1 .* was lost at t=.*not delivered/.test(w))).toBe(true);
    expect(new Ledger(state).open()).toEqual([]);
  }, 120_000);

  it('a runner whose coordinator stops answering stops its load within 3 s (exit 3)', async () => {
    const t = await target();
    const state = tempDir('chaoskit-state-');
    const port = await freePort();
    const coord = spawnCli(
      [
        'run',
        scenario(t.url, '[{ kind: constant, rate: 100, duration: 60s }]'),
        '--runners',
        '1',
        '--listen',
        `127.0.0.1:${port}`,
        '--quiet',
      ],
      state,
    );
    await coord.waitForOutput(/waiting for 1 runner/, 30_000);
    const runner = spawnCli(['runner', '--coordinator', `http://127.0.0.1:${port}`], state);
    await waitUntil(() => t.hits.length > 200, 30_000, 'the load to flow');
    // SIGSTOP: the coordinator's sockets stay open, it just says nothing any more.
    coord.signal('SIGSTOP');
    const stoppedAt = performance.now();
    const exit = await runner.wait(10_000);
    expect(exit.code, runner.output()).toBe(3);
    expect(runner.stderr).toMatch(
      /lost the coordinator \(no word from it for 2(\.\d+)?s\): stopped the load at once/,
    );
    await sleep(500);
    const last = Math.max(...t.hits);
    expect(last - stoppedAt).toBeLessThan(3_000);
    coord.signal('SIGKILL');
  }, 90_000);

  it('chaos emergency-stop and Ctrl-C on the coordinator stop every runner and every worker', async () => {
    const t = await target();
    const state = tempDir('chaoskit-state-');
    const file = scenario(t.url, '[{ kind: constant, rate: 100, duration: 60s }]');
    // Runners: an emergency stop from another shell.
    const port = await freePort();
    const coord = spawnCli(
      ['run', file, '--runners', '2', '--listen', `127.0.0.1:${port}`, '--quiet'],
      state,
    );
    await coord.waitForOutput(/waiting for 2 runner/, 30_000);
    const runners = [0, 1].map(() =>
      spawnCli(['runner', '--coordinator', `http://127.0.0.1:${port}`], state),
    );
    await waitUntil(() => t.hits.length > 200, 30_000, 'the load to flow');
    const stop = await runCli(['emergency-stop'], state, 30_000);
    expect(stop.code, stop.stderr).toBe(0);
    const stoppedAt = performance.now();
    expect((await coord.wait(15_000)).code, coord.output()).toBe(3);
    for (const r of runners) {
      const e = await r.wait(10_000);
      expect(e.code, r.output()).toBe(0);
      expect(r.stderr).toMatch(/runner: the (run is over|coordinator ended the run)/);
    }
    await sleep(300);
    expect(Math.max(...t.hits) - stoppedAt).toBeLessThan(1_500);
    // Workers: Ctrl-C.
    t.hits.length = 0;
    const w = spawnCli(['run', file, '--workers', '2', '--quiet'], state);
    await waitUntil(() => t.hits.length > 200, 60_000, 'the workers’ load to flow');
    w.signal('SIGINT');
    const interruptedAt = performance.now();
    expect((await w.wait(15_000)).code, w.output()).toBe(3);
    await sleep(300);
    expect(Math.max(...t.hits) - interruptedAt).toBeLessThan(1_500);
  }, 120_000);

  it('bad input is exit 2 with one paragraph, and nothing starts', async () => {
    const state = tempDir('chaoskit-state-');
    const small = scenario('http://127.0.0.1:9', '[{ kind: constant, rate: 2, duration: 2s }]');
    const cases: [string[], RegExp][] = [
      [['run', small, '--workers', '0'], /--workers must be a whole number of at least 1, got 0/],
      [
        ['run', small, '--workers', '5'],
        /--workers 5 is more than the 4 arrival\(s\) of t: every segment needs at least one/,
      ],
      [['run', small, '--runners', '2'], /--runners needs --listen HOST:PORT/],
      [['run', small, '--workers', '2', '--runners', '2'], /--workers and --runners do not combine/],
      [
        ['run', small, '--runners', '2', '--listen', '0.0.0.0:7070'],
        /reachable beyond this machine: set CHAOSKIT_TOKEN/,
      ],
      [['run', small, '--runners', '2', '--listen', 'nonsense'], /--listen must be HOST:PORT/],
      [['runner', '--coordinator', 'ftp://x'], /--coordinator must be an http:\/\/ URL/],
    ];
    for (const [args, re] of cases) {
      const r = await runCli(args, state);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr).not.toMatch(/starting the demo system|joined|listening/);
    }
  }, 120_000);

  it('a coordinator port in use, and a runner pointed at something else, are exit 2', async () => {
    const state = tempDir('chaoskit-state-');
    const t = await target();
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => busy.close(() => r())));
    const port = (busy.address() as net.AddressInfo).port;
    const file = scenario(t.url, '[{ kind: constant, rate: 10, duration: 2s }]');
    const r = await runCli(['run', file, '--runners', '1', '--listen', `127.0.0.1:${port}`], state);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`--listen 127.0.0.1:${port}: the port is in use; nothing was started`),
    );
    expect(t.hits).toEqual([]);
    const notCoord = await runCli(['runner', '--coordinator', t.url], state);
    expect(notCoord.code).toBe(2);
    expect(notCoord.stderr).toMatch(/is not a chaoskit coordinator \(it answered HTTP 200/);
    expect(t.hits.length).toBeLessThanOrEqual(1);
  }, 60_000);
});
