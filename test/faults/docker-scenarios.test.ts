/**
 * The built-in Docker scenarios, run end to end with the real CLI against containers this file
 * starts (named through the variables scenarios/environments/docker-example.yaml reads), at
 * --time-scale 0.15. Load goes to a port published on 127.0.0.1. Skips, saying why, without Docker.
 * One set of containers serves every test: each run reverts what it did (and the tests check
 * that), so the next starts from running, unpartitioned containers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../../src/result.ts';
import { DockerLab, dockerReady, sweepOrphans, sh } from '../helpers/docker.ts';
import { tempDir } from '../helpers/files.ts';
import { freePort, killAll, spawnCli, waitUntil } from '../helpers/procs.ts';

const ready = dockerReady();
if (!ready.ok) console.log(`skipping the docker scenario tests: ${ready.reason}`);

const lab = new DockerLab();
afterEach(async () => {
  await killAll();
});
afterAll(() => lab.close());

type System = Awaited<ReturnType<typeof system>>;

async function system() {
  const port = await freePort();
  const net = await lab.network('net');
  const web = await lab.run('web', { network: net, hostPort: port, restart: 'unless-stopped' });
  const cache = await lab.run('cache', { network: net });
  return {
    web,
    cache,
    env: {
      CHAOSKIT_DOCKER_WEB: web,
      CHAOSKIT_DOCKER_CACHE: cache,
      CHAOSKIT_DOCKER_NETWORK: net,
      CHAOSKIT_DOCKER_WEB_PORT: String(port),
    },
  };
}

/** A fresh directory for one test's state and results. */
const testDir = () => tempDir('chaoskit-docker-scenario-');

function result(dir: string): RunResult {
  return JSON.parse(readFileSync(join(dir, 'out', 'results.json'), 'utf8')) as RunResult;
}

describe.skipIf(!ready.ok)(
  'built-in docker scenarios (real CLI, --time-scale 0.15)',
  { timeout: 120_000 },
  () => {
    let s: System;
    beforeAll(async () => {
      await sweepOrphans();
      s = await system();
    }, 60_000);
    it('docker-crash-under-ramp: the container is killed, comes back by its restart policy, and the time to healthy is recorded', async () => {
      const dir = testDir();
      const before = await lab.inspect(s.web);
      const run = spawnCli(
        [
          'run',
          'docker-crash-under-ramp',
          '--env',
          'scenarios/environments/docker-example.yaml',
          '--time-scale',
          '0.15',
          '--quiet',
          '--out',
          join(dir, 'out'),
        ],
        join(dir, 'state'),
        s.env,
      );
      const exit = await run.wait(60_000);
      expect([0, 1], run.output()).toContain(exit.code);
      const r = result(dir);
      const crash = r.faults[0]!;
      console.log(`docker-crash-under-ramp: ${crash.description}; ${crash.observations.join('; ')}`);
      expect(crash).toMatchObject({ type: 'crash', status: 'reverted', revertedBy: 'schedule', error: null });
      expect(crash.observations.join('\n')).toMatch(/healthy again \d+ms after the kill/);
      const after = await lab.inspect(s.web);
      expect(after.State.Running).toBe(true);
      expect(after.RestartCount).toBe(before.RestartCount + 1);
    });

    it('partition-between-containers: web loses the cache during the window (rules in web’s namespace), nothing left after', async () => {
      const dir = testDir();
      const cacheIp = await lab.ip(s.cache);
      const webIp = await lab.ip(s.web);
      const run = spawnCli(
        [
          'run',
          'partition-between-containers',
          '--env',
          'scenarios/environments/docker-example.yaml',
          '--time-scale',
          '0.15',
          '--quiet',
          '--out',
          join(dir, 'out'),
        ],
        join(dir, 'state'),
        s.env,
      );
      await waitUntil(async () => (await lab.rules(s.web)).length === 2, 20_000, 'the partition rules').catch(
        (e: Error) => {
          throw new Error(`${e.message}\n${run.output()}`);
        },
      );
      // Both directions at once: each check waits out its 1 s nc timeout, inside the 3 s window.
      expect(await Promise.all([lab.canReach(s.web, cacheIp, 1), lab.canReach(s.cache, webIp, 1)])).toEqual([
        false,
        false,
      ]);
      const exit = await run.wait(60_000);
      expect([0, 1], run.output()).toContain(exit.code);
      expect(await lab.rules(s.web)).toEqual([]);
      expect(await lab.canReach(s.web, cacheIp)).toBe(true);
      const f = result(dir).faults[0]!;
      expect(f).toMatchObject({ type: 'partition', status: 'reverted', revertedBy: 'schedule' });
      expect(f.description).toBe(
        `iptables DROP to and from ${cacheIp} in container ${s.web} (web-container)`,
      );
    });

    it('preflight failures exit 2 before anything runs: a missing container, and netem latency on a kernel without it', async () => {
      const dir = testDir();
      const scenario = (name: string, fault: string) => {
        const file = join(dir, `${name}.yaml`);
        writeFileSync(
          file,
          `name: ${name}
load:
  target: web
  pattern:
    - { kind: constant, rate: 5, duration: 5s }
faults:
  - ${fault}
`,
        );
        return file;
      };
      const env = 'scenarios/environments/docker-example.yaml';
      // The two runs are independent (own scenario file and state directory): started together.
      const missing = spawnCli(
        [
          'run',
          scenario('missing', '{ type: pause, target: web-container, at: 1s, duration: 2s }'),
          '--env',
          env,
          '--quiet',
        ],
        join(dir, 'state-missing'),
        { ...s.env, CHAOSKIT_DOCKER_WEB: `${s.web}-nope` },
      );
      // Where the kernel has netem the run goes ahead: scaled, so it is short.
      const latency = spawnCli(
        [
          'run',
          scenario('latency', '{ type: latency, target: web-container, at: 1s, duration: 2s, delay: 100ms }'),
          '--env',
          env,
          '--time-scale',
          '0.5',
          '--quiet',
        ],
        join(dir, 'state-latency'),
        s.env,
      );
      const probe = await sh([
        'unshare',
        '--net',
        '--',
        'tc',
        'qdisc',
        'add',
        'dev',
        'lo',
        'root',
        'netem',
        'delay',
        '1ms',
      ]);
      expect((await missing.wait(30_000)).code, missing.output()).toBe(2);
      expect(missing.stderr).toContain(
        `faults[0] (pause on web-container): no running container named ${s.web}-nope; start it, or fix the target in the environment`,
      );
      expect((await lab.inspect(s.web)).State.Paused).toBe(false);

      const exit = await latency.wait(30_000);
      if (probe.code === 0) {
        expect(exit.code, latency.output()).not.toBe(2);
        return;
      }
      expect(exit.code, latency.output()).toBe(2);
      expect(latency.stderr).toContain('cannot run: nothing was applied');
      expect(latency.stderr).toContain(
        'faults[0] (latency on web-container): this kernel has no sch_netem qdisc',
      );
      expect(await lab.qdiscs(s.web)).not.toMatch(/netem/);
    });
  },
);
