/**
 * emergency-stop that cannot race (issue 13 item 4) and reconciliation (item 6), in-process
 * against a real fault proxy and real child processes:
 *   - racing a runner that reverts and takes the proxy down: no revert-failed, nothing open;
 *   - a revert that never settles cannot leave an unsettled await (node's exit 13);
 *   - a run that announced `stopping` and keeps heart-beating is waited for, not killed; a
 *     silent or stalled one is killed;
 *   - faults no live run owns are closed when they are no longer in effect (lease, expired).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EmergencyStop } from '../../src/safety/emergency-stop.ts';
import { Ledger } from '../../src/safety/ledger.ts';
import { reconcile } from '../../src/safety/reconcile.ts';
import { revertWithRetry } from '../../src/safety/revert.ts';
import { listRuns } from '../../src/safety/runs.ts';
import { startProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { PACKAGE_ROOT } from '../../src/core/paths.ts';
import { revertRecipe } from '../../src/targets/revert.ts';
import type { RevertRecipe } from '../../src/targets/types.ts';
import { tempDir } from '../helpers/files.ts';
import { killAll, procState, spawnProc, waitUntil } from '../helpers/procs.ts';

let api: ProxyServer | null;

beforeEach(async () => {
  api = await startProxyServer({ port: 0 });
  await api.registry.createProxy({ name: 'dep', listen: '127.0.0.1:0', upstream: '127.0.0.1:9' });
});

afterEach(async () => {
  await api?.close();
  api = null;
  await killAll();
});

function fault(ledger: Ledger, runId: string, faultId: string, leaseMs?: number): RevertRecipe {
  const toxic = `chaoskit:${runId}:${faultId}`;
  const recipe: RevertRecipe = { driver: 'proxy', api: api!.url, proxy: 'dep', toxic };
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
  api!.registry.addToxic('dep', {
    name: toxic,
    type: 'latency',
    attributes: { latency: 100 },
    ...(leaseMs ? { lease_ms: leaseMs } : {}),
  });
  ledger.append({ event: 'applied', runId, faultId });
  return recipe;
}

describe('emergency-stop racing a runner that is reverting', () => {
  it('the runner reverts and takes the proxy down between emergency-stop reading the ledger and its DELETE: exit 0, no revert-failed', async () => {
    const dir = tempDir();
    const ledger = new Ledger(dir);
    const recipe = fault(ledger, 'r1', 'f1');
    // The runner (without any lock, as today's fault runner): revert, record, stop the demo.
    let runnerDone!: () => void;
    const runner = new Promise<void>((r) => (runnerDone = r));
    const lines: string[] = [];
    const stop = new EmergencyStop(dir, {
      graceMs: 1_000,
      // emergency-stop has read the ledger and is about to DELETE; the runner gets there first.
      revert: async (r, onNote) => {
        await runner;
        return revertRecipe(r, { onNote });
      },
    }).run((l) => lines.push(l));
    await revertWithRetry(recipe, 1);
    ledger.append({ event: 'reverted', runId: 'r1', faultId: 'f1', by: 'schedule', outcome: 'reverted' });
    await api!.close();
    api = null;
    runnerDone();
    const report = await stop;
    expect(report.remaining).toBe(0);
    expect(lines.join('\n')).toContain('reverted r1/f1 latency on link (by schedule)');
    expect(ledger.read().filter((e) => e.event === 'revert-failed')).toEqual([]);
    // And every later emergency-stop has nothing to do (exit 0), not a fault on a proxy that is gone.
    const again: string[] = [];
    expect((await new EmergencyStop(dir, { graceMs: 1_000 }).run((l) => again.push(l))).remaining).toBe(0);
    expect(again).toEqual(['nothing to do: no running runs and no open faults']);
  });
});

describe('emergency-stop always settles', () => {
  it('a revert that never settles (and holds nothing open) ends at the hard deadline with exit 4, not node’s exit 13', async () => {
    const dir = tempDir();
    fault(new Ledger(dir), 'r1', 'f1');
    const script = join(tempDir(), 'hang.mts');
    const url = pathToFileURL(join(PACKAGE_ROOT, 'src/safety/emergency-stop.ts')).href;
    writeFileSync(
      script,
      `import { EmergencyStop } from ${JSON.stringify(url)};
const r = await new EmergencyStop(process.argv[2], {
  graceMs: 500, hardDeadlineMs: 1500, revert: () => new Promise(() => {}),
}).run((l) => console.log(l));
process.exitCode = r.remaining > 0 ? 4 : 0;
`,
    );
    const p = spawnProc(process.execPath, ['--import', 'tsx', script, dir], {
      label: 'hanging emergency-stop',
    });
    const exit = await p.wait(30_000);
    expect(exit, p.output()).toEqual({ code: 4, signal: null });
    expect(p.stdout).toContain('gave up waiting after 2s; what is still open is listed below');
    expect(p.stdout).toMatch(/still open r1\/f1 latency on link\n {2}run by hand: curl -X DELETE/);
    expect(p.stdout).toMatch(/done in \d+ms: 0 run\(s\) stopped, 0 fault\(s\) reverted, 1 still open/);
  });
});

/** A fake runner: registers, beats, and on SIGTERM does what `mode` says. */
function fakeRunner(dir: string, runId: string, mode: 'announces' | 'silent' | 'stalls') {
  const runs = pathToFileURL(join(PACKAGE_ROOT, 'src/safety/runs.ts')).href;
  const proc = pathToFileURL(join(PACKAGE_ROOT, 'src/targets/process.ts')).href;
  const script = join(tempDir(), `runner-${mode}.mts`);
  writeFileSync(
    script,
    `import { heartbeat, markStopping, registerRun, unregisterRun } from ${JSON.stringify(runs)};
import { processStartTime } from ${JSON.stringify(proc)};
const [dir, runId, mode] = process.argv.slice(2);
registerRun(dir, { runId, pid: process.pid, startTime: processStartTime(process.pid), guardPid: null, scenario: mode, startedAt: new Date().toISOString() });
const beat = setInterval(() => heartbeat(dir, runId), 200);
process.on('SIGTERM', () => {
  if (mode === 'silent') return; // ignores it, never says it is stopping
  if (mode === 'stalls') { clearInterval(beat); return; } // stops heart-beating
  markStopping(dir, runId, 'SIGTERM');
  // A slow but healthy stop: 3 s of reverting and writing results, heart-beating all along.
  setTimeout(() => { unregisterRun(dir, runId); process.exit(3); }, 3000);
});
console.log('ready');
`,
  );
  return spawnProc(process.execPath, ['--import', 'tsx', script, dir, runId, mode], {
    label: `runner ${mode}`,
  });
}

