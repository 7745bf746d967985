/**
 * Several load streams at once (`load:` as a list, issue 14 item 8): the format and its errors,
 * fault times anchored on one stream, and a real run of two streams against two loopback
 * servers — each stream measured and scored on its own, the run's timeline their exact sum, the
 * verdict the worst of theirs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.ts';
import { render, score } from '../../src/index.ts';
import { runResultSchema } from '../../src/result.ts';
import { runScenario, type Progress } from '../../src/run.ts';
import { RunMetrics } from '../../src/metrics/run-metrics.ts';
import type { SecondStats } from '../../src/metrics/store.ts';
import { loadScenario, planScenario } from '../../src/input/load.ts';
import { tempDir } from '../helpers/files.ts';
import { httpServer, type TestServer } from '../helpers/servers.ts';
import { runCli } from '../helpers/cli.ts';
import { kubernetesManifests } from '../../src/k8s/export.ts';

const ENV = (a: string, b: string) => `targets:
  shop: { kind: http, url: "${a}", health: /health }
  chat: { kind: http, url: "${b}", health: /health }
  db: { kind: process, match: no-such-process-xyz }
`;

const SLO = `services:
  shop: { availability: 99%, latency: { p99: 1s } }
  chat: { availability: 99%, latency: { p99: 1s } }
`;

const TWO = `name: two
environment: ./env.yaml
slo: ./slo.yaml
seed: 5
load:
  - name: browse
    target: shop
    connections: 8
    requests:
      - { name: page, method: GET, path: /page }
    pattern:
      - { kind: constant, name: base, rate: 40, duration: 2s }
      - { kind: constant, name: peak, rate: 80, duration: 1s }
  - name: talk
    target: chat
    connections: 4
    requests:
      - { name: page, method: POST, path: /say, body: hi }
    pattern:
      - { kind: constant, name: steady, rate: 20, duration: 4s }
`;

function write(yaml: string, env = ENV('http://127.0.0.1:9', 'http://127.0.0.1:9')): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'env.yaml'), env);
  writeFileSync(join(dir, 'slo.yaml'), SLO);
  writeFileSync(join(dir, 'scenario.yaml'), yaml);
  return join(dir, 'scenario.yaml');
}

function problems(yaml: string): string {
  try {
    const s = loadScenario(write(yaml));
    planScenario(s, { seed: 1, timeScale: 1, force: false });
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('expected the scenario to be refused');
}

describe('load: as a list of named streams', () => {
  it('each stream keeps its own target, pattern and engine; the run lasts as long as the longest', () => {
    const s = loadScenario(write(TWO));
    expect(s.spec.multiStream).toBe(true);
    expect(s.spec.streams.map((x) => [x.name, x.target, x.engine])).toEqual([
      ['browse', 'shop', 'http'],
      ['talk', 'chat', 'http'],
    ]);
    const plan = planScenario(s, { seed: 1, timeScale: 1, force: false });
    expect(plan.durationMs).toBe(4_000);
    expect(plan.streams!.map((x) => [x.name, x.durationMs, x.expectedRequests])).toEqual([
      ['browse', 3_000, 160],
      ['talk', 4_000, 80],
    ]);
    expect(plan.expectedRequests).toBe(240);
  });

  it("a fault's `at` names a stream's peak or phase; `peak` alone is ambiguous and refused", () => {
    const fault = (at: string) =>
      `${TWO}faults:\n  - { type: pause, target: db, at: '${at}', duration: 1s }\n`;
    const plan = (at: string) =>
      planScenario(loadScenario(write(fault(at))), { seed: 1, timeScale: 1, force: false }).faults[0]!;
    expect(plan('peak of browse').startMs).toBe(2_000);
    expect(plan('phase steady of talk + 1s').startMs).toBe(1_000);
    expect(plan('2500ms').startMs).toBe(2_500);
    expect(problems(fault('peak'))).toMatch(
      /faults\[0\]\.at: "peak" could mean the peak of any of the streams browse, talk: name one, e\.g\. 'peak of browse'/,
    );
    expect(problems(fault('peak of nobody'))).toMatch(/faults\[0\]\.at: .*nobody.*browse, talk/);
    expect(problems(fault('phase base of talk'))).toMatch(/faults\[0\]\.at: .*base/);
  });

  it('duplicate names, an unknown target and a bad field are reported where they are', () => {
    const dup = TWO.replace('name: talk', 'name: browse');
    expect(problems(dup)).toMatch(
      /load\[1\]\.name: two streams are named "browse" \(load\[0\] and load\[1\]\)/,
    );
    expect(problems(TWO.replace('target: chat', 'target: nowhere'))).toMatch(/load\[1\]\.target: .*nowhere/);
    // A stream on a target of the wrong kind for its engine.
    expect(problems(TWO.replace('target: chat', 'target: db'))).toMatch(
      /scenario\.yaml:\d+:\d+: load\[1\]\.target: the http engine needs an http target; db is a process target/,
    );
    expect(problems(TWO.replace('connections: 4', 'connections: 4\n    bogus: 1'))).toMatch(
      /load\[1\]\.bogus: unknown field "bogus"/,
    );
    expect(problems(TWO.replace('- name: talk', '- name: Talk'))).toMatch(
      /load\[1\]\.name: expected a lower-case name/,
    );
    expect(problems(TWO.replace('- name: talk\n', '- name: talk\n    engine: autocannon\n'))).toMatch(
      /load: several streams run on the open-model engines/,
    );
  });

  it('a stream whose service has no objectives in an explicit SLO file is refused, naming the stream', () => {
    const yaml = TWO.replace('    target: chat\n', '    target: chat\n    service: nope\n');
    expect(problems(yaml)).toMatch(
      /load\[1\]\.service: the SLO file .* has no objectives for service "nope", the one stream talk loads .*set load\[1\]\.service/,
    );
  });
});

let servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

describe('a run of two streams against two loopback servers', () => {
  it('measures each on its own, sums them exactly, scores each against its service and combines the verdicts', async () => {
    const seen = { shop: 0, chat: 0 };
    const shop = await httpServer((req, res) => {
      if (req.url === '/health') return res.end('ok');
      seen.shop++;
      res.end('page');
    });
    // The chat service fails one request in five: its stream misses availability ≥ 99%.
    const chat = await httpServer((req, res) => {
      if (req.url === '/health') return res.end('ok');
      seen.chat++;
      res.statusCode = seen.chat % 5 === 0 ? 500 : 200;
      res.end('said');
    });
    servers.push(shop, chat);
    const scenario = loadScenario(write(TWO, ENV(shop.url, chat.url)));
    const run = runScenario(scenario, {
      guard: false,
      warmUp: false,
      hostSamples: false,
      stateDir: tempDir('chaoskit-state-'),
    });
    // What listeners see (the dashboard, Prometheus and OTLP): each stream beside the whole run.
    const progress: Progress[] = [];
    const finals: { stream: string | null; s: SecondStats }[] = [];
    run.on('second', (p) => progress.push(p));
    run.on('secondFinal', (s, stream) => finals.push({ stream, s }));
    const metrics = new RunMetrics();
    metrics.attach(run);
    const result = await run.result;

    expect(runResultSchema.safeParse(result).success).toBe(true);
    const [browse, talk] = result.streams!;
    expect(browse!.name).toBe('browse');
    // On a machine too busy to send on time the reasons say so (a generator stall is not the target's).
    const why = `${result.verdict!.status}: ${result.verdict!.reasons.join('; ')}`;
    expect(browse!.totals, why).toMatchObject({ requested: 160, sent: 160, ok: 160, failed: 0 });
    expect(talk!.totals, why).toMatchObject({ requested: 80, sent: 80, failed: 16 });
    expect(seen).toEqual({ shop: 160, chat: 80 });
    // The shorter stream's timeline runs the whole run's length, idle after its end.
    expect(browse!.timeline.map((x) => x.requested)).toEqual([40, 40, 80, 0]);
    expect(talk!.timeline.map((x) => x.requested)).toEqual([20, 20, 20, 20]);
    // The run's timeline and totals are the exact sum of the streams'.
    result.timeline.forEach((sec, i) => {
      for (const k of ['requested', 'sent', 'ok', 'failed'] as const)
        expect(sec[k], `t=${i} ${k}`).toBe(browse!.timeline[i]![k] + talk!.timeline[i]![k]);
    });
    expect(result.totals).toMatchObject({ requested: 240, sent: 240, ok: 224, failed: 16 });
    // The live view of every second names both streams and is their sum.
    expect(progress.length).toBeGreaterThanOrEqual(3);
    for (const p of progress) {
      expect(p.streams!.map((x) => x.name)).toEqual(['browse', 'talk']);
      for (const k of ['requestedRate', 'achievedRate', 'ok', 'failed', 'dropped', 'outstanding'] as const)
        expect(p[k], `t=${p.second} ${k}`).toBe(p.streams![0]![k] + p.streams![1]![k]);
      // Each stream has one named request: its live figures are the stream's own.
      expect(p.profiles!.map((x) => `${x.stream}/${x.name}`)).toEqual(['browse/page', 'talk/page']);
      for (const [i, x] of p.profiles!.entries()) {
        const st = p.streams![i]!;
        expect([x.sent, x.ok, x.failed], `t=${p.second} ${x.stream}`).toEqual([
          st.achievedRate,
          st.ok,
          st.failed,
        ]);
      }
    }
    expect(progress.reduce((n, p) => n + p.profiles![1]!.failed, 0)).toBeGreaterThan(0);
    // Finished seconds come per stream and, once both streams finished one, for the run: each
    // run second once, equal to the sum of its streams' (none of them finished twice).
    const runFinals = finals.filter((f) => f.stream === null);
    expect(new Set(runFinals.map((f) => f.s.t)).size).toBe(runFinals.length);
    for (const f of runFinals) {
      const parts = finals.filter((g) => g.stream !== null && g.s.t === f.s.t);
      expect(parts.map((g) => g.stream).sort()).toEqual(['browse', 'talk']);
      expect(f.s.ok).toBe(parts[0]!.s.ok + parts[1]!.s.ok);
      expect(f.s).toEqual(result.timeline[f.s.t]);
    }
    // The exported counters end at the run's totals: no stream's seconds lost or counted twice.
    const snap = metrics.snapshot();
    const finished = snap.scalars.find((x) => x.def.prom === 'chaoskit_arrivals_finished_total')!;
    const byOutcome = Object.fromEntries(finished.samples.map((x) => [x.labels.outcome, x.value]));
    expect(byOutcome).toMatchObject({ ok: 224, failed: 16 });
    const hist = snap.histograms[0]!.points.reduce((n, p) => n + p.count, 0);
    expect(hist).toBe(240);
    metrics.detach();

    // Profiles of the same name in two streams stay apart.
    expect(Object.keys(result.profiles!).sort()).toEqual(['browse/page', 'talk/page']);

    expect(browse!.verdict!.status, why).toBe('pass');
    expect(browse!.verdict!.service).toBe('shop');
    expect(talk!.verdict!.status).toBe('fail');
    expect(result.verdict!.status).toBe('fail');
    expect(result.verdict!.pass).toBe(false);
    expect(result.verdict!.service).toBe('shop + chat');
    expect(result.verdict!.objectives.map((o) => o.name)).toContain('talk/availability ≥ 99%');
    expect(result.verdict!.reasons).toContain('stream talk: FAIL');
    // The library's score() scores a multi-stream result again the same way.
    expect(score(result, scenario)).toEqual(result.verdict);

    // Every report shows each stream with its own verdict; JUnit fails the stream that failed.
    const text = render(result, 'console');
    expect(text).toMatch(/^ {2}browse +shop +shop +PASS +[\d.]+ \([A-F]\) +160 +160 +0 +0 /m);
    expect(text).toMatch(/^ {2}talk +chat +chat +FAIL +[\d.]+ \([A-F]\) +80 +64 +16 +0 /m);
    const junit = render(result, 'junit');
    expect(junit).toMatch(
      /<testcase classname="chaoskit\.two\.streams" name="stream browse" time="0">\s*<system-out>/,
    );
    expect(junit).toMatch(
      /<testcase classname="chaoskit\.two\.streams" name="stream talk" time="0">\s*<failure [^>]*type="fail"/,
    );
    expect(render(result, 'markdown')).toContain('| `talk` | `chat` | `chat` | FAIL |');
    expect(render(result, 'html')).toContain('<table class="stream-table">');
  });
});

describe('what takes one load refuses several streams with exit 2, naming it', () => {
  it.each([
    [['run', 'api-and-chat', '--workers', '2'], /not built for --workers and --runners/],
    [['run', 'api-and-chat', '--engine', 'k6'], /not built for --engine k6/],
    [['export', 'k6', 'api-and-chat'], /cannot export to k6 .*\n.*several load streams/],
  ])('chaos %j', async (args, message) => {
    const r = await runCli(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/worker \d+ ended/);
  });

  it('the Kubernetes export', () => {
    const s = loadScenario(write(TWO));
    const plan = planScenario(s, { seed: 1, timeScale: 1, force: false });
    expect(() => kubernetesManifests(s, plan, { runners: 2, image: 'x' } as never)).toThrow(
      /not built for the Kubernetes export/,
    );
  });
});
