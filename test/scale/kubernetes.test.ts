/**
 * `chaos export kubernetes`: the manifests validate against the Kubernetes object schemas
 * (kubernetes-models, generated from the API's OpenAPI definitions). No cluster is reachable
 * here, so the pods' commands are also run as they are written, on this machine: the ConfigMap
 * laid out as its volume would be, the coordinator's and the runners' args run by the real CLI.
 * The other exports and the refusals go through the CLI's own `main` in this process (one refusal
 * also as a real `chaos` process, for its exit status).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { Job } from 'kubernetes-models/batch/v1';
import type { RunResult } from '../../src/result.ts';
import { tempDir } from '../helpers/files.ts';
import { freePort, killAll, runCli, spawnCli } from '../helpers/procs.ts';
import { cliInProcess } from '../helpers/scale-cli.ts';
import { httpServer } from '../helpers/servers.ts';

type Obj = {
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
};
type Container = { name: string; args?: string[]; env?: { name: string }[]; resources?: unknown };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await killAll();
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

function scenarioDir(url: string): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'bodies'));
  writeFileSync(join(dir, 'bodies', 'item.json'), '{"q":1}');
  writeFileSync(join(dir, 'env.yaml'), `targets:\n  api: { kind: http, url: "${url}", health: /health }\n`);
  writeFileSync(join(dir, 'slo.yaml'), 'services:\n  api:\n    availability: 99%\n');
  writeFileSync(
    join(dir, 'scenario.yaml'),
    `name: k8s-demo
environment: ./env.yaml
slo: slo.yaml
load:
  target: api
  requests:
    - { name: get, weight: 3, path: /items/1 }
    - { name: post, weight: 1, method: POST, path: /items, bodyFile: bodies/item.json }
  pattern: [{ kind: constant, rate: 40, duration: 3s }]
`,
  );
  return dir;
}

/** `chaos export kubernetes ...args`: a real `chaos` process, or `main` in this process (`inProcess`). */
async function exported(args: string[], inProcess = false): Promise<Obj[]> {
  const argv = ['export', 'kubernetes', ...args];
  const r = inProcess ? await cliInProcess(argv) : await runCli(argv, tempDir('chaoskit-state-'));
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^# chaoskit: .* Validated against the Kubernetes object schemas/s);
  return parseAllDocuments(r.stdout).map((d) => d.toJSON() as Obj);
}

function validate(o: Obj): void {
  const byKind: Record<string, new (x: never) => { validate(): void }> = {
    ConfigMap: ConfigMap as never,
    Secret: Secret as never,
    Service: Service as never,
    Job: Job as never,
  };
  const Model = byKind[o.kind];
  expect(Model, `a model for ${o.kind}`).toBeDefined();
  new Model!(o as never).validate();
}

