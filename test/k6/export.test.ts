import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportK6, k6Refusals } from '../../src/k6/export.ts';
import { stagesOf } from '../../src/k6/stages.ts';
import { loadScenario, planScenario } from '../../src/input/load.ts';
import { PACKAGE_ROOT } from '../../src/core/paths.ts';
import { tempDir } from '../helpers/files.ts';

const planOf = (name: string) => {
  const s = loadScenario(name);
  return { s, plan: planScenario(s, { seed: 0, timeScale: 1, force: false }) };
};

describe('chaos export k6', () => {
  it('maps a spike exactly onto ramping-arrival-rate stages', () => {
    const { plan } = planOf('spike-with-partition');
    expect(stagesOf(plan)).toEqual({
      startRate: 50,
      stages: [
        { target: 50, durationMs: 30_000 },
        { target: 500, durationMs: 2000 },
        { target: 500, durationMs: 20_000 },
        { target: 50, durationMs: 2000 },
        { target: 50, durationMs: 40_000 },
      ],
    });
  });

  it('steps jump (0 s stages) and sines are piecewise linear with the same total duration', () => {
    const step = stagesOf(planOf('step-rollout-with-errors').plan);
    expect(step.startRate).toBe(40);
    expect(step.stages.filter((s) => s.durationMs === 0).map((s) => s.target)).toEqual([100, 200, 400]);
    const sine = planOf('sine-with-crash');
    const st = stagesOf(sine.plan);
    expect(st.stages.reduce((n, s) => n + s.durationMs, 0)).toBeCloseTo(sine.plan.durationMs, 6);
    expect(Math.max(...st.stages.map((s) => s.target))).toBeCloseTo(250, 0);
    expect(Math.min(...st.stages.map((s) => s.target))).toBeCloseTo(50, 0);
  });

  it('derives thresholds from the SLO in k6 grammar', () => {
    const { s, plan } = planOf('spike-with-partition');
    const script = exportK6(s, plan);
    expect(script).toContain('"http_req_duration": [\n      "p(99)<=250",\n      "p(95)<=100"\n    ]');
    expect(script).toContain('"rate<0.01"');
  });

  it('the generated script type-checks against @types/k6', () => {
    const dir = tempDir();
    for (const name of [
      'spike-with-partition',
      'sine-with-crash',
      'step-rollout-with-errors',
      'ai-workload-mix',
      'multi-turn-chat',
      'login-and-browse',
      'gpu-pressure-under-load',
    ]) {
      const { s, plan } = planOf(name);
      writeFileSync(join(dir, `${name}.k6.ts`), exportK6(s, plan));
    }
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'es2020',
          module: 'esnext',
          moduleResolution: 'bundler',
          types: ['k6'],
          typeRoots: [join(PACKAGE_ROOT, 'node_modules/@types')],
          skipLibCheck: false,
        },
        include: ['*.ts'],
      }),
    );
    const tsc = join(PACKAGE_ROOT, 'node_modules/.bin/tsc');
    // Throws (failing the test with tsc's messages) if any script does not type-check.
    execFileSync(tsc, ['-p', dir], { encoding: 'utf8' });
  });

  it('exports a flow as k6 code: steps in order, captures through JSON selectors, sleep() for think, checks', () => {
    const { s, plan } = planOf('multi-turn-chat');
    const script = exportK6(s, plan);
    const open = script.indexOf('tags: { name: "chat.open" }');
    const answer = script.indexOf('tags: { name: "chat.answer" }');
    const close = script.indexOf('tags: { name: "chat.close" }');
    expect(open).toBeGreaterThan(0);
    expect(answer).toBeGreaterThan(open);
    expect(close).toBeGreaterThan(answer);
    expect(script).toContain('setVar(vars, "conv", jsonText(res, "id"));');
    expect(script).toContain('BASE_URL + `/v1/conversations/${vars["conv"]}/messages`');
    expect(script).toContain('for (let i0 = 0, n0 = randInt(3, 6); i0 < n0; i0++) {');
    expect(script).toContain('sleep(1 + Math.random() * 2);');
    expect(script).toContain('"chat.open: status 201": (x) => [201].includes(x.status)');
    expect(script).toContain('"chat.answer: stream reached [DONE]"');
    // A step is never sent without the value it needs.
    expect(script).toContain('if (!has(vars, ["conv"])) {');
    // Objectives on a step become thresholds on its tag; a flow's own (sessions) cannot be.
    expect(script).toContain('"http_req_duration{name:chat.answer}": [\n      "p(95)<=500"');
    expect(script).toMatch(/Not expressible in k6 .*availability of chat ≥ 99%/);
    expect(script).toContain("executor: 'ramping-arrival-rate'");
  });

  it('exports the closed model as ramping-vus over the users pattern, with the pause between passes', () => {
    const { s, plan } = planOf('login-and-browse');
    const script = exportK6(s, plan);
    expect(script).toContain("executor: 'ramping-vus',\n      startVUs: 0,");
    expect(stagesOf(plan).stages.map((x) => x.target)).toEqual([100, 100, 0]);
    expect(script).toContain('ENTRIES[i]();\n  sleep(1);');
    expect(script).toContain('DATA_0[exec.scenario.iterationInTest % DATA_0.length]');
  });

  it('translates random template tags instead of sending them literally (they used to be)', () => {
    const { s, plan } = planOf('ai-workload-mix');
    const script = exportK6(s, plan);
    expect(script).not.toContain('{{');
    expect(script).toContain('${pick(["summarise","translate","explain"])} item ${randInt(1, 500)}');
    expect(script).toContain('${randString(16)}');
  });

  it('burst pulses become jumps and holds', () => {
    const s = loadScenario(
      scenarioWith(
        `  pattern:\n    - { kind: burst, rate: 200, base: 10, length: 1s, every: 5s, duration: 12s }\n`,
      ),
    );
    const plan = planScenario(s, { seed: 0, timeScale: 1, force: false });
    expect(stagesOf(plan)).toEqual({
      startRate: 200,
      stages: [
        { target: 200, durationMs: 1000 },
        { target: 10, durationMs: 0 },
        { target: 10, durationMs: 4000 },
        { target: 200, durationMs: 0 },
        { target: 200, durationMs: 1000 },
        { target: 10, durationMs: 0 },
        { target: 10, durationMs: 4000 },
        { target: 200, durationMs: 0 },
        { target: 200, durationMs: 1000 },
        { target: 10, durationMs: 0 },
        { target: 10, durationMs: 1000 },
      ],
    });
  });

  it('refuses, with exit 2 and the construct named, what k6 would run differently', () => {
    const refusal = (name: string) => {
      const { s, plan } = planOf(name);
      try {
        exportK6(s, plan);
      } catch (err) {
        expect((err as { exitCode?: number }).exitCode).toBe(2);
        return (err as Error).message;
      }
      throw new Error(`${name} was exported`);
    };
    expect(refusal('grpc-spike-with-latency')).toMatch(
      /the load target inference is a gRPC target \(engine grpc\)/,
    );
    expect(refusal('capacity')).toMatch(/load\.capacity \(engine autocannon/);
    const own = (body: string, files: Record<string, string> = {}) => {
      const s = loadScenario(scenarioWith(body, files));
      return k6Refusals(s);
    };
    expect(own(`  arrivals: poisson\n  pattern: [{ kind: constant, rate: 5, duration: 5s }]\n`)).toEqual([
      "arrivals: poisson: k6's arrival-rate executors start iterations evenly, not as a Poisson process",
    ]);
    expect(
      own(
        `  pattern: [{ kind: constant, rate: 5, duration: 5s }]\n  requests: [{ name: n, path: '/x/{{seq}}' }]\n`,
      ),
    ).toEqual(["{{seq}} in n: it counts across the whole run, and k6's virtual users share no counter"]);
    expect(
      own(
        `  data: { file: u.csv, order: unique }\n  pattern: [{ kind: constant, rate: 5, duration: 5s }]\n  requests: [{ path: '/u/{{data.u}}' }]\n`,
        {
          'u.csv': 'u\na\nb\n',
        },
      ),
    ).toEqual([
      'data u.csv (order unique, onExhausted stop): k6 cannot stop starting iterations when the rows run out',
    ]);
  });
});

function scenarioWith(load: string, files: Record<string, string> = {}): string {
  const dir = tempDir();
  for (const [n, t] of Object.entries(files)) writeFileSync(join(dir, n), t);
  writeFileSync(join(dir, 'env.yaml'), 'targets:\n  api: { kind: http, url: "http://127.0.0.1:9" }\n');
  writeFileSync(join(dir, 's.yaml'), `name: k6x\nenvironment: ./env.yaml\nload:\n  target: api\n${load}`);
  return join(dir, 's.yaml');
}
