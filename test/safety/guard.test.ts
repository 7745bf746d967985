/**
 * The revert layers below the runner, in-process against a real fault proxy: revertWithRetry,
 * revertOpenFaults (newest first, never stopping at a failure), the guard's decisions (run ended,
 * runner dead, heartbeat stale) and EmergencyStop.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { appendFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { EmergencyStop } from '../../src/safety/emergency-stop.ts';
import { runGuard } from '../../src/safety/guard.ts';
import { Ledger } from '../../src/safety/ledger.ts';
import { revertOpenFaults, revertWithRetry } from '../../src/safety/revert.ts';
import {
  unregisterRun,
  HEARTBEAT_TTL_MS,
  listRuns,
  readRun,
  registerRun,
  type RunInfo,
} from '../../src/safety/runs.ts';
import { startProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { processStartTime } from '../../src/targets/process.ts';
import type { RevertRecipe } from '../../src/targets/types.ts';
import { tempDir } from '../helpers/files.ts';
import { fill, mountUnavailable, smallTmpfs, unmountAll } from './mounts.ts';
import { RESERVE_BYTES, RESERVE_FILE } from '../../src/safety/state.ts';
import { freePort, killAll, spawnProc, waitUntil } from '../helpers/procs.ts';

let api: ProxyServer;

beforeEach(async () => {
  api = await startProxyServer({ port: 0 });
  // The upstream does not matter here: toxics are what is checked.
  await api.registry.createProxy({ name: 'dep', listen: '127.0.0.1:0', upstream: '127.0.0.1:9' });
});

afterEach(async () => {
  await api.close();
  await killAll();
});

const toxicNames = () => api.registry.listToxics('dep').map((t) => t.name);

/** Adds a toxic the way a run would and records intent + applied in the ledger. */
function fault(ledger: Ledger, runId: string, faultId: string): RevertRecipe {
  const toxic = `chaoskit:${runId}:${faultId}`;
  const recipe: RevertRecipe = { driver: 'proxy', api: api.url, proxy: 'dep', toxic };
  ledger.append({
    event: 'intent',
    runId,
    faultId,
    type: 'latency',
    target: 'link',
    recipe,
    description: toxic,
    manualRevert: 'curl',
  });
  api.registry.addToxic('dep', { name: toxic, type: 'latency', attributes: { latency: 100 } });
  ledger.append({ event: 'applied', runId, faultId });
  return recipe;
}

describe('revertWithRetry', () => {
  it('retries a failing revert and succeeds once the API answers', async () => {
    let hits = 0;
    const flaky = http.createServer((_req, res) => {
      hits++;
      res.writeHead(hits < 3 ? 503 : 204).end();
    });
    await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', () => r()));
    const port = (flaky.address() as AddressInfo).port;
    try {
      const outcome = await revertWithRetry(
        { driver: 'proxy', api: `http://127.0.0.1:${port}`, proxy: 'p', toxic: 't' },
        3,
        20,
      );
      expect(outcome).toBe('reverted');
      expect(hits).toBe(3);
    } finally {
      flaky.close();
    }
  });

  it('gives up after the attempts with the last error', async () => {
    const port = await freePort();
    const t0 = performance.now();
    await expect(
      revertWithRetry({ driver: 'proxy', api: `http://127.0.0.1:${port}`, proxy: 'p', toxic: 't' }, 3, 50),
    ).rejects.toThrow(/not reachable \(ECONNREFUSED\)/);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140); // 50 + 100 ms of backoff
  });
});

