/**
 * A coordinator and 3 runners as containers on a user-defined Docker bridge network, against a
 * target container: separate network namespaces and IPs, as pods would have. The images are
 * local (docker import): chaoskit-test/chaoskit from scripts/build-chaoskit-image.sh, the busybox
 * httpd target from scripts/build-test-images.sh. Every container and the network are named by
 * this test and removed by name. The merged result is checked exactly.
 */
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Arrivals } from '../../src/load/arrivals.ts';
import { segmentOf } from '../../src/scenario/patterns.ts';
import { createPrng } from '../../src/load/prng.ts';
import type { RunResult } from '../../src/result.ts';
import { PACKAGE_ROOT } from '../../src/core/paths.ts';
import { dockerReady, IMAGE as TARGET_IMAGE, must, randomPrefix, sh } from '../helpers/docker.ts';
import { tempDir } from '../helpers/files.ts';

const ready = dockerReady();
if (!ready.ok) console.warn(`skipping the Docker scale-out test: ${ready.reason}`);
const IMAGE = 'chaoskit-test/chaoskit:1';
const prefix = randomPrefix();
const names = {
  net: `${prefix}-net`,
  target: `${prefix}-target`,
  coordinator: `${prefix}-coordinator`,
  runner: (i: number) => `${prefix}-runner-${i}`,
};

afterAll(async () => {
  if (!ready.ok) return;
  await sh(['docker', 'rm', '-f', names.coordinator, names.target, ...[0, 1, 2].map(names.runner)]);
  await sh(['docker', 'network', 'rm', names.net]);
});

/** The planned run: 3 s at 60/s, split over 3 runners. */
const RATE = 60;
const SECONDS = 3;

describe.skipIf(!ready.ok)('coordinator and 3 runners as containers on a Docker network', () => {
  it('run one merged result across network namespaces, exactly the planned arrivals', async () => {
    // The image (fast when it is up to date), the network and the target at once.
    const built = promisify(execFile)(join(PACKAGE_ROOT, 'scripts/build-chaoskit-image.sh'), {
      timeout: 300_000,
    });
    const target = (async () => {
      await must(['docker', 'network', 'create', '--driver', 'bridge', names.net]);
      await must(['docker', 'run', '-d', '--name', names.target, '--network', names.net, TARGET_IMAGE]);
    })();
    await Promise.all([built, target]);
    const dir = tempDir();
    const out = tempDir();
    // The coordinator runs as uid 10001: it reads the scenario and writes results here.
    chmodSync(dir, 0o755);
    chmodSync(out, 0o777);
    writeFileSync(
      join(dir, 'env.yaml'),
      `targets:\n  web: { kind: http, url: "http://${names.target}", health: /health }\n`,
    );
    writeFileSync(join(dir, 'slo.yaml'), 'services:\n  web:\n    availability: 99%\n');
    writeFileSync(
      join(dir, 'scenario.yaml'),
      `name: docker-scale
environment: ./env.yaml
slo: slo.yaml
load:
  target: web
  requests: [{ path: /index.html }]
  connections: 6
  pattern: [{ kind: constant, rate: ${RATE}, duration: ${SECONDS}s }]
`,
    );
    const token = `${prefix}-token`;
    // The coordinator and its runners start together (a runner keeps trying to reach it).
    const coordinator = must([
      'docker',
      'run',
      '-d',
      '--name',
      names.coordinator,
      '--network',
      names.net,
      '-e',
      `CHAOSKIT_TOKEN=${token}`,
      '-e',
      'CHAOSKIT_STATE_DIR=/tmp/state',
      '-v',
      `${dir}:/scenario:ro`,
      '-v',
      `${out}:/out`,
      IMAGE,
      'run',
      '/scenario/scenario.yaml',
      '--runners',
      '3',
      '--listen',
      '0.0.0.0:7070',
      '--seed',
      '5',
      '--out',
      '/out',
      '--quiet',
      '--join-timeout',
      '90s',
    ]);
    const runners = [0, 1, 2].map((i) =>
      must([
        'docker',
        'run',
        '-d',
        '--name',
        names.runner(i),
        '--network',
        names.net,
        '-e',
        `CHAOSKIT_TOKEN=${token}`,
        IMAGE,
        'runner',
        '--coordinator',
        `http://${names.coordinator}:7070`,
        '--index',
        String(i),
      ]),
    );
    await Promise.all([coordinator, ...runners]);
    // Separate network namespaces: each runner has its own address on the bridge (read while they run).
    const ips = await Promise.all(
      [0, 1, 2].map((i) =>
        must([
          'docker',
          'inspect',
          '-f',
          '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}',
          names.runner(i),
        ]),
      ),
    );
    expect(new Set(ips).size).toBe(3);
    for (const ip of ips) expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const code = Number(await must(['docker', 'wait', names.coordinator], 180_000));
    const logs = (await sh(['docker', 'logs', names.coordinator])).stderr;
    expect([0, 1], logs).toContain(code);
    const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResult;
    // Exactly the planned arrivals, second by second, from three segments merged.
    const whole = new Arrivals(
      segmentOf({ kind: 'constant', rate: RATE, duration: SECONDS * 1000 }),
      'even',
      createPrng(5),
    );
    const planned = new Array<number>(SECONDS).fill(0);
    for (let t = whole.next(); Number.isFinite(t); t = whole.next()) planned[Math.floor(t / 1000)]!++;
    expect(r.timeline.slice(0, SECONDS).map((s) => s.requested)).toEqual(planned);
    expect(r.totals.requested).toBe(RATE * SECONDS);
    expect(r.totals.ok + r.totals.failed + r.totals.cancelled).toBe(r.totals.sent);
    expect(r.totals.sent + r.totals.dropped + r.totals.notSent).toBe(RATE * SECONDS);
    // Every arrival sent was answered. A runner starved of CPU (a busy shared CI machine) may drop
    // arrivals it could not send on time: those are generator stalls, said so, never target errors.
    expect(r.totals.failed, logs).toBe(0);
    expect(r.totals.dropped - r.totals.droppedStall, logs).toBe(0);
    if (r.totals.dropped > 0) expect(r.verdict?.status).toBe('invalid');
    else expect(r.totals.ok).toBe(RATE * SECONDS);
    expect(r.runners!.map((x) => [x.index, x.state])).toEqual([
      [0, 'completed'],
      [1, 'completed'],
      [2, 'completed'],
    ]);
    // Three containers: three hosts (container ids), none of them the coordinator.
    const hosts = new Set(r.runners!.map((x) => x.host));
    expect(hosts.size).toBe(3);
    const coordinatorHost = (
      await must(['docker', 'inspect', '-f', '{{.Config.Hostname}}', names.coordinator])
    ).trim();
    expect(hosts.has(coordinatorHost)).toBe(false);
    for (const i of [0, 1, 2])
      expect(Number(await must(['docker', 'wait', names.runner(i)], 30_000))).toBe(0);
  }, 300_000);
});
