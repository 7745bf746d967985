/**
 * The coordinator and `chaos runner` over real HTTP on loopback, in this process: the real HTTP
 * engine against a loopback target, a merged result with runners[], and every refusal (late,
 * twice, token, version, not a coordinator, clock offset) with its message.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { realClock, type Clock } from '../../src/core/clock.ts';
import { runScenario } from '../../src/run.ts';
import type { RunResult } from '../../src/result.ts';
import { loadScenario } from '../../src/input/load.ts';
import { Coordinator } from '../../src/scale/coordinator.ts';
import { startRunner, type RunnerOptions, type RunnerOutcome } from '../../src/scale/runner.ts';
import { scaleEngineDef } from '../../src/scale/setup.ts';
import { expectAccounting } from '../helpers/accounting.ts';
import { tempDir, writeScenario } from '../helpers/files.ts';
import { httpServer, type TestServer } from '../helpers/servers.ts';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
  cleanup = [];
});

async function target(): Promise<TestServer & { hits: number[] }> {
  const hits: number[] = [];
  const s = await httpServer((req, res) => {
    if (req.url !== '/health') hits.push(performance.now());
    res.end('ok');
  });
  cleanup.push(() => s.close());
  return Object.assign(s, { hits });
}

function scenario(url: string, pattern = '[{ kind: constant, rate: 60, duration: 3s }]'): string {
  return writeScenario(
    `name: t
environment: ./env.yaml
seed: 11
load:
  target: api
  requests:
    - { name: a, weight: 2, path: /a }
    - { name: b, weight: 1, path: /b }
  pattern: ${pattern}
`,
    `targets:\n  api: { kind: http, url: "${url}", health: /health }\n`,
  );
}

async function coordinator(
  n: number,
  o: { token?: string; maxOffsetMs?: number } = {},
): Promise<Coordinator> {
  const c = await Coordinator.listen({
    host: '127.0.0.1',
    port: 0,
    token: o.token ?? null,
    count: n,
    kind: 'runners',
    log: () => {},
    ...(o.maxOffsetMs !== undefined ? { maxOffsetMs: o.maxOffsetMs } : {}),
  });
  cleanup.push(() => c.close());
  return c;
}

function runner(c: Coordinator | string, o: Partial<RunnerOptions> = {}): Promise<RunnerOutcome> {
  const r = startRunner({
    coordinator: typeof c === 'string' ? c : c.url,
    log: () => {},
    connectTimeoutMs: 5_000,
    ...o,
  });
  cleanup.push(async () => r.interrupt('test over'));
  return r.done;
}

/** A coordinated run in this process: the scale engine over `n` admitted runners. */
function coordinatedRun(file: string, c: Coordinator, n: number): Promise<RunResult> {
  let abort = (_: string) => {};
  const def = scaleEngineDef('http', {
    kind: 'runners',
    count: n,
    onLoss: 'abort',
    seed: 11,
    timeScale: 1,
    force: false,
    links: () => c.admitted(20_000),
    abortRun: (r) => abort(r),
    runId: () => 'test',
    log: () => {},
  });
  const run = runScenario(loadScenario(file), {
    engineDef: def,
    seed: 11,
    // Warm-up requests are not counted anywhere: without them the target's count is exact.
    warmUp: false,
    guard: false,
    hostSamples: false,
    stateDir: tempDir('chaoskit-state-'),
  });
  abort = (r) => run.abort(r);
  return run.result;
}

/** Per-second requested, without trailing seconds that only hold a late send (timer jitter). */
function requested(r: RunResult): number[] {
  const out = r.timeline.map((s) => s.requested);
  while (out.length > 0 && out[out.length - 1] === 0) out.pop();
  return out;
}

