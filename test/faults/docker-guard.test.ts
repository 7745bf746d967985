/**
 * "Nothing is left broken" with docker faults: `chaos run` (the real CLI, its own state dir)
 * pauses one container and partitions another from it, then the runner is SIGKILLed. The guard
 * must revert both from the ledger's recipes alone: the container unpaused, the marked iptables
 * rules gone. Load: 20 req/s to a port published on 127.0.0.1. Skips, saying why, without Docker.
 *
 * The second case (runner and guard both killed) mostly waits for its timers (window + 10 s of
 * grace): its run is started and killed in beforeAll, without waiting, so that wait overlaps the
 * first case. Each case has its own containers, state directory and port.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger } from '../../src/safety/ledger.ts';
import { HEARTBEAT_TTL_MS, listRuns } from '../../src/safety/runs.ts';
import { processStartTime } from '../../src/targets/process.ts';
import { DockerLab, dockerReady, sweepOrphans } from '../helpers/docker.ts';
import { tempDir } from '../helpers/files.ts';
import { adopt, freePort, killAll, spawnCli, waitUntil } from '../helpers/procs.ts';

const ready = dockerReady();
if (!ready.ok) console.log(`skipping the docker guard test: ${ready.reason}`);

const lab = new DockerLab();
afterEach(async () => {
  await killAll();
});
// Containers go at the end: the orphaned run's are in use across both tests.
afterAll(() => lab.close());

/**
 * A run that pauses `side` and partitions `web` from it for `window` from 2 s on, with 30 s of
 * load at 20/s on `port`, started through the real CLI with its own state directory.
 */
function startDockerRun(name: string, c: { web: string; side: string; port: number }, window: string) {
  const dir = tempDir(`chaoskit-${name}-`);
  const state = join(dir, 'state');
  const envFile = join(dir, 'env.yaml');
  writeFileSync(
    envFile,
    `name: ${name}
targets:
  web: { kind: http, url: "http://127.0.0.1:${c.port}", health: /health }
  web-container: { kind: docker, container: ${c.web} }
  side: { kind: docker, container: ${c.side} }
`,
  );
  const scenario = join(dir, `${name}.yaml`);
  writeFileSync(
    scenario,
    `name: ${name}
load:
  target: web
  timeout: 2s
  warmUp: false
  pattern:
    - { kind: constant, rate: 20, duration: 30s }
faults:
  - { type: pause, target: side, at: 2s, duration: ${window} }
  - { type: partition, target: web-container, at: 2s, duration: ${window}, peers: [side] }
`,
  );
  return { state, runner: spawnCli(['run', scenario, '--env', envFile, '--quiet'], state) };
}

/**
 * The second case's run: containers tl-web and tl-side, a pause and a partition for 2 s, then the
 * guard and the runner SIGKILLed as soon as both are applied. Resolves when they are dead.
 */
async function orphanedRun() {
  const port = await freePort();
  const net = await lab.network('tl-net');
  const [web, side] = await Promise.all([
    lab.run('tl-web', { network: net, hostPort: port }),
    lab.run('tl-side', { network: net }),
  ]);
  const { state, runner } = startDockerRun('docker-orphaned', { web, side, port }, '2s');
  const run = await waitUntil(
    () => listRuns(state).find((r) => r.guardPid !== null),
    20_000,
    'the run to register with its guard',
  );
  adopt(run.guardPid!); // killAll ends it should this fail before the kill below
  await waitUntil(
    async () => (await lab.inspect(side)).State.Paused && (await lab.rules(web)).length === 2,
    20_000,
    'both faults to be applied',
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${runner.output()}`);
  });
  process.kill(run.guardPid!, 'SIGKILL');
  runner.signal('SIGKILL');
  const tKill = performance.now();
  await runner.wait(5_000);
  return { web, side, state, runId: run.runId, tKill };
}

describe.skipIf(!ready.ok)('chaos run with docker faults: SIGKILL of the runner', { timeout: 90_000 }, () => {
  let orphaned: Promise<Awaited<ReturnType<typeof orphanedRun>>>;
  beforeAll(async () => {
    await sweepOrphans();
    orphaned = orphanedRun();
    orphaned.catch(() => {}); // reported by the second test
  }, 60_000);

  it('the guard unpauses the container and removes the partition rules', async () => {
    const port = await freePort();
    const net = await lab.network('net');
    const web = await lab.run('web', { network: net, hostPort: port });
    const side = await lab.run('side', { network: net });
    const { state, runner } = startDockerRun('docker-killed', { web, side, port }, '25s');
    const run = await waitUntil(
      () => listRuns(state).find((r) => r.guardPid !== null),
      20_000,
      'the run to register with its guard',
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${runner.output()}`);
    });
    adopt(run.guardPid!);
    await waitUntil(
      async () => (await lab.inspect(side)).State.Paused && (await lab.rules(web)).length === 2,
      20_000,
      'both faults to be applied',
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${runner.output()}`);
    });
    const mark = `chaoskit:${run.runId}:f2`;
    expect((await lab.rules(web)).every((r) => r.includes(`--comment "${mark}"`))).toBe(true);

    runner.signal('SIGKILL');
    const t0 = performance.now();
    await waitUntil(
      async () => !(await lab.inspect(side)).State.Paused && (await lab.rules(web)).length === 0,
      4 * HEARTBEAT_TTL_MS,
      'the guard to revert both faults',
      20,
    );
    const ms = performance.now() - t0;
    console.log(
      `docker guard: container unpaused and rules gone ${Math.round(ms)}ms after SIGKILL of the runner`,
    );
    expect(ms).toBeLessThan(2 * HEARTBEAT_TTL_MS + 2_000);
    expect((await runner.wait(5_000)).signal).toBe('SIGKILL');
    expect((await lab.inspect(side)).State).toMatchObject({ Running: true, Paused: false });
    const reverted = await waitUntil(
      () => {
        const r = new Ledger(state).read().filter((e) => e.runId === run.runId && e.event === 'reverted');
        return r.length === 2 ? r : null;
      },
      5_000,
      'the guard to record both reverts',
    );
    expect(reverted.map((e) => (e.event === 'reverted' ? [e.faultId, e.by, e.outcome] : [])).sort()).toEqual([
      ['f1', 'guard', 'reverted'],
      ['f2', 'guard', 'reverted'],
    ]);
    expect(new Ledger(state).open()).toEqual([]);
    await waitUntil(() => processStartTime(run.guardPid!) === undefined, 5_000, 'the guard to exit');
  });

  it('runner and guard both killed: the self-reverting timers unpause the container and remove the rules', async () => {
    const { web, side, state, runId, tKill: t0 } = await orphaned;
    await waitUntil(
      async () => !(await lab.inspect(side)).State.Paused && (await lab.rules(web)).length === 0,
      40_000,
      'the timers to revert both faults',
      100,
    );
    console.log(
      `docker timers: container unpaused and rules gone ${Math.round(performance.now() - t0)}ms after runner and guard were killed (window 2 s + grace 10 s)`,
    );
    // Each timer writes its record just after its revert: wait for both.
    const reverted = await waitUntil(
      () => {
        const r = new Ledger(state).read().filter((e) => e.runId === runId && e.event === 'reverted');
        return r.length >= 2 ? r : null;
      },
      5_000,
      'both timers to record their reverts',
    );
    const by = reverted.map((e) => (e.event === 'reverted' ? [e.faultId, e.by] : [])).sort();
    expect(by).toEqual([
      ['f1', 'timer'],
      ['f2', 'timer'],
    ]);
    expect(new Ledger(state).open()).toEqual([]);
  });
});