describe('revertOpenFaults', () => {
  it('reverts newest first, records each outcome, and goes on past a failure', async () => {
    const dir = tempDir();
    const ledger = new Ledger(dir);
    fault(ledger, 'r1', 'f1');
    const deadPort = await freePort();
    const bad: RevertRecipe = {
      driver: 'proxy',
      api: `http://127.0.0.1:${deadPort}`,
      proxy: 'dep',
      toxic: 'chaoskit:r1:f2',
    };
    ledger.append({
      event: 'intent',
      runId: 'r1',
      faultId: 'f2',
      type: 'latency',
      target: 'link',
      recipe: bad,
      description: 'unreachable',
      manualRevert: 'curl',
    });
    fault(ledger, 'r1', 'f3');

    const report = await revertOpenFaults(ledger, ledger.open(), 'emergency-stop');
    expect(report.reverted.map((r) => r.fault.faultId)).toEqual(['f3', 'f1']);
    expect(report.failed.map((r) => r.fault.faultId)).toEqual(['f2']);
    expect(toxicNames()).toEqual([]);
    const events = ledger.read().filter((e) => e.event === 'reverted' || e.event === 'revert-failed');
    expect(events.map((e) => `${e.event}:${e.faultId}`)).toEqual([
      'reverted:f3',
      'revert-failed:f2',
      'reverted:f1',
    ]);
    expect(ledger.open().map((f) => [f.faultId, f.lastError])).toEqual([
      ['f2', expect.stringContaining('ECONNREFUSED')],
    ]);
  });
});

function runInfo(runId: string, pid: number): RunInfo {
  return {
    runId,
    pid,
    startTime: processStartTime(pid)!,
    guardPid: null,
    scenario: 't',
    startedAt: new Date().toISOString(),
  };
}

describe('runGuard', () => {
  it('exits without touching anything when the run has ended (its run file is gone)', async () => {
    const dir = tempDir();
    const ledger = new Ledger(dir);
    fault(ledger, 'r1', 'f1');
    expect(await runGuard(dir, 'r1', 20)).toBe('run-ended');
    expect(toxicNames()).toEqual(['chaoskit:r1:f1']);
  });

  it("reverts only its run's faults when the runner dies, and removes the dead run", async () => {
    const dir = tempDir();
    const ledger = new Ledger(dir);
    const runner = spawnProc(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      label: 'fake runner',
    });
    await waitUntil(() => processStartTime(runner.pid) !== undefined, 3_000, 'the runner');
    registerRun(dir, runInfo('r1', runner.pid));
    fault(ledger, 'r1', 'f1');
    fault(ledger, 'other', 'f1');
    const guard = runGuard(dir, 'r1', 20);
    await new Promise((r) => setTimeout(r, 100));
    expect(toxicNames()).toHaveLength(2); // runner alive, heartbeat fresh: nothing happens
    const t0 = performance.now();
    runner.signal('SIGKILL');
    expect(await guard).toBe('reverted');
    console.log(
      `guard (in-process, 20 ms poll) reverted ${Math.round(performance.now() - t0)}ms after SIGKILL`,
    );
    expect(toxicNames()).toEqual(['chaoskit:other:f1']);
    expect(ledger.open().map((f) => f.runId)).toEqual(['other']);
    expect(ledger.read().find((e) => e.event === 'reverted')).toMatchObject({
      runId: 'r1',
      faultId: 'f1',
      by: 'guard',
    });
    expect(readRun(dir, 'r1')).toBeNull();
  });

  it('reverts when the heartbeat is older than the TTL even if the runner still exists', async () => {
    const dir = tempDir();
    const ledger = new Ledger(dir);
    const runner = spawnProc(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      label: 'hung runner',
    });
    await waitUntil(() => processStartTime(runner.pid) !== undefined, 3_000, 'the runner');
    registerRun(dir, runInfo('r1', runner.pid));
    fault(ledger, 'r1', 'f1');
    const old = (Date.now() - HEARTBEAT_TTL_MS - 2_000) / 1000;
    utimesSync(join(dir, 'runs', 'r1.hb'), old, old);
    // The guard reverts, then keeps guarding the live (stalled) runner until its run ends.
    const guard = runGuard(dir, 'r1', 20);
    await waitUntil(() => toxicNames().length === 0, 5_000, 'the guard to revert');
    expect(readRun(dir, 'r1')).not.toBeNull(); // still alive: left for the runner (or emergency-stop)
    unregisterRun(dir, 'r1');
    expect(await guard).toBe('reverted');
  });
});