describe('coordinator and runners over HTTP', () => {
  it('two runners run one merged result: per-second requested equals one process, runners[] says who did what', async () => {
    const t = await target();
    const file = scenario(t.url);
    const one = await runScenario(loadScenario(file), {
      seed: 11,
      warmUp: false,
      guard: false,
      hostSamples: false,
      stateDir: tempDir('chaoskit-state-'),
    }).result;
    const hitsAlone = t.hits.length;
    const c = await coordinator(2);
    const runners = [runner(c, { index: 1 }), runner(c, { index: 0 })];
    const r = await coordinatedRun(file, c, 2);
    expect((await Promise.all(runners)).map((x) => x.code)).toEqual([0, 0]);
    expectAccounting(r);
    expect(requested(r)).toEqual(requested(one));
    expect(r.totals.requested).toBe(180);
    expect(r.totals.ok).toBe(180);
    expect(t.hits.length - hitsAlone).toBe(180);
    // Request picks are seeded per arrival: the same mix as one process.
    expect(r.profiles!.a!.sent).toBe(one.profiles!.a!.sent);
    expect(r.profiles!.b!.sent).toBe(one.profiles!.b!.sent);
    expect(r.runners).toHaveLength(2);
    for (const [i, x] of r.runners!.entries()) {
      expect(x.index).toBe(i);
      expect(x.state).toBe('completed');
      expect(x.secondsReceived).toBeGreaterThanOrEqual(3);
      expect(Math.abs(x.clockOffsetMs)).toBeLessThan(50);
      expect(x.roundTripMs).toBeGreaterThan(0);
    }
    expect(r.verdict!.status).not.toBe('invalid');
  });

  it('refuses a runner that joins late, or twice, with the reason; the refused runner exits 2 having sent nothing', async () => {
    const c = await coordinator(1);
    const first = runner(c, { index: 0 });
    const twice = await runner(c, { index: 0 });
    expect(twice.code).toBe(2);
    expect(twice.message).toMatch(
      /index 0 is taken by a runner from .*; a runner that joins twice is refused/,
    );
    await c.admitted(10_000);
    const late = await runner(c);
    expect(late.code).toBe(2);
    expect(late.message).toMatch(
      /the run already has its 1 runner\(s\) \(0 from .*\); a runner that joins late is refused/,
    );
    await c.close();
    expect((await first).code).toBe(3);
  });

  it('refuses a wrong token, another chaoskit version, and an index out of range', async () => {
    const c = await coordinator(2, { token: 's3cret' });
    const none = await runner(c);
    expect(none).toEqual({ code: 2, message: expect.stringMatching(/gave no token: set CHAOSKIT_TOKEN/) });
    const wrong = await runner(c, { token: 'guess' });
    expect(wrong.message).toMatch(/gave a wrong token/);
    const other = await runner(c, { token: 's3cret', version: '0.0.0-other' });
    expect(other.code).toBe(2);
    expect(other.message).toMatch(
      /coordinator is chaoskit \d+\.\d+\.\d+ but the runner is 0\.0\.0-other: versions must match/,
    );
    const range = await runner(c, { token: 's3cret', index: 2 });
    expect(range.message).toMatch(/index 2 is not among 0..1/);
  });

  it('a URL that is not a coordinator, or where nothing answers, is exit 2', async () => {
    const t = await target();
    const wrong = await runner(t.url);
    expect(wrong.code).toBe(2);
    expect(wrong.message).toMatch(/is not a chaoskit coordinator \(it answered HTTP 200/);
    const c = await coordinator(1);
    const url = c.url;
    await c.close();
    const nobody = await runner(url, { connectTimeoutMs: 1_200 });
    expect(nobody.code).toBe(2);
    expect(nobody.message).toMatch(/no chaoskit coordinator answered at .* within 1\.2s \(ECONNREFUSED\)/);
  });

  it('gives up after the join timeout, saying how many joined and who was refused (nothing applied)', async () => {
    const c = await coordinator(2);
    const refused = await runner(c, { version: '0.0.0-other' });
    expect(refused.code).toBe(2);
    const one = runner(c);
    await expect(c.admitted(1_500)).rejects.toThrow(
      /only 1 of 2 runners joined http:\/\/127\.0\.0\.1:\d+ within 1\.5s \(refused: .*versions must match\); nothing was started or applied/,
    );
    await c.close();
    expect((await one).code).toBe(3);
  });

  it('refuses a runner whose clock is beyond the bound, before t0', async () => {
    const c = await coordinator(1, { maxOffsetMs: 100 });
    const skewed: Clock = { ...realClock, wallNow: () => Date.now() + 400 };
    const r = await runner(c, { clock: skewed });
    expect(r.code).toBe(2);
    expect(r.message).toMatch(
      /refused: its clock is 4\d\d ms off the coordinator's .* beyond the 100 ms bound: synchronise its clock \(NTP\)/,
    );
    // Its slot is free again: a runner with a good clock is admitted.
    const good = runner(c);
    const links = await c.admitted(10_000);
    expect(links).toHaveLength(1);
    expect(Math.abs(links[0]!.offsetMs)).toBeLessThan(50);
    await c.close();
    expect((await good).code).toBe(3);
  });
});
