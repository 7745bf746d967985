/**
 * Stops through the real CLI (issue 12, item 5): a signal at the spike, during set-up, and SIGHUP.
 * The p99 figure (within 1.5 s over 20 trials) is measured by `npm run bench -- stop-latency`;
 * the bounds here are generous because CI machines are shared.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/result.ts';
import { demoEnv, startCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/files.ts';
import { expectAccounting } from '../helpers/accounting.ts';

/** Resolves when the CLI prints `text` on stderr; rejects, with what it printed, if it exits first. */
function waitFor(child: ReturnType<typeof startCli>['child'], text: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (c: Buffer) => {
      seen += c.toString();
      if (seen.includes(text)) {
        child.stderr!.off('data', onData);
        child.off('exit', onExit);
        resolve(performance.now());
      }
    };
    const onExit = (code: number | null) =>
      reject(new Error(`chaos exited (${code}) before printing "${text}":\n${seen}`));
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
  });
}

describe('stopping a run', () => {
  it('SIGINT at the spike: load stopped, partition reverted, partial results, ABORTED with the elapsed time, exit 3', async () => {
    const out = tempDir();
    const state = tempDir('chaoskit-state-');
    const { child, done } = startCli(['run', 'spike-with-partition', '--time-scale', '0.1', '--out', out], {
      ...(await demoEnv()),
      CHAOSKIT_STATE_DIR: state,
    });
    // At this scale the load lasts 9.4 s; the spike holds from 3.2 s to 5.2 s, the partition
    // from 3.2 s to 4.7 s. The signal goes as soon as the partition is applied, at the spike.
    // Both listeners at once: the two lines may come in one chunk.
    const started = waitFor(child, 'running spike-with-partition');
    await waitFor(child, 'fault f1 applied');
    await started;
    const t0 = performance.now();
    child.kill('SIGINT');
    const r = await done;
    const took = performance.now() - t0;
    expect(r.code, r.stderr).toBe(3);
    expect(took).toBeLessThan(5_000);
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResult;
    expectAccounting(res);
    expect(res.status).toBe('aborted');
    expect(res.verdict!.status).toBe('aborted');
    expect(res.abort!.reason).toBe('signal SIGINT');
    expect(res.timeline.length).toBeGreaterThanOrEqual(3);
    // Ran at least to the partition's start, and stopped well before the scenario's end.
    expect(res.ranMs).toBeGreaterThanOrEqual(3_200);
    expect(res.ranMs).toBeLessThan(9_400);
    expect(res.faults[0]!.status).toBe('reverted');
    expect(r.stdout).toContain('verdict: ABORTED');
    expect(r.stdout).not.toContain('verdict: PASS');
    expect(r.stderr).toMatch(
      /chaos: run aborted after \d+(\.\d+)?s \(signal SIGINT\); every fault was reverted; partial results written/,
    );
    const ledger = readFileSync(join(state, 'ledger.jsonl'), 'utf8');
    expect(ledger).toContain('"event":"reverted"');
    expect(readdirSync(join(state, 'runs'))).toEqual([]);
  });

  it('SIGINT during set-up exits 3 (not 2), and leaves nothing running', async () => {
    const state = tempDir('chaoskit-state-');
    const { child, done } = startCli(['run', 'spike-with-partition', '--time-scale', '0.1'], {
      ...(await demoEnv()),
      CHAOSKIT_STATE_DIR: state,
    });
    await waitFor(child, 'starting the demo system');
    child.kill('SIGINT');
    const r = await done;
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(
      /aborted during set-up \(starting the demo system\) by signal SIGINT; nothing was applied/,
    );
    expect(existsSync(join(state, 'ledger.jsonl'))).toBe(false);
  });

  it('SIGHUP (the terminal went away) is a stop like SIGTERM: results written, exit 3', async () => {
    // A plain constant load on a loopback server of this test (no demo system to start).
    const upstream = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    try {
      const dir = tempDir();
      const out = join(dir, 'out');
      const port = (upstream.address() as AddressInfo).port;
      writeFileSync(
        join(dir, 'env.yaml'),
        `name: hup\ntargets:\n  api: { kind: http, url: "http://127.0.0.1:${port}" }\n`,
      );
      const scenario = join(dir, 'hup.yaml');
      writeFileSync(
        scenario,
        `name: hup
environment: ./env.yaml
load:
  target: api
  pattern:
    - { kind: constant, rate: 100, duration: 60s }
`,
      );
      const { child, done } = startCli(['run', scenario, '--out', out, '--no-warm-up']);
      await waitFor(child, 'running hup');
      // Some load first (the run would last 60 s).
      await new Promise((r) => setTimeout(r, 500));
      child.kill('SIGHUP');
      const r = await done;
      expect(r.code, r.stderr).toBe(3);
      const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResult;
      expect(res.abort!.reason).toBe('signal SIGHUP');
      expect(res.status).toBe('aborted');
      expect(res.totals.sent).toBeGreaterThan(0);
      expect(r.stderr).not.toContain('warm-up:'); // --no-warm-up
    } finally {
      upstream.closeAllConnections();
      await new Promise<void>((r) => upstream.close(() => r()));
    }
  });
});
