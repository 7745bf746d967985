/**
 * "Nothing is left broken", end to end with real processes: `chaos run` against a test upstream
 * behind the fault proxy, and every way a run can end badly — SIGKILL (the guard reverts),
 * `chaos emergency-stop` from another shell, a revert that fails while the proxy is down (left
 * open, reported, reverted later by emergency-stop), and Ctrl-C (partial results, reverted).
 * Load is 20 req/s to 127.0.0.1 only; every process is killed by PID in afterEach.
 *
 * The case where runner and guard both die mostly waits for the self-reverting timers (window +
 * 10 s of grace) and a proxy lease (10 s): its run starts in beforeAll, without waiting, and is
 * killed as soon as its faults are applied, so those waits overlap the other cases. Its
 * processes and servers are kept apart from the per-test cleanup (afterEach) and ended, by PID,
 * in afterAll.
 */
import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Ledger } from '../../src/safety/ledger.ts';
import { HEARTBEAT_TTL_MS, listRuns } from '../../src/safety/runs.ts';
import { startProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import type { RunResult } from '../../src/result.ts';
import { tempDir } from '../helpers/files.ts';
import { fill, mountUnavailable, smallTmpfs, unmountAll } from '../safety/mounts.ts';
import { RESERVE_BYTES } from '../../src/safety/state.ts';
import { CLI_BIN, PACKAGE_ROOT } from '../../src/core/paths.ts';
import { processStartTime } from '../../src/targets/process.ts';
import {
  Proc,
  adopt,
  cliEnv,
  killAll,
  procState,
  runCli,
  spawnCli,
  spawnProc,
  startCliProxy,
  waitUntil,
} from '../helpers/procs.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await killAll();
  unmountAll();
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Toxic {
  name: string;
  type: string;
}

interface System {
  dir: string;
  state: string;
  api: string;
  apiPort: number;
  listenPort: number;
  upstreamPort: number;
  envFile: string;
  toxics(): Promise<Toxic[]>;
  /** One GET through the proxy (a fresh connection); the status, or an error code. */
  probe(): Promise<number | string>;
  scenario(name: string, seconds: number, faults: string[]): string;
}

async function apiCall(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const r = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(3_000),
  });
  const text = await r.text();
  return { status: r.status, json: text ? (JSON.parse(text) as unknown) : undefined };
}

async function createDep(api: string, upstreamPort: number, listen = '127.0.0.1:0'): Promise<number> {
  const r = await apiCall(api, 'POST', '/proxies', {
    name: 'dep',
    listen,
    upstream: `127.0.0.1:${upstreamPort}`,
  });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  return Number((r.json as { listen: string }).listen.split(':').pop());
}

/**
 * A test upstream, the fault proxy in front of it (its own `chaos proxy` process, or in this
 * process), a proxy named dep, and an environment file pointing at them. No demo.
 */
async function system(
  proxyKind: 'cli' | 'in-process',
  extraTargets = '',
  /** Where its servers' closing goes: afterEach's list unless the system outlives one test. */
  closers: Array<() => Promise<void> | void> = cleanups,
): Promise<System & { proxyProc?: Proc; proxyServer?: ProxyServer }> {
  const dir = tempDir('chaoskit-e2e-');
  const state = join(dir, 'state');
  const upstream = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' }).end(req.url === '/health' ? 'healthy' : 'ok');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  closers.push(
    () =>
      new Promise<void>((r) => {
        upstream.closeAllConnections();
        upstream.close(() => r());
      }),
  );
  const upstreamPort = (upstream.address() as AddressInfo).port;

  let api: string;
  let apiPort: number;
  let proxyProc: Proc | undefined;
  let proxyServer: ProxyServer | undefined;
  if (proxyKind === 'cli') {
    const px = await startCliProxy(state);
    ({ url: api, port: apiPort, proc: proxyProc } = px);
  } else {
    const server = await startProxyServer({ port: 0 });
    proxyServer = server;
    closers.push(() => server.close());
    ({ url: api, port: apiPort } = server);
  }
  const listenPort = await createDep(api, upstreamPort);
  const envFile = join(dir, 'env.yaml');
  writeFileSync(
    envFile,
    `name: e2e
targets:
  api: { kind: http, url: "http://127.0.0.1:${listenPort}", health: /health }
  link: { kind: proxy, proxy: dep, api: "${api}" }
${extraTargets}`,
  );
  return {
    dir,
    state,
    api,
    apiPort,
    listenPort,
    upstreamPort,
    envFile,
    proxyProc,
    proxyServer,
    toxics: async () => (await apiCall(api, 'GET', '/proxies/dep/toxics')).json as Toxic[],
    probe: () =>
      new Promise((resolve) => {
        const req = http.get(
          { host: '127.0.0.1', port: listenPort, path: '/', agent: false, timeout: 2_000 },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
        req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      }),
    scenario: (name, seconds, faults) => {
      const file = join(dir, `${name}.yaml`);
      writeFileSync(
        file,
        // No warm-up (load.warmUp): nothing here is about it, and each run reaches its faults 2 s sooner.
        `name: ${name}
load:
  target: api
  timeout: 2s
  warmUp: false
  pattern:
    - { kind: constant, rate: 20, duration: ${seconds}s }
faults:
${faults.map((f) => `  - ${f}`).join('\n')}
`,
      );
      return file;
    },
  };
}

