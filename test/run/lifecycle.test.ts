/**
 * The runner's lifecycle in simulated time: the real runner, scheduler, store, fault runner, stop
 * conditions and scoring, with a simulated target (test/helpers/sim-engine.ts) and simulated fault
 * drivers. Each case here failed on the runner before the rebuild (issue 12) and takes
 * milliseconds instead of the seconds it simulates.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenario, type RunOptions } from '../../src/run.ts';
import type { RunResult } from '../../src/result.ts';
import { loadScenario, type Scenario } from '../../src/input/load.ts';
import { verdictExitCode } from '../../src/cli/commands/run.ts';
import { tempDir } from '../helpers/files.ts';
import { SimClock } from '../helpers/sim-clock.ts';
import { simEngine, simFaults, type TargetModel } from '../helpers/sim-engine.ts';
import { expectAccounting } from '../helpers/accounting.ts';

const SLO = `services:
  api:
    availability: 99%
    latency: { p99: 500ms }
    recovery: 5s
    holdFor: 2s
`;

function scenarioFile(body: string, slo = SLO): string {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'env.yaml'),
    `targets:
  api: { kind: http, url: "http://127.0.0.1:9", health: /health }
  api->dependency: { kind: proxy, proxy: dependency, api: "http://127.0.0.1:9" }
`,
  );
  writeFileSync(join(dir, 'slo.yaml'), slo);
  writeFileSync(
    join(dir, 'scenario.yaml'),
    `name: sim
environment: ./env.yaml
slo: slo.yaml
seed: 1
${body}`,
  );
  return join(dir, 'scenario.yaml');
}

interface SimRun {
  result: RunResult;
  events: { name: string; at: number; detail?: unknown }[];
  revertedAt: Map<string, number>;
}

/** Starts a scenario in simulated time against a target model (the clock advances only when told). */
function startSim(
  scenario: Scenario,
  model: TargetModel,
  o: { faults?: Parameters<typeof simFaults>[3]; opts?: RunOptions } = {},
) {
  const clock = new SimClock();
  const sim = simEngine(model);
  const revertedAt = new Map<string, number>();
  const now = () => sim.load().now();
  const drivers = simFaults(model, clock, now, { ...o.faults, onRevert: (id) => revertedAt.set(id, now()) });
  const stateDir = o.opts?.stateDir ?? tempDir('chaoskit-state-');
  const run = runScenario(scenario, {
    clock,
    createEngine: sim.create,
    faultDrivers: drivers as unknown as RunOptions['faultDrivers'],
    guard: false,
    hostSamples: false,
    stateDir,
    ...o.opts,
  });
  return { clock, sim, run, stateDir, revertedAt };
}

/** Runs a scenario in simulated time against a target model. */
async function simRun(
  body: string,
  model: TargetModel,
  o: {
    slo?: string;
    faults?: Parameters<typeof simFaults>[3];
    abortAtMs?: number;
    maxMs?: number;
    opts?: RunOptions;
    during?: (clock: SimClock, run: ReturnType<typeof runScenario>) => Promise<void>;
  } = {},
): Promise<SimRun> {
  const { clock, run, revertedAt } = startSim(loadScenario(scenarioFile(body, o.slo)), model, o);
  const events: SimRun['events'] = [];
  run.on('stopping', (d) => events.push({ name: 'stopping', at: clock.now(), detail: d }));
  run.on('faultApplied', (f) => events.push({ name: 'faultApplied', at: clock.now(), detail: f.id }));
  run.on('faultReverted', (f) => events.push({ name: 'faultReverted', at: clock.now(), detail: f.id }));
  if (o.abortAtMs !== undefined) clock.setTimeout(() => run.abort('test abort'), o.abortAtMs);
  if (o.during) await o.during(clock, run);
  const result = await clock.runUntil(run.result, o.maxMs ?? 120_000);
  await run.closed;
  expectAccounting(result);
  return { result, events, revertedAt };
}

