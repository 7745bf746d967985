/** Objectives per request profile, flow step or flow: native `profiles:` and OpenSLO metadata. */
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/input/load.ts';
import { flowScenario, runFlows } from './helpers.ts';
import type { FlowTarget } from './sim-flows.ts';
import type { TargetModel } from '../helpers/sim-engine.ts';

const SCENARIO = `load:
  target: api
  pattern: [{ kind: constant, rate: 20, duration: 30s }]
  requests:
    - name: chat
      steps:
        - { name: open, method: POST, path: /c }
        - { name: answer, method: POST, path: /m }
faults:
  - { type: latency, target: api->dependency, at: 10s, duration: 10s, delay: 1ms }
`;

/** While the fault is on, answers take 400 ms and a third of them fail with 503. */
function target(): { t: FlowTarget; model: TargetModel } {
  let faulty = false;
  let n = 0;
  return {
    t: {
      answer: (req) =>
        req.path === '/m' && faulty
          ? { latencyMs: 400, status: ++n % 3 === 0 ? 503 : 200 }
          : { latencyMs: 20 },
    },
    model: { fate: () => ({ latencyMs: 1 }), onFault: (_id, active) => (faulty = active) },
  };
}

describe('objectives per profile', () => {
  it('native profiles: judged per phase on the step, and on the flow (sessions)', async () => {
    const { t, model } = target();
    const { result } = await runFlows(SCENARIO, t, {
      faults: model,
      slo: `services:
  api:
    availability: 90%
    recovery: 5s
    holdFor: 2s
    profiles:
      chat.answer: { latency: { p95: 100ms } }
      chat: { availability: 99% }
`,
    });
    const v = result.verdict!;
    const rows = v.objectives.filter((o) => o.profile !== undefined);
    const row = (name: string, phase: string) => rows.find((o) => o.name === name && o.phase === phase)!;
    expect([...new Set(rows.map((o) => o.name))]).toEqual([
      'latency p95 of chat.answer ≤ 100ms',
      'availability of chat ≥ 99%',
    ]);
    expect(row('latency p95 of chat.answer ≤ 100ms', 'baseline')).toMatchObject({
      pass: true,
      gating: true,
      profile: 'chat.answer',
    });
    expect(row('latency p95 of chat.answer ≤ 100ms', 'fault')).toMatchObject({ pass: false, gating: false });
    expect(row('latency p95 of chat.answer ≤ 100ms', 'fault').actualValue).toBeGreaterThanOrEqual(400);
    expect(row('availability of chat ≥ 99%', 'baseline')).toMatchObject({ pass: true, actual: '100%' });
    // A third of the fault's answers failed: so did their sessions.
    const fault = row('availability of chat ≥ 99%', 'fault');
    expect(fault.pass).toBe(false);
    expect(fault.actualValue).toBeGreaterThan(0.6);
    expect(fault.actualValue).toBeLessThan(0.75);
    expect(row('availability of chat ≥ 99%', 'recovery').pass).toBe(true);
    expect(v.status).toBe('pass'); // fault rows do not gate; recovery held
  });

  it('a baseline miss of a profile objective makes the run inconclusive; a profile the run lacks is said', async () => {
    const { t, model } = target();
    const { result } = await runFlows(SCENARIO, t, {
      faults: model,
      slo: `services:
  api:
    availability: 90%
    profiles:
      chat.open: { latency: { max: 10ms } }
      checkout: { availability: 99% }
`,
    });
    const v = result.verdict!;
    expect(v.status).toBe('inconclusive');
    expect(v.reasons).toContain(
      'baseline already misses latency max of chat.open ≤ 10ms (20ms vs ≤ 10ms): the system was not healthy before any fault',
    );
    expect(v.reasons).toContain(
      'the SLO names profile "checkout", which this run does not have (it has: chat.open, chat.answer, chat): its objectives were not judged',
    );
    expect(v.objectives.filter((o) => o.profile === 'checkout').every((o) => o.pass === null)).toBe(true);
  });

  it('OpenSLO: metadata annotation chaoskit.io/profile names the profile', async () => {
    const { t, model } = target();
    const { result } = await runFlows(SCENARIO, t, {
      faults: model,
      slo: `apiVersion: openslo/v1
kind: SLO
metadata:
  name: answer-latency
  annotations: { chaoskit.io/profile: chat.answer }
spec:
  service: api
  budgetingMethod: Occurrences
  indicator:
    metadata: { name: answer-latency }
    spec:
      thresholdMetric: { metricSource: { type: chaoskit, spec: { metric: latency } } }
  objectives:
    - { displayName: fast answers, op: lte, value: 100, target: 0.95 }
`,
    });
    const rows = result.verdict!.objectives.filter((o) => o.profile === 'chat.answer');
    expect(rows.map((o) => [o.phase, o.pass])).toEqual([
      ['baseline', true],
      ['fault', false],
      ['recovery', true],
    ]);
    expect(rows[0]!.name).toBe('answer-latency: 95% of requests within 100ms (chat.answer)');
  });

  it('refuses a windowed threshold on a profile (exit 2)', () => {
    expect(() =>
      loadScenario(
        flowScenario(
          SCENARIO,
          {},
          `services:\n  api:\n    profiles:\n      chat.answer: { thresholds: ['p(95)<500 over 10s'] }\n`,
        ),
      ),
    ).toThrow(
      /slo\.yaml:4:35: services\.api\.profiles\.chat\.answer\.thresholds\[0\]: a profile threshold has no window/,
    );
  });
});
