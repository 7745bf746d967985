/**
 * Stops through the real CLI (issue 12, item 5): a signal at the spike, during set-up, and SIGHUP.
 * The p99 figure (within 1.5 s over 20 trials) is measured by `npm run bench -- stop-latency`;
 * the bounds here are generous because CI machines are shared.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/result.ts';
import { demoEnv, startCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/files.ts';
import { expectAccounting } from '../helpers/accounting.ts';

function waitFor(child: ReturnType<typeof startCli>['child'], text: string): Promise<number> {
  return new Promise((resolve) => {
    let seen = '';
    const onData = (c: Buffer) => {
      seen += c.toString();
      if (seen.includes(text)) {
        child.stderr!.off('data', onData);
        resolve(performance.now());
      }
    };
    child.stderr!.on('data', onData);
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
    const started = await waitFor(child, 'running spike-with-partition');
    // The spike holds from 3.2 s to 5.2 s of load, the partition from 3.2 s to 4.7 s.
    await new Promise((r) => setTimeout(r, Math.max(0, started + 4_000 - performance.now())));
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
    expect(res.ranMs).toBeGreaterThan(3_500);
    expect(res.ranMs).toBeLessThan(9_000);
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
    const out = tempDir();
    const { child, done } = startCli(
      ['run', 'constant-baseline', '--time-scale', '0.1', '--out', out, '--no-warm-up'],
      await demoEnv(),
    );
    await waitFor(child, 'running constant-baseline');
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGHUP');
    const r = await done;
    expect(r.code, r.stderr).toBe(3);
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResult;
    expect(res.abort!.reason).toBe('signal SIGHUP');
  });
});