describe('EmergencyStop (in-process)', () => {
  it('reverts every open fault, drops dead runs, and then has nothing to do', async () => {
    const dir = tempDir();
    const ledger = new Ledger(dir);
    // A run whose runner died without cleaning up (its pid no longer has the recorded start time).
    const gone = spawnProc(process.execPath, ['-e', '0'], { label: 'finished runner' });
    await gone.wait(5_000);
    registerRun(dir, { ...runInfo('dead', process.pid), pid: gone.pid, startTime: 1 });
    fault(ledger, 'dead', 'f1');
    fault(ledger, 'r2', 'f1');
    const lines: string[] = [];
    const report = await new EmergencyStop(dir, 1_000).run((l) => lines.push(l));
    expect(report).toMatchObject({ runsStopped: 0, reverted: 2, remaining: 0 });
    expect(toxicNames()).toEqual([]);
    expect(listRuns(dir)).toEqual([]);
    expect(lines.join('\n')).toMatch(/reverted dead\/f1 latency on link/);

    const again: string[] = [];
    expect(await new EmergencyStop(dir, 1_000).run((l) => again.push(l))).toMatchObject({
      runsStopped: 0,
      reverted: 0,
      remaining: 0,
    });
    expect(again).toEqual(['nothing to do: no running runs and no open faults']);
  });
});

describe.skipIf(mountUnavailable !== null)('runGuard on a full disk', () => {
  afterEach(unmountAll);

  it('still reverts every fault when the ledger cannot be written, and does not crash', async () => {
    const dir = smallTmpfs(RESERVE_BYTES / 1024 + 64);
    const ledger = new Ledger(dir);
    const runner = spawnProc(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { label: 'runner' });
    await waitUntil(() => processStartTime(runner.pid) !== undefined, 3_000, 'the runner');
    registerRun(dir, runInfo('r1', runner.pid));
    fault(ledger, 'r1', 'f1');
    fault(ledger, 'r1', 'f2');
    // Full beyond the reserve too, and the ledger's last page full: nothing can be recorded any more.
    rmSync(join(dir, RESERVE_FILE));
    const pad = (d: string) =>
      `${JSON.stringify({ ts: new Date().toISOString(), event: 'intent', runId: 'r0', faultId: 'f0', type: 'latency', target: 'link', recipe: { driver: 'proxy', api: api.url, proxy: 'dep', toxic: 'chaoskit:r0:f0' }, description: d, manualRevert: 'x' })}\n`;
    const used = statSync(ledger.file).size + pad('').length;
    appendFileSync(ledger.file, pad('x'.repeat((4096 - (used % 4096)) % 4096)));
    expect(statSync(ledger.file).size % 4096).toBe(0);
    fill(join(dir, 'other'));
    runner.signal('SIGKILL');
    await runner.wait(5_000);
    // Each revert works; recording it fails (LedgerWriteError): the guard goes on to the next,
    // retries for its window, and ends normally.
    expect(await runGuard(dir, 'r1', 20, 1_000)).toBe('reverted');
    expect(toxicNames()).toEqual([]);
    // Not recorded: still open in the ledger (emergency-stop or status closes them later).
    expect(ledger.open('r1').map((f) => f.faultId)).toEqual(['f1', 'f2']);
  });

  it('a resumed runner learns from the ledger who reverted its fault meanwhile', async () => {
    const dir = tempDir();
    const ledger = new Ledger(dir);
    fault(ledger, 'r1', 'f1');
    expect(ledger.revertedBy('r1', 'f1')).toBeNull();
    await revertOpenFaults(ledger, ledger.open('r1'), 'guard');
    expect(ledger.revertedBy('r1', 'f1')).toEqual({
      by: 'guard',
      ts: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      outcome: 'reverted',
    });
  });
});