/** Waits for the run to register with its guard; adopts the guard so afterEach can end it. */
async function registered(state: string): Promise<{ runId: string; guardPid: number }> {
  const run = await waitUntil(
    () => listRuns(state).find((r) => r.guardPid !== null),
    20_000,
    'the run to register with its guard',
  );
  adopt(run.guardPid!);
  return { runId: run.runId, guardPid: run.guardPid! };
}

/**
 * The runner-and-guard-both-die case, started by beforeAll and left running across the other
 * cases: its processes are not in procs.ts's registry (afterEach's killAll would end them), and
 * its servers close in afterAll.
 */
const orphanProcs: Proc[] = [];
const orphanCleanups: Array<() => Promise<void> | void> = [];
let orphanGuard: { pid: number; startTime: number | undefined } | undefined;

function spawnOrphan(cmd: string, args: string[], env: NodeJS.ProcessEnv, label: string): Proc {
  const child = spawn(cmd, args, { cwd: PACKAGE_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const p = new Proc(child, label);
  orphanProcs.push(p);
  return p;
}

const orphanCli = (args: string[], state: string) =>
  spawnOrphan(process.execPath, [CLI_BIN, ...args], cliEnv(state), `chaos ${args.join(' ')}`);

/**
 * A process to pause and a directory to fill (both self-reverting faults, 2 s windows) and a
 * proxy latency (a lease, 25 s window); once all three are applied the guard and then the runner
 * are SIGKILLed, and `chaos status` is run at once. Resolves with what the test checks.
 */
async function orphanedRun() {
  const mark = `chaoskit-test-${randomBytes(6).toString('hex')}`;
  const victim = spawnOrphan(
    process.execPath,
    ['-e', 'setInterval(() => {}, 1000)', mark],
    process.env,
    'paused service',
  );
  const fillIn = tempDir('chaoskit-fill-');
  const sys = await system(
    'in-process',
    `  svc: { kind: process, match: "${mark}" }\n  host: { kind: host }\n`,
    orphanCleanups,
  );
  await waitUntil(
    () => readFileSync(`/proc/${victim.pid}/cmdline`, 'utf8').includes(mark),
    10_000,
    'the service',
  );
  const scenario = sys.scenario('orphaned', 30, [
    '{ type: pause, target: svc, at: 1s, duration: 2s }',
    `{ type: disk-fill, target: host, at: 1s, duration: 2s, directory: "${fillIn}", size: 1MiB, keepFree: 1MiB }`,
    '{ type: latency, target: link, at: 1s, duration: 25s, delay: 50ms }',
  ]);
  const runner = orphanCli(['run', scenario, '--env', sys.envFile, '--quiet'], sys.state);
  const run = await waitUntil(
    () => listRuns(sys.state).find((r) => r.guardPid !== null),
    20_000,
    'the run to register with its guard',
  );
  const { runId } = run;
  const guardPid = run.guardPid!;
  orphanGuard = { pid: guardPid, startTime: processStartTime(guardPid) };
  const fillFile = join(fillIn, '.chaoskit-fill', `chaoskit_${runId}_f2.fill`);
  await waitUntil(
    async () => procState(victim.pid) === 'T' && existsSync(fillFile) && (await sys.toxics()).length === 1,
    30_000,
    'all three faults to be applied',
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${runner.output()}`);
  });
  // Everything on chaoskit's side dies: the guard first, so it cannot revert.
  process.kill(guardPid, 'SIGKILL');
  runner.signal('SIGKILL');
  const tKill = performance.now();
  await runner.wait(5_000);
  const status = orphanCli(['status'], sys.state);
  await status.wait(20_000);
  return { sys, runId, victim, fillFile, tKill, before: status };
}

let orphaned: ReturnType<typeof orphanedRun>;
beforeAll(() => {
  orphaned = orphanedRun();
  orphaned.catch(() => {}); // reported by its test
});
afterAll(async () => {
  for (const p of orphanProcs) p.signal('SIGKILL');
  await Promise.all(orphanProcs.map((p) => p.exited));
  if (orphanGuard && processStartTime(orphanGuard.pid) === orphanGuard.startTime) {
    try {
      process.kill(orphanGuard.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const c of orphanCleanups.splice(0).reverse()) await c();
});

function faultsOf(state: string, runId: string) {
  return new Ledger(state).read().filter((e) => e.runId === runId);
}

describe('chaos run: nothing is left broken', () => {
  it('SIGKILL of the runner: the guard reverts both faults within 2x the heartbeat TTL', async () => {
    const sys = await system('cli');
    const scenario = sys.scenario('killed', 30, [
      // At 2 s, so the guard (a fresh node + tsx process) is up before the kill.
      '{ type: partition, target: link, at: 2s, duration: 25s, mode: refuse }',
      '{ type: latency, target: link, at: 2s, duration: 25s, delay: 200ms }',
    ]);
    const runner = spawnCli(['run', scenario, '--env', sys.envFile, '--quiet'], sys.state);
    const { runId, guardPid } = await registered(sys.state);
    await waitUntil(async () => (await sys.toxics()).length === 2, 20_000, 'both faults to be applied').catch(
      (e: Error) => {
        throw new Error(`${e.message}\n${runner.output()}`);
      },
    );
    expect(await sys.probe()).toMatch(/ECONNRESET|socket hang up/);

    runner.signal('SIGKILL');
    const t0 = performance.now();
    await waitUntil(
      async () => (await sys.toxics()).length === 0,
      4 * HEARTBEAT_TTL_MS,
      'the guard to remove the toxics',
      10,
    );
    const ms = performance.now() - t0;
    console.log(
      `guard: toxics gone ${Math.round(ms)}ms after SIGKILL of the runner (bound ${2 * HEARTBEAT_TTL_MS}ms)`,
    );
    expect(ms).toBeLessThan(2 * HEARTBEAT_TTL_MS);
    expect((await runner.wait(5_000)).signal).toBe('SIGKILL');

    expect(await sys.toxics()).toEqual([]);
    expect(await sys.probe()).toBe(200);
    // The guard writes `reverted` right after each DELETE is answered.
    const reverted = await waitUntil(
      () => {
        const r = faultsOf(sys.state, runId).filter((e) => e.event === 'reverted');
        return r.length === 2 ? r : null;
      },
      5_000,
      'the guard to record both reverts',
    );
    expect(reverted.map((e) => [e.faultId, e.event === 'reverted' && e.by]).sort()).toEqual([
      ['f1', 'guard'],
      ['f2', 'guard'],
    ]);
    expect(new Ledger(sys.state).open()).toEqual([]);
    // The guard cleans up after the dead run and exits.
    // (Its parent, the runner, is dead: a zombie left for a non-reaping init counts as exited.)
    await waitUntil(() => ['Z', undefined].includes(procState(guardPid)), 5_000, 'the guard to exit');
    expect(listRuns(sys.state)).toEqual([]);
  });

  it('a hung runner (SIGSTOP: alive, no heartbeat): the guard reverts once the heartbeat is older than the TTL', async () => {
    const sys = await system('in-process');
    const scenario = sys.scenario('hung', 30, ['{ type: partition, target: link, at: 1s, duration: 25s }']);
    const runner = spawnCli(['run', scenario, '--env', sys.envFile, '--quiet'], sys.state);
    const { runId } = await registered(sys.state);
    await waitUntil(async () => (await sys.toxics()).length === 1, 20_000, 'the fault to be applied');

    runner.signal('SIGSTOP');
    const t0 = performance.now();
    await waitUntil(
      async () => (await sys.toxics()).length === 0,
      4 * HEARTBEAT_TTL_MS,
      'the guard to remove the toxic',
      10,
    );
    const ms = performance.now() - t0;
    console.log(
      `guard: toxic gone ${Math.round(ms)}ms after the runner was frozen (TTL ${HEARTBEAT_TTL_MS}ms)`,
    );
    expect(ms).toBeLessThan(2 * HEARTBEAT_TTL_MS);
    expect(await sys.probe()).toBe(200);
    const reverted = await waitUntil(
      () => {
        const r = faultsOf(sys.state, runId).filter((e) => e.event === 'reverted');
        return r.length > 0 ? r : null;
      },
      5_000,
      'the guard to record the revert',
    );
    expect(reverted).toMatchObject([{ faultId: 'f1', by: 'guard' }]);

    // Thawed and interrupted, the runner finds its fault already gone and still ends cleanly.
    runner.signal('SIGCONT');
    runner.signal('SIGINT');
    expect(await runner.wait(10_000), runner.output()).toEqual({ code: 3, signal: null });
    expect(await sys.toxics()).toEqual([]);
    expect(new Ledger(sys.state).open()).toEqual([]);
  });

  it('chaos emergency-stop from another process ends the run (exit 3) and removes every fault; a second one has nothing to do', async () => {
    const sys = await system('in-process');
    const scenario = sys.scenario('stopped', 30, [
      '{ type: partition, target: link, at: 1s, duration: 25s, mode: blackhole }',
      '{ type: latency, target: link, at: 1s, duration: 25s, delay: 200ms }',
    ]);
    const runner = spawnCli(['run', scenario, '--env', sys.envFile, '--quiet'], sys.state);
    const { runId } = await registered(sys.state);
    await waitUntil(async () => (await sys.toxics()).length === 2, 20_000, 'both faults to be applied');

    const t0 = performance.now();
    const stop = spawnCli(['emergency-stop'], sys.state);
    await stop.waitForOutput(/stopping run/, 20_000);
    const tSignal = performance.now();
    const exit = await runner.wait(10_000);
    const tRunEnded = performance.now();
    expect(await sys.toxics()).toEqual([]);
    const stopExit = await stop.wait(10_000);
    const done = /done in (\d+)ms/.exec(stop.stdout);
    console.log(
      `emergency-stop: run ended ${Math.round(tRunEnded - tSignal)}ms after the stop began signalling; ` +
        `it reported "done in ${done?.[1]}ms"; ${Math.round(tRunEnded - t0)}ms from spawning the CLI (node + tsx start included)`,
    );
    expect(exit, runner.output()).toEqual({ code: 3, signal: null });
    expect(runner.stderr).toMatch(/emergency stop/);
    expect(stopExit, stop.output()).toEqual({ code: 0, signal: null });
    expect(stop.stdout).toContain(`stopping run ${runId}`);
    expect(Number(done?.[1])).toBeLessThan(5_000);
    expect(tRunEnded - tSignal).toBeLessThan(5_000);
    expect(await sys.probe()).toBe(200);
    expect(new Ledger(sys.state).open()).toEqual([]);
    expect(listRuns(sys.state)).toEqual([]);

    const again = await runCli(['emergency-stop'], sys.state);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('nothing to do');
  });

  it('a revert that fails while the proxy is down: exit 4 with the manual command, left open, then reverted by emergency-stop', async () => {
    const sys = await system('cli');
    const scenario = sys.scenario('stuck', 3, [
      '{ type: latency, target: link, at: 1s, duration: 1s, delay: 100ms }',
    ]);
    const runner = spawnCli(['run', scenario, '--env', sys.envFile, '--quiet'], sys.state);
    const { runId } = await registered(sys.state);
    const [toxic] = await waitUntil(
      async () => {
        const t = await sys.toxics();
        return t.length === 1 ? t : null;
      },
      20_000,
      'the fault to be applied',
    );
    expect(toxic!.name).toBe(`chaoskit:${runId}:f1`);

    // The proxy dies before the fault's scheduled end.
    sys.proxyProc!.signal('SIGKILL');
    await sys.proxyProc!.wait(5_000);
    const exit = await runner.wait(20_000);
    expect(exit, runner.output()).toEqual({ code: 4, signal: null });
    const manual = `curl -X DELETE ${sys.api}/proxies/dep/toxics/${encodeURIComponent(toxic!.name)}`;
    expect(runner.stderr).toContain('could NOT be reverted');
    expect(runner.stderr).toContain(manual);
    const failures = faultsOf(sys.state, runId).filter((e) => e.event === 'revert-failed');
    // Tried (with retries) at the window's end, and once more as the run ended; both recorded.
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatchObject({
      faultId: 'f1',
      by: 'schedule',
      error: expect.stringContaining('ECONNREFUSED'),
    });

    // `chaos status` shows it open (no live run owns it; the proxy is down, so it may well be in
    // effect); then the proxy comes back on the same port, with its state (as a proxy with
    // persisted state would have it).
    const status = await runCli(['status'], sys.state);
    // A fault open with no live run to revert it: status says so and exits 4.
    expect(status.code).toBe(4);
    expect(status.stdout).toContain(`open fault ${runId}/f1`);
    expect(status.stdout).toContain('no live run owns it (cannot tell whether it is still in effect)');
    expect(status.stdout).toMatch(/last revert error: .*not reachable/);
    expect(status.stdout).toContain(`manual revert: ${manual}`);
    const back = await startCliProxy(sys.state, sys.apiPort);
    expect(back.url).toBe(sys.api);
    await createDep(sys.api, sys.upstreamPort, `127.0.0.1:${sys.listenPort}`);
    const add = await apiCall(sys.api, 'POST', '/proxies/dep/toxics', {
      name: toxic!.name,
      type: 'latency',
      attributes: { latency: 100 },
    });
    expect(add.status).toBe(200);

    const stop = await runCli(['emergency-stop'], sys.state);
    expect(stop.code, stop.stdout + stop.stderr).toBe(0);
    expect(stop.stdout).toContain(`reverted ${runId}/f1 latency on link`);
    expect(await sys.toxics()).toEqual([]);
    expect(await sys.probe()).toBe(200);
    expect(new Ledger(sys.state).open()).toEqual([]);
    expect(faultsOf(sys.state, runId).at(-1)).toMatchObject({
      event: 'reverted',
      faultId: 'f1',
      by: 'emergency-stop',
      outcome: 'reverted',
    });
  });

  it('Ctrl-C during a fault: exit 3, partial results marked aborted, the fault reverted by the runner', async () => {
    const sys = await system('in-process');
    const out = join(sys.dir, 'out');
    const scenario = sys.scenario('interrupted', 30, [
      '{ type: latency, target: link, at: 1s, duration: 25s, delay: 150ms }',
    ]);
    const runner = spawnCli(['run', scenario, '--env', sys.envFile, '--out', out, '--quiet'], sys.state);
    const { runId } = await registered(sys.state);
    await waitUntil(async () => (await sys.toxics()).length === 1, 20_000, 'the fault to be applied');
    // Let a second of load be measured under the fault.
    await new Promise((r) => setTimeout(r, 1_000));

    const t0 = performance.now();
    runner.signal('SIGINT');
    const exit = await runner.wait(10_000);
    console.log(`Ctrl-C: runner exited ${Math.round(performance.now() - t0)}ms after SIGINT`);
    expect(exit, runner.output()).toEqual({ code: 3, signal: null });
    expect(await sys.toxics()).toEqual([]);
    expect(await sys.probe()).toBe(200);

    const result = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResult;
    expect(result.status).toBe('aborted');
    expect(result.abort?.reason).toMatch(/SIGINT/);
    expect(result.runId).toBe(runId);
    expect(result.faults).toHaveLength(1);
    expect(result.faults[0]).toMatchObject({ id: 'f1', status: 'reverted', revertedBy: 'runner-exit' });
    expect(result.totals.sent).toBeGreaterThan(0);
    const reverted = faultsOf(sys.state, runId).filter((e) => e.event === 'reverted');
    expect(reverted).toMatchObject([{ faultId: 'f1', by: 'runner-exit' }]);
    expect(new Ledger(sys.state).open()).toEqual([]);
    expect(listRuns(sys.state)).toEqual([]);
  });
});

describe('chaos against a hostile or broken state directory (issue 13)', () => {
  it('a state directory others can write (0777): chaos run and chaos status exit 2 with the fix', async () => {
    const sys = await system('in-process');
    mkdirSync(sys.state, { recursive: true });
    chmodSync(sys.state, 0o777);
    const scenario = sys.scenario('loose', 3, [
      '{ type: latency, target: link, at: 1s, duration: 1s, delay: 10ms }',
    ]);
    const run = await runCli(['run', scenario, '--env', sys.envFile, '--quiet'], sys.state, 60_000);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(`${sys.state} is writable by group and others (mode 0777)`);
    expect(run.stderr).toContain(`Fix: chmod 700 ${sys.state}`);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(await sys.toxics()).toEqual([]);
    const status = await runCli(['status'], sys.state);
    expect(status.code).toBe(2);
    expect(status.stderr).toContain('chmod 700');
  });

  it('a planted ledger line (delete a file, run a command): emergency-stop reports it, runs nothing, exit 0', async () => {
    const dir = tempDir('chaoskit-e2e-');
    const state = join(dir, 'state');
    const victim = join(dir, 'victim.txt');
    const pwned = join(dir, 'pwned');
    writeFileSync(victim, 'precious\n');
    new Ledger(state); // creates it, private
    const plant = (faultId: string, recipe: unknown) =>
      `${JSON.stringify({ ts: new Date().toISOString(), event: 'intent', runId: 'evil', faultId, type: 'x', target: 't', recipe, description: 'd', manualRevert: 'm' })}\n`;
    appendFileSync(
      join(state, 'ledger.jsonl'),
      plant('f1', { driver: 'file', path: victim }) +
        plant('f2', {
          driver: 'process',
          action: 'restart',
          killed: [{ pid: 4242, startTime: 1, command: 'x' }],
          restart: `touch ${pwned}`,
        }),
    );
    const stop = await runCli(['emergency-stop'], state);
    expect(stop.code, stop.stdout + stop.stderr).toBe(0);
    expect(stop.stdout.match(/^ignored ledger line .*ledger\.jsonl:\d \(never executed\)/gm)).toHaveLength(2);
    expect(stop.stdout).toContain('nothing to do');
    await new Promise((r) => setTimeout(r, 500));
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(existsSync(pwned)).toBe(false);
    const status = await runCli(['status', '--json'], state);
    expect(status.code).toBe(0);
    const doc = JSON.parse(status.stdout) as {
      openFaults: unknown[];
      invalidLedgerLines: { line: number }[];
    };
    expect(doc.openFaults).toEqual([]);
    expect(doc.invalidLedgerLines.map((l) => l.line)).toEqual([1, 2]);
  });

  it.skipIf(mountUnavailable !== null)(
    'a full state directory: chaos run exits 2 naming the path, before anything is applied, no run file left',
    async () => {
      const sys = await system('in-process');
      const state = smallTmpfs(64);
      fill(join(state, 'other'));
      const scenario = sys.scenario('full', 3, [
        '{ type: latency, target: link, at: 1s, duration: 1s, delay: 10ms }',
      ]);
      const run = await runCli(['run', scenario, '--env', sys.envFile, '--quiet'], state, 60_000);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain(
        `the state directory ${state} cannot be written: no space left on device (ENOSPC)`,
      );
      expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(readdirSync(join(state, 'runs'))).toEqual([]);
      expect(await sys.toxics()).toEqual([]);
    },
  );

  it.skipIf(mountUnavailable !== null)(
    'the state directory fills up during a fault: the run still reverts and records it, no stack trace, the guard lives on',
    async () => {
      const sys = await system('in-process');
      const state = smallTmpfs(RESERVE_BYTES / 1024 + 128);
      const out = join(sys.dir, 'out');
      const scenario = sys.scenario('filling', 5, [
        '{ type: latency, target: link, at: 1s, duration: 3s, delay: 20ms }',
      ]);
      const runner = spawnCli(['run', scenario, '--env', sys.envFile, '--out', out, '--quiet'], state);
      const { runId, guardPid } = await registered(state);
      await waitUntil(async () => (await sys.toxics()).length === 1, 20_000, 'the fault to be applied');
      await waitUntil(
        () => new Ledger(state).read().some((e) => e.event === 'applied'),
        10_000,
        'the applied record',
      );
      // The ledger's last page full, then the disk: the revert's record needs new space (the reserve).
      const ledgerFile = join(state, 'ledger.jsonl');
      const n = (4096 - (statSync(ledgerFile).size % 4096)) % 4096;
      if (n > 0) appendFileSync(ledgerFile, `${' '.repeat(n - 1)}\n`); // a blank line: readers skip it
      fill(join(state, 'other'));
      expect(existsSync(join(state, 'reserve'))).toBe(true);
      const exit = await runner.wait(30_000);
      expect([0, 1], runner.output()).toContain(exit.code);
      expect(runner.stderr).not.toMatch(/\n\s+at |internal error/);
      expect(await sys.toxics()).toEqual([]);
      expect(
        new Ledger(state)
          .read()
          .filter((e) => e.runId === runId)
          .map((e) => e.event),
      ).toEqual(['intent', 'applied', 'reverted']);
      expect(existsSync(join(state, 'reserve'))).toBe(false); // used up for that record
      expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'))).toMatchObject({ runId });
      // The guard saw the run end and left on its own.
      await waitUntil(() => ['Z', undefined].includes(procState(guardPid)), 10_000, 'the guard to exit');
    },
  );

  it('a blank process match is invalid input: chaos validate exits 2 with the file, line and field', async () => {
    const sys = await system('in-process', `  blank: { kind: process, match: ' ' }\n`);
    const scenario = sys.scenario('blank', 3, ['{ type: pause, target: blank, at: 1s, duration: 1s }']);
    const r = await runCli(['validate', scenario, '--env', sys.envFile], sys.state);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stdout + r.stderr).toMatch(
      /env\.yaml:\d+:\d+: targets\.blank\.match: match names no argument \(it is blank\)/,
    );
  });

  it('a process target that matches every process: chaos run exits 2 listing each PID and command line, nothing signalled', async () => {
    const mark = `chaoskit-test-${randomBytes(6).toString('hex')}`;
    const bystander = spawnProc(process.execPath, ['-e', 'setInterval(() => {}, 1000)', mark], {
      label: 'bystander',
    });
    const sys = await system('in-process', `  everything: { kind: process, match: "/.*/" }\n`);
    await waitUntil(
      () => readFileSync(`/proc/${bystander.pid}/cmdline`, 'utf8').includes(mark),
      10_000,
      'the bystander',
    );
    const scenario = sys.scenario('broad', 3, ['{ type: pause, target: everything, at: 1s, duration: 1s }']);
    const run = await runCli(['run', scenario, '--env', sys.envFile, '--quiet'], sys.state, 60_000);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(
      /faults\[0\] \(pause on everything\): target everything: match "\/\.\*\/" picks \d+ processes, expected 1/,
    );
    expect(run.stderr).toContain(
      `pid ${bystander.pid}: ${process.execPath} -e setInterval(() => {}, 1000) ${mark}`,
    );
    expect(procState(bystander.pid)).not.toBe('T');
  });
});

describe('when runner and guard both die (issue 13 item 6)', () => {
  it('the self-reverting timers resume the paused process and remove the fill file; status closes the toxic gone by lease', async () => {
    // Started in beforeAll: the faults were applied, then guard and runner killed, then status run.
    const { sys, runId, victim, fillFile, tKill, before } = await orphaned;

    // Open faults that no live run owns: status exits 4 and says so.
    expect(before.exit?.code, before.stdout).toBe(4);
    expect(before.stdout).toContain(`open fault ${runId}/f3  latency on link`);
    expect(before.stdout).toContain('no live run owns it');

    // Window end (3 s) + the timers' grace (10 s): the pause and the fill are undone.
    await waitUntil(
      () => procState(victim.pid) !== 'T' && !existsSync(fillFile),
      30_000,
      'the timers to revert',
    );
    console.log(
      `self-reverting timers: process resumed and fill file removed ${Math.round(performance.now() - tKill)}ms after runner and guard were killed`,
    );
    // Each timer writes its record just after its revert: wait for both.
    const byTimer = await waitUntil(
      () => {
        const r = new Ledger(sys.state).read().filter((e) => e.event === 'reverted' && e.runId === runId);
        return r.length >= 2 ? r : null;
      },
      5_000,
      'both timers to record their reverts',
    );
    expect(byTimer.map((e) => [e.faultId, e.event === 'reverted' && e.by]).sort()).toEqual([
      ['f1', 'timer'],
      ['f2', 'timer'],
    ]);
    // The toxic's lease (10 s) ran out; status records it closed instead of showing it forever.
    await waitUntil(async () => (await sys.toxics()).length === 0, 20_000, 'the lease to expire');
    const after = await runCli(['status', '--json'], sys.state);
    expect(after.code, after.stdout).toBe(0);
    const doc = JSON.parse(after.stdout) as {
      openFaults: unknown[];
      closedNow: { faultId: string; by: string }[];
    };
    expect(doc.openFaults).toEqual([]);
    expect(doc.closedNow).toEqual([{ runId, faultId: 'f3', by: 'lease' }]);
    expect(new Ledger(sys.state).open()).toEqual([]);
  }, 90_000);
});
