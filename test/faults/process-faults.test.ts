/**
 * Process faults on real processes this test starts: pause (SIGSTOP, reverted with SIGCONT),
 * crash (SIGKILL, reverted by the target's restart command until its health URL answers), and
 * the PID-reuse guard: a recorded (pid, start time) that no longer matches is never signalled.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { faultDef } from '../../faults/index.ts';
import { createPrng } from '../../src/load/prng.ts';
import type { Target } from '../../src/scenario/schema.ts';
import { processStartTime, signal } from '../../src/targets/process.ts';
import { manualRevertFor, revertRecipe } from '../../src/targets/revert.ts';
import {
  ownershipMark,
  type ApplyContext,
  type Prepared,
  type RevertRecipe,
} from '../../src/targets/types.ts';
import { tempDir } from '../helpers/files.ts';
import { adopt, freePort, killAll, procState, spawnProc, waitUntil, type Proc } from '../helpers/procs.ts';

afterEach(killAll);

const marker = () => `chaoskit-test-${randomBytes(6).toString('hex')}`;

/** An idle node process whose command line carries `mark`. */
function idle(mark: string): Proc {
  return spawnProc(process.execPath, ['-e', 'setInterval(() => {}, 1000)', mark], { label: `idle ${mark}` });
}

function ctx(
  target: Target,
  pick: ApplyContext['pick'] = {},
  seed = 1,
  extra: Partial<ApplyContext> = {},
): ApplyContext {
  return {
    selfRevert: false,
    ...extra,
    targetName: 'svc',
    target,
    faultId: 'f1',
    runId: 'test-run',
    mark: ownershipMark('test-run', 'f1'),
    leaseMs: 10_000,
    durationMs: 60_000,
    prng: createPrng(seed).fork('f1'),
    pick,
    log: () => {},
  };
}

async function prepare(
  type: 'pause' | 'crash',
  target: Target,
  pick: ApplyContext['pick'] = {},
  params: Record<string, unknown> = {},
  extra: Partial<ApplyContext> = {},
): Promise<Prepared> {
  const def = faultDef(type)!;
  return def.on.process!(ctx(target, pick, 1, extra), def.params.parse(params));
}

/** An environment file with one process target `svc`, as a run would have loaded it. */
function envWith(dir: string, svc: Record<string, unknown>): string {
  const file = join(dir, 'env.yaml');
  writeFileSync(file, `targets:\n  svc: ${JSON.stringify({ kind: 'process', ...svc })}\n`);
  return file;
}

const stopped = (pid: number) => waitUntil(() => procState(pid) === 'T', 3_000, `pid ${pid} to stop`);
const running = (pid: number) =>
  waitUntil(() => procState(pid) !== 'T' && procState(pid) !== undefined, 3_000, `pid ${pid} to run`);

describe('pause', () => {
  it('stops the matching process (state T) and the revert continues it', async () => {
    const mark = marker();
    const p = idle(mark);
    await waitUntil(() => procState(p.pid) !== undefined, 3_000, 'the process');
    const prepared = await prepare('pause', { kind: 'process', match: mark });
    expect(prepared.recipe).toEqual({
      driver: 'process',
      action: 'continue',
      processes: [{ pid: p.pid, startTime: processStartTime(p.pid), command: expect.stringContaining(mark) }],
    });
    expect(procState(p.pid)).not.toBe('T'); // preparing changes nothing
    await prepared.apply();
    await stopped(p.pid);
    expect(prepared.manualRevert).toBe(`kill -CONT ${p.pid}`);
    expect(manualRevertFor(prepared.recipe)).toBe(`kill -CONT ${p.pid}`);

    expect(await revertRecipe(JSON.parse(JSON.stringify(prepared.recipe)) as RevertRecipe)).toBe('reverted');
    await running(p.pid);
    expect(p.running).toBe(true);
  });

  it('picks `count` of the matching processes with the seeded PRNG, and continues exactly those', async () => {
    const mark = marker();
    const procs = [idle(mark), idle(mark), idle(mark)];
    await waitUntil(() => procs.every((p) => procState(p.pid) !== undefined), 3_000, 'the processes');
    const prepared = await prepare('pause', { kind: 'process', match: mark, expect: 3 }, { count: 2 });
    const again = await prepare('pause', { kind: 'process', match: mark, expect: 3 }, { count: 2 });
    const picked = (prepared.recipe as Extract<RevertRecipe, { action: 'continue' }>).processes.map(
      (x) => x.pid,
    );
    expect(picked).toHaveLength(2);
    expect(
      (again.recipe as Extract<RevertRecipe, { action: 'continue' }>).processes.map((x) => x.pid),
    ).toEqual(picked);
    await prepared.apply();
    for (const pid of picked) await stopped(pid);
    const spared = procs.find((p) => !picked.includes(p.pid))!;
    expect(procState(spared.pid)).not.toBe('T');
    expect(await revertRecipe(prepared.recipe)).toBe('reverted');
    for (const pid of picked) await running(pid);
  });

  it('a revert whose process exited is already gone', async () => {
    const mark = marker();
    const p = idle(mark);
    await waitUntil(() => procState(p.pid) !== undefined, 3_000, 'the process');
    const prepared = await prepare('pause', { kind: 'process', match: mark });
    await prepared.apply();
    p.signal('SIGKILL');
    await p.wait(5_000);
    expect(await revertRecipe(prepared.recipe)).toBe('already-gone');
  });
});