const fast: TargetModel = { fate: () => ({ latencyMs: 10 }) };

describe('runner lifecycle (simulated time)', () => {
  it('a response slower than the timeout is a timeout failure in its intended second, never lost', async () => {
    // A 200 that would trickle for 4 s, with load.timeout 1s: today it vanished and the run passed.
    const { result } = await simRun(
      `load:
  target: api
  timeout: 1s
  pattern: [{ kind: constant, rate: 20, duration: 5s }]
`,
      { fate: () => ({ latencyMs: 4000, status: 200 }) },
    );
    expect(result.totals.requested).toBe(100);
    expect(result.totals.ok).toBe(0);
    expect(result.totals.failed).toBe(100);
    expect(result.totals.errors).toEqual({ timeout: 100 });
    for (const s of result.timeline.slice(0, 5)) expect(s.failed).toBe(20);
    // Latency from the intended send: the deadline, not the 4 s the server would have taken.
    expect(result.totals.latencyMs!.max).toBeGreaterThanOrEqual(1000);
    expect(result.totals.latencyMs!.max).toBeLessThan(1100);
    expect(result.verdict!.status).toBe('fail');
    expect(verdictExitCode(result, undefined)).toBe(1);
  });

  it('a late response with a 2xx after its deadline is a timeout, even when nothing swept it first', async () => {
    const { result } = await simRun(
      `load:
  target: api
  timeout: 1s
  pattern: [{ kind: constant, rate: 10, duration: 3s }]
`,
      { fate: () => ({ latencyMs: 1010, status: 200 }) },
    );
    expect(result.totals.ok).toBe(0);
    expect(result.totals.errors.timeout).toBe(30);
  });

  it('requests in flight when a crash starts are fault-phase failures; the baseline stays clean', async () => {
    let crashed = false;
    let sim: ReturnType<typeof simEngine> | null = null;
    const model: TargetModel = {
      fate: () => (crashed ? { latencyMs: 1, kind: 'refused' } : { latencyMs: 400 }),
      onFault: (_id, active) => {
        crashed = active;
        // The crash resets every connection: what was in flight fails now.
        if (active) sim?.load().cutAll('reset');
      },
    };
    const started = startSim(
      loadScenario(
        scenarioFile(`load:
  target: api
  pattern: [{ kind: constant, rate: 50, duration: 20s }]
faults:
  - { type: latency, target: api->dependency, at: 5s, duration: 3s, delay: 1ms }
`),
      ),
      model,
    );
    sim = started.sim;
    const { clock, run } = started;
    const result = await clock.runUntil(run.result, 60_000);
    expectAccounting(result);
    const v = result.verdict!;
    // Requests sent late in second 4 (400 ms each) were in flight at 5 s: reset, and charged to the fault.
    const s4 = result.timeline[4]!;
    expect(s4.failed).toBeGreaterThan(0);
    expect(s4.phases.fault!.failed).toBe(s4.failed);
    expect(s4.phases.baseline?.failed ?? 0).toBe(0);
    const baseline = v.objectives.filter((o) => o.phase === 'baseline');
    expect(baseline.every((o) => o.pass === true)).toBe(true);
    expect(v.status).not.toBe('inconclusive');
    expect(v.reasons.join(' ')).not.toMatch(/baseline already misses/);
  });

  it('a fault that never applied makes the run invalid (exit 1), never a pass', async () => {
    const { result } = await simRun(
      `load:
  target: api
  pattern: [{ kind: constant, rate: 20, duration: 10s }]
faults:
  - { type: latency, target: api->dependency, at: 2s, duration: 3s, delay: 1ms }
`,
      fast,
      { faults: { fail: 'no process matched "demo-api"' } },
    );
    expect(result.faults[0]!.status).toBe('apply-failed');
    expect(result.verdict!.status).toBe('invalid');
    expect(result.verdict!.reasons[0]).toBe(
      'f1 (latency on api->dependency) was not applied (apply failed: no process matched "demo-api"): the experiment did not happen as planned',
    );
    expect(verdictExitCode(result, undefined)).toBe(1);
  });

  it('a fault applied later than its tolerance is invalid, with the measured lag', async () => {
    const { result } = await simRun(
      `load:
  target: api
  pattern: [{ kind: constant, rate: 20, duration: 12s }]
faults:
  - { type: latency, target: api->dependency, at: 2s, duration: 5s, delay: 1ms }
`,
      fast,
      { faults: { applyDelayMs: 1500 } },
    );
    const f = result.faults[0]!;
    expect(f.applyLagMs).toBe(1500);
    expect(f.toleranceMs).toBe(1000);
    expect(f.late).toBe(true);
    expect(result.verdict!.status).toBe('invalid');
    expect(result.verdict!.reasons).toContain(
      'f1 (latency on api->dependency) was applied 1.5s after its planned start (tolerance 1s): the experiment did not happen as planned',
    );
  });

  it('`p99 > 500ms for 2s` fires about 2.5 s into a 1.5 s latency fault', async () => {
    let slow = false;
    const model: TargetModel = {
      fate: () => ({ latencyMs: slow ? 1500 : 10 }),
      onFault: (_id, active) => (slow = active),
    };
    const { result, events, revertedAt } = await simRun(
      `load:
  target: api
  pattern: [{ kind: constant, rate: 50, duration: 30s }]
faults:
  - { type: latency, target: api->dependency, at: 5s, duration: 20s, delay: 1500ms }
abort:
  - { when: p99 > 500ms, for: 2s }
`,
      model,
    );
    expect(result.status).toBe('aborted');
    expect(result.abort!.reason).toBe('stop condition: p99 > 500ms for 2s');
    // The fault starts at 5 s; the condition holds from ~5.6 s on; two checks later it fires.
    expect(result.abort!.atMs).toBeGreaterThanOrEqual(6_500);
    expect(result.abort!.atMs).toBeLessThanOrEqual(8_100);
    expect(revertedAt.get('f1')).toBeLessThanOrEqual(result.abort!.atMs + 200);
    expect(events.find((e) => e.name === 'stopping')).toBeTruthy();
    expect(result.verdict!.status).toBe('aborted');
    expect(verdictExitCode(result, undefined)).toBe(1); // the CLI turns `aborted` into exit 3 first
  });

  it('`error-rate > 50%` fires during a blackhole (requests that never answer time out)', async () => {
    let hole = false;
    const { result } = await simRun(
      `load:
  target: api
  timeout: 1s
  pattern: [{ kind: constant, rate: 50, duration: 30s }]
faults:
  - { type: latency, target: api->dependency, at: 5s, duration: 20s, delay: 1ms }
abort:
  - { when: error-rate > 50%, for: 2s }
`,
      { fate: () => (hole ? 'hang' : { latencyMs: 10 }), onFault: (_id, a) => (hole = a) },
    );
    expect(result.status).toBe('aborted');
    expect(result.abort!.atMs).toBeGreaterThan(6_000);
    expect(result.abort!.atMs).toBeLessThan(10_000);
    expect(result.totals.errors.timeout).toBeGreaterThan(0);
  });

  it('an abort mid-run stops at once: partial result, elapsed time, aborted verdict, every arrival accounted', async () => {
    const { result } = await simRun(
      `load:
  target: api
  connections: 4
  pattern: [{ kind: constant, rate: 100, duration: 60s }]
faults:
  - { type: latency, target: api->dependency, at: 20s, duration: 10s, delay: 1ms }
`,
      { fate: () => ({ latencyMs: 200 }) },
      { abortAtMs: 7_300 },
    );
    expect(result.status).toBe('aborted');
    expect(result.ranMs).toBeGreaterThanOrEqual(7_200);
    expect(result.ranMs).toBeLessThan(7_500);
    expect(result.timeline.length).toBe(8);
    // 4 connections at 200 ms each serve 20/s of the 100/s: the rest waited (not sent) or dropped.
    expect(result.totals.cancelled).toBeGreaterThan(0);
    expect(result.totals.notSent + result.totals.dropped).toBeGreaterThan(0);
    expect(result.faults[0]!.status).toBe('scheduled');
    const v = result.verdict!;
    expect(v.status).toBe('aborted');
    expect(v.reasons[0]).toBe('aborted after 7.3s of 1m (test abort): only what ran was scored');
  });

  it('a listener that throws never skips a revert or loses the result', async () => {
    let applied = 0;
    const model: TargetModel = { fate: () => ({ latencyMs: 5 }), onFault: (_id, a) => void (a && applied++) };
    const { result, revertedAt } = await simRun(
      `load:
  target: api
  pattern: [{ kind: constant, rate: 10, duration: 8s }]
faults:
  - { type: latency, target: api->dependency, at: 2s, duration: 2s, delay: 1ms }
`,
      model,
      {
        during: async (_clock, run) => {
          for (const e of ['second', 'faultApplied', 'faultReverted', 'started', 'log'] as const)
            run.on(e, () => {
              throw new Error(`listener of ${e} broke`);
            });
        },
      },
    );
    expect(applied).toBe(1);
    expect(revertedAt.get('f1')).toBeGreaterThan(3_900);
    expect(result.faults[0]!.status).toBe('reverted');
    expect(result.verdict!.status).toBe('pass');
  });

  it('a service without objectives is "not scored" (exit 0, said so), not failed by a default', async () => {
    const { result } = await simRun(
      `load:
  target: api
  pattern: [{ kind: constant, rate: 10, duration: 8s }]
faults:
  - { type: latency, target: api->dependency, at: 2s, duration: 2s, delay: 1ms }
`,
      fast,
      { slo: 'services:\n  api: { holdFor: 2s }\n' },
    );
    const v = result.verdict!;
    expect(v.status).toBe('not-scored');
    expect(v.recovery).toEqual([]);
    expect(v.reasons).toContain(
      'not scored: the SLO file has no objectives for service api, so nothing was judged against targets',
    );
    expect(verdictExitCode(result, undefined)).toBe(0);
  });

  it('no message carries "null" or float noise', async () => {
    const { result } = await simRun(
      `load:
  target: api
  pattern: [{ kind: constant, rate: 20, duration: 10s }]
faults:
  - { type: latency, target: api->dependency, at: 2s, duration: 6s, delay: 1ms }
`,
      { fate: (t) => (t > 2000 && t < 9500 ? { latencyMs: 5, status: 503 } : { latencyMs: 5 }) },
      { slo: 'services:\n  api: { availability: 99%, recovery: 1s }\n' },
    );
    const text = result.verdict!.reasons.join('\n');
    expect(result.verdict!.status).toBe('fail');
    expect(text).not.toMatch(/null|undefined|NaN|\d\.\d{6,}/);
    expect(text).toMatch(/f1: (did not recover|recovered in [\d.]+m?s), objective 1s/);
  });
});