const containers = (job: Obj) =>
  (job.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers;

describe('chaos export kubernetes', () => {
  it('writes a ConfigMap, Secret, Service, coordinator Job and an Indexed Job of runners that validate', async () => {
    const dir = scenarioDir('http://api.shop.svc:8080');
    const docs = await exported(
      [
        join(dir, 'scenario.yaml'),
        '--runners',
        '3',
        '--image',
        'registry.example/chaoskit:0.1.0',
        '--namespace',
        'load',
        '--seed',
        '42',
      ],
      true,
    );
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      'ConfigMap/chaoskit-k8s-demo-files',
      'Secret/chaoskit-k8s-demo-token',
      'Service/chaoskit-k8s-demo-coordinator',
      'Job/chaoskit-k8s-demo-coordinator',
      'Job/chaoskit-k8s-demo-runners',
    ]);
    for (const d of docs) {
      validate(d);
      expect(d.metadata.namespace).toBe('load');
    }
    const cm = docs[0]!;
    expect(Object.keys(cm.data!).sort()).toEqual([
      'environment.yaml',
      'file.bodies__item.json',
      'scenario.yaml',
      'slo.yaml',
    ]);
    const runners = docs[4]!.spec as Record<string, unknown>;
    expect([runners.completionMode, runners.completions, runners.parallelism, runners.backoffLimit]).toEqual([
      'Indexed',
      3,
      3,
      0,
    ]);
    const [runner] = containers(docs[4]!);
    expect(runner!.args).toEqual([
      'runner',
      '--coordinator',
      'http://chaoskit-k8s-demo-coordinator:7070',
      '--connect-timeout',
      '5m',
    ]);
    expect(runner!.resources).toEqual({
      requests: { cpu: '1', memory: '256Mi' },
      limits: { cpu: '1', memory: '1Gi' },
    });
    const [coordinator, results] = containers(docs[3]!);
    expect(coordinator!.args).toEqual(
      expect.arrayContaining([
        '--runners',
        '3',
        '--listen',
        '0.0.0.0:7070',
        '--seed',
        '42',
        '--out',
        '/results',
      ]),
    );
    expect(coordinator!.env!.map((e) => e.name)).toEqual(['CHAOSKIT_TOKEN', 'CHAOSKIT_STATE_DIR']);
    expect(results!.name).toBe('results');
    // A broken manifest does not validate: the check is real.
    const broken = structuredClone(docs[4]!);
    (broken.spec as Record<string, unknown>).completionMode = 'Sometimes';
    expect(() => validate(broken)).toThrow(/completionMode/);
  });

  it('the pods’ commands, run as written on this machine, produce one merged result', async () => {
    const hits: number[] = [];
    const server = await httpServer((req, res) => {
      if (req.url !== '/health') hits.push(1);
      res.end('ok');
    });
    cleanups.push(() => server.close());
    const dir = scenarioDir(server.url);
    const docs = await exported([
      join(dir, 'scenario.yaml'),
      '--runners',
      '2',
      '--image',
      'chaoskit:test',
      '--seed',
      '7',
    ]);
    // The ConfigMap volume, as the kubelet would lay it out at /chaoskit.
    const mount = tempDir();
    const volume = (
      docs[3]!.spec as {
        template: {
          spec: { volumes: { name: string; configMap?: { items: { key: string; path: string }[] } }[] };
        };
      }
    ).template.spec.volumes.find((v) => v.name === 'files')!;
    for (const { key, path } of volume.configMap!.items) {
      mkdirSync(dirname(join(mount, path)), { recursive: true });
      writeFileSync(join(mount, path), docs[0]!.data![key]!);
    }
    const port = await freePort();
    const out = tempDir();
    const state = tempDir('chaoskit-state-');
    const local = (a: string[]) =>
      a.map((x) =>
        x
          .replace('/chaoskit/', `${mount}/`)
          .replace('0.0.0.0:7070', `127.0.0.1:${port}`)
          .replace('http://chaoskit-k8s-demo-coordinator:7070', `http://127.0.0.1:${port}`)
          .replace(/^\/results$/, out),
      );
    const token = { CHAOSKIT_TOKEN: 'from-the-secret' };
    const coord = spawnCli(local(containers(docs[3]!)[0]!.args!), state, token);
    await coord.waitForOutput(/waiting for 2 runner/, 30_000);
    const runners = [0, 1].map((i) =>
      spawnCli(local(containers(docs[4]!)[0]!.args!), state, { ...token, JOB_COMPLETION_INDEX: String(i) }),
    );
    const exit = await coord.wait(60_000);
    expect([0, 1], coord.output()).toContain(exit.code);
    for (const r of runners) expect((await r.wait(15_000)).code, r.output()).toBe(0);
    const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResult;
    expect(r.totals.requested).toBe(120);
    expect(r.totals.ok).toBe(120);
    expect(r.profiles!.post!.sent).toBeGreaterThan(10);
    expect(r.runners!.map((x) => [x.index, x.state])).toEqual([
      [0, 'completed'],
      [1, 'completed'],
    ]);
  }, 120_000);

  it('refuses what cannot run in a cluster, and missing flags (exit 2)', async () => {
    const dir = scenarioDir('http://api:8080');
    const file = join(dir, 'scenario.yaml');
    const cases: [string[], RegExp][] = [
      [
        ['spike-with-partition', '--runners', '2', '--image', 'x'],
        /built-in demo system, which lives on the coordinator's loopback/,
      ],
      [[file, '--runners', '2'], /needs --image IMAGE/],
      [[file, '--image', 'x'], /needs --runners N/],
      [[file, '--image', 'x', '--runners', '1', '--namespace', 'Bad_NS'], /--namespace must be a DNS label/],
    ];
    // One as a real process, for the exit status a shell sees ...
    const real = await runCli(['export', 'kubernetes', ...cases[1]![0]], tempDir('chaoskit-state-'));
    expect(real.code, real.stderr).toBe(2);
    expect(real.stderr).toMatch(cases[1]![1]);
    expect(real.stdout).toBe('');
    // ... and every one through the same entry point (main), in this process.
    for (const [args, re] of cases) {
      const r = await cliInProcess(['export', 'kubernetes', ...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stdout).toBe('');
    }
  });
});
