/** Capacity probes: judged up to the knee; a failing first step fails the run (issue 12, capacity at --time-scale). */
import { describe, expect, it } from 'vitest';
import { newHistogram, recordMs } from '../../src/core/hist.ts';
import { judgeCapacityStep, kneeOf } from '../../src/slo/capacity.ts';
import { objectivesFor } from '../../src/slo/objectives.ts';
import { score } from '../../src/slo/score.ts';
import { synthetic } from '../reporters/synthetic.ts';

const so = objectivesFor(
  {
    file: 'slo.yaml',
    services: { api: { availability: 0.99, latency: { p99: 100 }, holdFor: 3000, thresholds: [] } },
    openslo: [],
  },
  'api',
);

function step(connections: number, startMs: number, endMs: number, ms: number, ok = 100, failed = 0) {
  const hist = newHistogram();
  for (let i = 0; i < ok + failed; i++) recordMs(hist, ms);
  return judgeCapacityStep(so, { connections, startMs, endMs, ok, failed, hist });
}

describe('capacity probes', () => {
  it('a step shorter than a second is judged on its own requests, not on whole seconds', () => {
    const s = step(4, 1278, 2330, 20, 320);
    expect(s).toMatchObject({ connections: 4, requests: 320, pass: true, failed: [] });
    expect(s.throughput).toBeCloseTo(320 / 1.052, 0);
    const slow = step(16, 3430, 4468, 190, 242);
    expect(slow.pass).toBe(false);
    expect(slow.failed).toEqual(['latency p99 ≤ 100ms (190ms)']);
    expect(step(32, 0, 500, 1, 0).failed).toEqual(['no request completed in the step']);
  });

  it('steps past the knee miss by design: the run is judged up to the knee and passes', () => {
    const steps = [step(2, 0, 2000, 10), step(4, 2000, 4000, 20), step(8, 4000, 6000, 300)];
    expect(kneeOf(steps)).toEqual({ connections: 4, throughput: 50 });
    const r = synthetic({
      seconds: 6,
      at: (t) => ({ ok: 100, failed: 0, ms: t >= 4 ? 300 : 10 }),
      slo: { p99: 100, budget: false, recovery: null },
    });
    r.capacity = { steps, knee: kneeOf(steps), peak: null };
    const v = score(r, so);
    expect(v.status).toBe('pass');
    expect(v.phases.find((p) => p.name === 'baseline')!.seconds).toEqual([0, 1, 2, 3]);
  });

  it('a first step that already misses fails the run, saying so', () => {
    const steps = [step(2, 0, 2000, 300)];
    const r = synthetic({ seconds: 2, at: () => ({ ok: 100, failed: 0, ms: 300 }) });
    r.capacity = { steps, knee: null, peak: null };
    const v = score(r, so);
    expect(v.status).toBe('fail');
    expect(v.reasons).toContain(
      'capacity: even the first step (2 connections) missed latency p99 ≤ 100ms (300ms)',
    );
  });
});
