/**
 * Scale-out end to end with the real CLI: `chaos run --workers`, a coordinator with `chaos runner`
 * processes, a runner SIGKILLed mid-run (every fault reverted), a coordinator that stops answering
 * (its runner stops its load within 3 s), and every bad input (exit 2, nothing started).
 * Load goes to servers in this process (some behind a fault proxy here, for a real partition), on
 * 127.0.0.1 only. Refusals are checked through the CLI's own `main` in this process, and a few
 * also as real `chaos` processes for the exit status.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/result.ts';
import { Ledger } from '../../src/safety/ledger.ts';
import { tempDir, writeScenario } from '../helpers/files.ts';
import { freePort, killAll, runCli, sleep, spawnCli, waitUntil } from '../helpers/procs.ts';
import { cliInProcess, proxiedTarget } from '../helpers/scale-cli.ts';
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

/**
 * spike-with-partition's shape, shorter (30 s; 3 s at --time-scale 0.1): baseline, a 5x spike and
 * recovery, reads and writes, and a partition of api->dependency from the spike on. Its target is a
 * server here behind a fault proxy here (proxiedTarget), not the demo system.
 */
const SPIKE_WITH_PARTITION = `name: t
environment: ./env.yaml
load:
  target: api
  requests:
    - { name: read, weight: 80, method: GET, path: /items/42 }
    - { name: write, weight: 20, method: POST, path: /items, body: '{"q":1}' }
  pattern:
    - { kind: constant, name: baseline, rate: 40, duration: 10s }
    - { kind: spike, name: spike, from: 40, to: 200, rise: 2s, hold: 6s, fall: 2s }
    - { kind: constant, name: recovery, rate: 40, duration: 10s }
faults:
  - { type: partition, target: api->dependency, at: 11s, duration: 15s }
`;

async function spikeWithPartition(): Promise<string> {
  const t = await proxiedTarget();
  cleanups.push(() => t.close());
  return writeScenario(SPIKE_WITH_PARTITION, t.env);
}