describe('built-in step-rollout-with-errors (simulated target)', () => {
  /** The built-in scenario against a target whose reads fail with `failRate` while the fault is on. */
  async function rollout(failRate: number) {
    const clock = new SimClock();
    let on = false;
    let n = 0;
    const model: TargetModel = {
      // Deterministic spread: every k-th request fails while the fault is on.
      fate: () =>
        on && ++n % Math.round(1 / failRate) === 0 ? { latencyMs: 3, status: 503 } : { latencyMs: 3 },
      onFault: (_id, active) => (on = active),
    };
    const { run } = startSim(loadScenario('step-rollout-with-errors'), model, {
      opts: { clock, timeScale: 0.1 },
    });
    const result = await clock.runUntil(run.result, 30_000);
    expectAccounting(result);
    return result;
  }

  it('rolls back (stops, reverts, exit 3) when more than 5% of requests fail, instead of stepping on to 100%', async () => {
    const r = await rollout(0.25);
    expect(r.status).toBe('aborted');
    // `for: 2s` scales with the run (0.2 s at time scale 0.1): one check, at least a second.
    expect(r.abort!.reason).toBe('stop condition: error-rate > 5% for 1s');
    // Stopped at the 50% step (3 s to 4.5 s at time scale 0.1): the 100% step never ran.
    expect(r.abort!.atMs).toBeGreaterThan(3_000);
    expect(r.abort!.atMs).toBeLessThan(4_500);
    expect(r.faults[0]!.status).toBe('reverted');
    expect(r.timeline.every((s) => s.requested <= 200)).toBe(true);
  });

  it('with the 3% of failing reads it is built with, the rollout completes', async () => {
    const r = await rollout(0.03);
    expect(r.status).toBe('completed');
    expect(r.timeline.some((s) => s.requested === 400)).toBe(true);
  });
});