/** A tiny HTTP service: writes its PID to `pidFile`, answers /health on `port`. */
function writeService(dir: string): string {
  const file = join(dir, 'service.mjs');
  writeFileSync(
    file,
    `import http from 'node:http';
import { writeFileSync } from 'node:fs';
const [port, pidFile] = process.argv.slice(2);
http.createServer((req, res) => res.end(req.url === '/health' ? 'healthy' : 'ok')).listen(Number(port), '127.0.0.1', () => {
  writeFileSync(pidFile, String(process.pid));
});
`,
  );
  return file;
}

async function healthy(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(500) });
    await r.body?.cancel();
    return r.ok;
  } catch {
    return false;
  }
}

describe('crash', () => {
  it('SIGKILLs the service; the revert runs the restart command and waits until it is healthy', async () => {
    const dir = tempDir();
    const service = writeService(dir);
    const port = await freePort();
    const mark = marker();
    const pidFile = join(dir, 'service.pid');
    const health = `http://127.0.0.1:${port}/health`;
    const first = spawnProc(process.execPath, [service, String(port), pidFile, mark], { label: 'service' });
    await waitUntil(() => healthy(health), 10_000, 'the service to be healthy');
    const target = {
      kind: 'process' as const,
      match: mark,
      restart: `exec ${process.execPath} ${service} ${port} ${pidFile} ${mark}`,
      health,
    };
    const envFile = envWith(dir, target);
    const prepared = await prepare('crash', target, {}, {}, { environmentFile: envFile });
    // The restart command is not in the recipe: only the environment file and its hash are.
    expect(prepared.recipe).toEqual({
      driver: 'process',
      action: 'restart',
      find: { match: mark },
      health,
      killed: [{ pid: first.pid, startTime: expect.any(Number), command: expect.stringContaining(mark) }],
      environment: { file: envFile, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), target: 'svc' },
    });
    expect(JSON.stringify(prepared.recipe)).not.toContain('exec ');
    expect(prepared.manualRevert).toBe(target.restart);

    const applied = await prepared.apply();
    expect(await first.wait(5_000)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await healthy(health)).toBe(false);

    const t0 = performance.now();
    expect(await revertRecipe(JSON.parse(JSON.stringify(prepared.recipe)) as RevertRecipe)).toBe('reverted');
    const back = Number(readFileSync(pidFile, 'utf8'));
    adopt(back);
    console.log(
      `crash revert: restarted as pid ${back}, healthy ${Math.round(performance.now() - t0)}ms after the revert began`,
    );
    expect(back).not.toBe(first.pid);
    expect(await healthy(health)).toBe(true);
    expect(await applied.observation).toMatch(/^healthy again \d+ms after the kill$/);
  });

  it('does not run the restart command when a supervisor already brought the service back', async () => {
    const dir = tempDir();
    const service = writeService(dir);
    const port = await freePort();
    const mark = marker();
    const pidFile = join(dir, 'service.pid');
    const ranFile = join(dir, 'restart-ran');
    const health = `http://127.0.0.1:${port}/health`;
    const first = spawnProc(process.execPath, [service, String(port), pidFile, mark], { label: 'service' });
    await waitUntil(() => healthy(health), 10_000, 'the service to be healthy');
    const svc = { kind: 'process' as const, match: mark, restart: `touch ${ranFile}`, health };
    const prepared = await prepare('crash', svc, {}, {}, { environmentFile: envWith(dir, svc) });
    await prepared.apply();
    await first.wait(5_000);
    // The "supervisor" (this test) restarts it.
    spawnProc(process.execPath, [service, String(port), pidFile, mark], { label: 'service (supervised)' });
    expect(await revertRecipe(prepared.recipe)).toBe('reverted');
    expect(await healthy(health)).toBe(true);
    expect(existsSync(ranFile)).toBe(false);
  });

  it('fails (with what to do) when nothing brings the process back and there is no restart command', async () => {
    const mark = marker();
    const p = idle(mark);
    await waitUntil(() => procState(p.pid) !== undefined, 3_000, 'the process');
    const prepared = await prepare('crash', { kind: 'process', match: mark }, {}, { signal: 'SIGTERM' });
    await prepared.apply();
    expect((await p.wait(5_000)).signal).toBe('SIGTERM');
    await expect(revertRecipe(prepared.recipe)).rejects.toThrow(
      /is not running and the run recorded no environment file to take a restart command from/,
    );
    expect(manualRevertFor(prepared.recipe)).toContain(mark);
  });

  it('never runs a restart command from an environment file that changed since the fault (its hash differs)', async () => {
    const dir = tempDir();
    const mark = marker();
    const ranFile = join(dir, 'restart-ran');
    const p = idle(mark);
    await waitUntil(() => procState(p.pid) !== undefined, 3_000, 'the process');
    const envFile = envWith(dir, { match: mark, restart: 'true' });
    const prepared = await prepare(
      'crash',
      { kind: 'process', match: mark, restart: 'true' },
      {},
      {},
      {
        environmentFile: envFile,
      },
    );
    await prepared.apply();
    await p.wait(5_000);
    // Someone edits the environment between the fault and its revert.
    envWith(dir, { match: mark, restart: `touch ${ranFile}` });
    await expect(revertRecipe(prepared.recipe)).rejects.toThrow(/changed since the fault was applied/);
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(ranFile)).toBe(false);
  });
});