describe('chaos run --workers / --runners, chaos runner', () => {
  it('a spike with a partition: --workers 2 has the same per-second requested as --workers 1', async () => {
    // One after the other (side by side, a starved worker can fall silent long enough to be lost).
    const file = await spikeWithPartition();
    const state = tempDir('chaoskit-state-');
    const run = async (workers: number) => {
      const out = tempDir();
      const p = spawnCli(
        [
          'run',
          file,
          '--time-scale',
          '0.1',
          '--seed',
          '9',
          '--quiet',
          '--no-warm-up',
          '--workers',
          `${workers}`,
          '--out',
          out,
        ],
        state,
      );
      const e = await p.wait(90_000);
      expect([0, 1], p.output()).toContain(e.code);
      return results(out);
    };
    const r1 = await run(1);
    const r2 = await run(2);
    expect(r1.workers).toBe(1);
    expect(r2.workers).toBe(2);
    expect(requested(r2)).toEqual(requested(r1));
    expect(r2.totals.requested).toBe(r1.totals.requested);
    expect(r2.faults.map((f) => f.status)).toEqual(['reverted']);
    expect(new Ledger(state).open()).toEqual([]);
  }, 200_000);

  it('SIGKILL of one runner mid-run: the coordinator aborts (exit 3), marks it lost and reverts every fault', async () => {
    const file = await spikeWithPartition();
    const state = tempDir('chaoskit-state-');
    const out = tempDir();
    const port = await freePort();
    // 6 s at --time-scale 0.2: the partition is applied at 2.2 s and lasts 3 s.
    const coord = spawnCli(
      [
        'run',
        file,
        '--time-scale',
        '0.2',
        '--seed',
        '4',
        '--no-warm-up',
        '--runners',
        '2',
        '--listen',
        `127.0.0.1:${port}`,
        '--out',
        out,
      ],
      state,
    );
    await coord.waitForOutput(/waiting for 2 runner/, 30_000);
    const url = `http://127.0.0.1:${port}`;
    const r0 = spawnCli(['runner', '--coordinator', url, '--index', '0'], state);
    const r1 = spawnCli(['runner', '--coordinator', url, '--index', '1'], state);
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
        // No warm-up: every hit is then the run's load (the warm-up's requests come before t = 0).
        '--no-warm-up',
      ],
      state,
    );
    await coord.waitForOutput(/waiting for 1 runner/, 30_000);
    const runner = spawnCli(['runner', '--coordinator', `http://127.0.0.1:${port}`], state);
    await waitUntil(() => t.hits.length > 50, 30_000, 'the load to flow');
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
    // Two independent runs, started together so their start-ups overlap: a coordinator with 2
    // runners (stopped by an emergency stop from another shell) and --workers 2 (Ctrl-C). Each has
    // its own target and state directory, so neither stop can reach the other run.
    const [t, tw] = [await target(), await target()];
    const load = '[{ kind: constant, rate: 100, duration: 60s }]';
    // No warm-up: every hit is then the runs' load (the warm-up's requests come before t = 0).
    const quiet = ['--quiet', '--no-warm-up'];
    const state = tempDir('chaoskit-state-');
    const stateW = tempDir('chaoskit-state-');
    const port = await freePort();
    const coord = spawnCli(
      ['run', scenario(t.url, load), '--runners', '2', '--listen', `127.0.0.1:${port}`, ...quiet],
      state,
    );
    const w = spawnCli(['run', scenario(tw.url, load), '--workers', '2', ...quiet], stateW);
    await coord.waitForOutput(/waiting for 2 runner/, 30_000);
    const runners = [0, 1].map(() =>
      spawnCli(['runner', '--coordinator', `http://127.0.0.1:${port}`], state),
    );
    await waitUntil(() => t.hits.length > 50 && tw.hits.length > 50, 60_000, 'both loads to flow');
    // Workers: Ctrl-C.
    w.signal('SIGINT');
    const interruptedAt = performance.now();
    expect((await w.wait(15_000)).code, w.output()).toBe(3);
    await sleep(300);
    expect(Math.max(...tw.hits) - interruptedAt).toBeLessThan(1_500);
    expect(coord.running, coord.output()).toBe(true);
    // Runners: an emergency stop from another shell.
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
    const nothingStarted = /starting the demo system|joined|listening/;
    // Two as real processes (at once), for the exit status and the output a shell sees ...
    const real = [cases[1]!, cases[6]!];
    const exits = await Promise.all(real.map(([args]) => runCli(args, state)));
    for (const [i, r] of exits.entries()) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(real[i]![1]);
      expect(r.stderr).not.toMatch(nothingStarted);
    }
    // ... and every one through the same entry point (main), in this process.
    expect(process.env.CHAOSKIT_TOKEN).toBeUndefined();
    for (const [args, re] of cases) {
      const r = await cliInProcess(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr).not.toMatch(nothingStarted);
    }
  }, 120_000);

  it('a coordinator port in use, and a runner pointed at something else, are exit 2', async () => {
    const state = tempDir('chaoskit-state-');
    // Each case has its own target, so the two can run at once.
    const [t, other] = [await target(), await target()];
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => busy.close(() => r())));
    const port = (busy.address() as net.AddressInfo).port;
    const file = scenario(t.url, '[{ kind: constant, rate: 10, duration: 2s }]');
    const [r, notCoord] = await Promise.all([
      runCli(['run', file, '--runners', '1', '--listen', `127.0.0.1:${port}`], state),
      runCli(['runner', '--coordinator', other.url], state),
    ]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`--listen 127.0.0.1:${port}: the port is in use; nothing was started`),
    );
    expect(t.hits).toEqual([]);
    expect(notCoord.code).toBe(2);
    expect(notCoord.stderr).toMatch(/is not a chaoskit coordinator \(it answered HTTP 200/);
    expect(other.hits.length).toBeLessThanOrEqual(1);
  }, 60_000);
});