describe('a stalled runner that resumes (SIGSTOP, then SIGCONT)', () => {
  it('notices its guard reverted the fault, records the truth, and never bursts its overdue arrivals', async () => {
    const clock = new SimClock();
    let slow = false;
    const model: TargetModel = {
      fate: () => ({ latencyMs: slow ? 100 : 5 }),
      onFault: (_id, a) => (slow = a),
    };
    const {
      sim,
      run,
      stateDir: state,
    } = startSim(
      loadScenario(
        scenarioFile(`load:
  target: api
  pattern: [{ kind: constant, rate: 100, duration: 20s }]
faults:
  - { type: latency, target: api->dependency, at: 3s, duration: 10s, delay: 100ms }
`),
      ),
      model,
      { opts: { clock } },
    );
    await clock.advance(0); // let set-up finish
    while (sim.load().now() < 5_000) await clock.advance(100);
    // The runner is stopped for 6 s; its guard sees the stale heartbeat and reverts the fault 3 s in.
    const wallAtStall = clock.wallNow();
    appendFileSync(
      join(state, 'ledger.jsonl'),
      `${JSON.stringify({ ts: new Date(wallAtStall + 3_000).toISOString(), event: 'reverted', runId: run.runId, faultId: 'f1', by: 'guard', outcome: 'reverted' })}\n`,
    );
    clock.jump(6_000);
    const r = await clock.runUntil(run.result, 60_000);
    expectAccounting(r);
    const f = r.faults[0]!;
    expect(f.revertedBy).toBe('guard');
    expect(f.revertedAtMs).toBeGreaterThanOrEqual(7_900);
    expect(f.revertedAtMs).toBeLessThanOrEqual(8_200);
    expect(f.observations).toContain('reverted by guard while this runner was not responding');
    // About 6 s of arrivals (600) were overdue when it resumed: dropped as a stall, not sent at once.
    // Only those less than the stall bound (250 ms, 25 arrivals) late went out with the resume.
    expect(r.totals.droppedStall).toBeGreaterThan(550);
    expect(Math.max(...r.timeline.map((s) => s.achieved))).toBeLessThanOrEqual(100 + 25);
    // Requests in flight across the stall (100 ms answers at 100/s: about 10) have unknown
    // latency: cancelled, never a 6 s latency blamed on the target.
    expect(r.totals.cancelled).toBeGreaterThanOrEqual(5);
    expect(r.totals.cancelled).toBeLessThanOrEqual(15);
    expect(r.totals.latencyMs!.max).toBeLessThan(500);
    expect(r.timeline.some((s) => s.generator?.reasons.some((x) => x.startsWith('generator stalled')))).toBe(
      true,
    );
    expect(r.warnings.some((w) => w.startsWith('the runner was stalled for'))).toBe(true);
    expect(r.verdict!.status).toBe('invalid');
    expect(r.verdict!.reasons.join('\n')).toMatch(/reverted by the run’s guard, not by its schedule/);
    expect(r.verdict!.reasons.join('\n')).toMatch(/the load generator stalled: \d+ arrival\(s\)/);
  });
});