describe('a recycled PID is never signalled', () => {
  it('signal() refuses a pid whose start time differs from the recorded one', async () => {
    const p = idle(marker());
    await waitUntil(() => procState(p.pid) !== undefined, 3_000, 'the process');
    const startTime = processStartTime(p.pid)!;
    expect(signal({ pid: p.pid, startTime: startTime + 1, command: '' }, 'SIGKILL')).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(p.running).toBe(true);
  });

  it('a pause revert recipe with a stale start time does not continue the process now at that PID', async () => {
    const p = idle(marker());
    await waitUntil(() => procState(p.pid) !== undefined, 3_000, 'the process');
    process.kill(p.pid, 'SIGSTOP'); // someone else's stopped process now holds "our" old PID
    await stopped(p.pid);
    const stale: RevertRecipe = {
      driver: 'process',
      action: 'continue',
      processes: [{ pid: p.pid, startTime: processStartTime(p.pid)! - 1, command: 'old' }],
    };
    expect(await revertRecipe(stale)).toBe('already-gone');
    await new Promise((r) => setTimeout(r, 100));
    expect(procState(p.pid)).toBe('T');
  });

  it('pause and crash do not signal when the picked PID was recycled between prepare and apply', async () => {
    const mark = marker();
    const p = idle(mark);
    await waitUntil(() => procState(p.pid) !== undefined, 3_000, 'the process');

    const pause = await prepare('pause', { kind: 'process', match: mark });
    (pause.recipe as Extract<RevertRecipe, { action: 'continue' }>).processes[0]!.startTime -= 1; // as if another process had that PID
    await expect(pause.apply()).rejects.toThrow(/could be stopped/);

    const crash = await prepare('crash', { kind: 'process', match: mark });
    (crash.recipe as Extract<RevertRecipe, { action: 'restart' }>).killed[0]!.startTime -= 1;
    await expect(crash.apply()).rejects.toThrow(/exited before the signal/);

    await new Promise((r) => setTimeout(r, 100));
    expect(p.running).toBe(true);
    expect(procState(p.pid)).not.toBe('T');
  });
});