describe('emergency-stop waits for runs that are stopping, kills only stalled or silent ones', () => {
  it('a run that announced stopping and keeps heart-beating ends on its own (exit 3, not SIGKILL)', async () => {
    const dir = tempDir();
    const runner = fakeRunner(dir, 'slow', 'announces');
    await runner.waitForOutput(/ready/, 20_000);
    const lines: string[] = [];
    const t0 = performance.now();
    const report = await new EmergencyStop(dir, { graceMs: 10_000 }).run((l) => lines.push(l));
    expect(await runner.wait(5_000)).toEqual({ code: 3, signal: null });
    expect(performance.now() - t0).toBeGreaterThan(2_500);
    expect(report.killed).toBe(0);
    expect(lines.join('\n')).not.toContain('SIGKILL');
  });

  it('a run that never announces stopping is killed about 2 s after SIGTERM', async () => {
    const dir = tempDir();
    const runner = fakeRunner(dir, 'deaf', 'silent');
    await runner.waitForOutput(/ready/, 20_000);
    const lines: string[] = [];
    const report = await new EmergencyStop(dir, { graceMs: 10_000 }).run((l) => lines.push(l));
    expect(await runner.wait(5_000)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(report.killed).toBe(1);
    expect(lines).toContain('run deaf did not announce stopping within 2s of SIGTERM; sending SIGKILL');
    expect(listRuns(dir)).toEqual([]);
  });

  it('a stalled run (frozen: no heartbeat) is killed once its heartbeat is older than the TTL', async () => {
    const dir = tempDir();
    const runner = fakeRunner(dir, 'frozen', 'stalls');
    await runner.waitForOutput(/ready/, 20_000);
    runner.signal('SIGSTOP');
    await waitUntil(() => procState(runner.pid) === 'T', 5_000, 'the runner to freeze');
    await new Promise((r) => setTimeout(r, 3_300));
    const lines: string[] = [];
    await new EmergencyStop(dir, { graceMs: 10_000 }).run((l) => lines.push(l));
    expect((await runner.wait(5_000)).signal).toBe('SIGKILL');
    expect(lines.join('\n')).toMatch(/run frozen stalled \(no heartbeat for \d+\.\ds\); sending SIGKILL/);
  });
});

describe('reconciliation: what no live run owns is closed once it is no longer in effect', () => {
  it('a toxic gone by lease is recorded reverted by lease; a live one stays open', async () => {
    const dir = tempDir();
    const ledger = new Ledger(dir);
    fault(ledger, 'dead-run', 'f1', 300); // its lease runs out in 300 ms, as when runner and guard died
    fault(ledger, 'dead-run', 'f2'); // no lease: still in effect
    await waitUntil(
      () => !api!.registry.listToxics('dep').some((t) => t.name === 'chaoskit:dead-run:f1'),
      10_000,
      'the lease to expire',
    );
    const rec = await reconcile(ledger);
    expect(rec.closed.map((c) => [c.fault.faultId, c.by])).toEqual([['f1', 'lease']]);
    expect(rec.orphaned.map((o) => [o.fault.faultId, o.effect])).toEqual([['f2', 'in-effect']]);
    expect(ledger.revertedBy('dead-run', 'f1')).toMatchObject({ by: 'lease', outcome: 'already-gone' });
    expect(ledger.open().map((f) => f.faultId)).toEqual(['f2']);
  });

  it('a paused process that runs again (or exited) and a holder past its deadline are closed as expired', async () => {
    const dir = tempDir();
    const ledger = new Ledger(dir);
    const p = spawnProc(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { label: 'was paused' });
    await waitUntil(() => procState(p.pid) !== undefined, 5_000, 'the process');
    const { processStartTime } = await import('../../src/targets/process.ts');
    const processes = [{ pid: p.pid, startTime: processStartTime(p.pid)!, command: 'x' }];
    ledger.append({
      event: 'intent',
      runId: 'gone',
      faultId: 'p1',
      type: 'pause',
      target: 'svc',
      recipe: { driver: 'process', action: 'continue', processes },
      description: 'x',
      manualRevert: 'x',
    });
    ledger.append({
      event: 'intent',
      runId: 'gone',
      faultId: 'h1',
      type: 'cpu-stress',
      target: 'host',
      recipe: { driver: 'holder', kind: 'cpu', mark: 'chaoskit:gone:h1' },
      description: 'x',
      manualRevert: 'x',
    });
    process.kill(p.pid, 'SIGSTOP');
    await waitUntil(() => procState(p.pid) === 'T', 5_000, 'the process to stop');
    let rec = await reconcile(ledger);
    expect(rec.orphaned.map((o) => [o.fault.faultId, o.effect])).toEqual([['p1', 'in-effect']]);
    expect(rec.closed.map((c) => [c.fault.faultId, c.by])).toEqual([['h1', 'expired']]);
    process.kill(p.pid, 'SIGCONT');
    await waitUntil(() => procState(p.pid) !== 'T', 5_000, 'the process to run');
    rec = await reconcile(ledger);
    expect(rec.closed.map((c) => [c.fault.faultId, c.by])).toEqual([['p1', 'expired']]);
    expect(ledger.open()).toEqual([]);
  });
});
