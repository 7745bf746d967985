/** The closed model: virtual users following a pattern of user counts, in simulated time. */
import { describe, expect, it } from 'vitest';
import { runFlows } from './helpers.ts';
import type { FlowTarget } from './sim-flows.ts';

const at50: FlowTarget = { answer: () => ({ latencyMs: 50 }) };

describe('closed model (virtual users)', () => {
  it('ramps 0 → 20 users, holds 20 exactly, ramps down; each user loops its flow with think time', async () => {
    const { result } = await runFlows(
      `load:
  target: api
  model: closed
  users:
    - { kind: ramp, from: 0, to: 20, duration: 5s }
    - { kind: constant, users: 20, duration: 10s }
    - { kind: ramp, from: 20, to: 0, duration: 5s }
  requests:
    - name: browse
      steps:
        - { name: page, path: /page }
        - think: 1s
`,
      at50,
    );
    const s = result.sessions!;
    expect(s.model).toBe('closed');
    // The plan's phases are the users' pattern: `at: peak` and phase names work on it.
    expect(result.plan.phases.map((p) => [p.name, p.peakRate])).toEqual([
      ['ramp users', 20],
      ['constant users', 20],
      ['ramp users', 20],
    ]);
    // Holding: exactly 20 users, second after second.
    for (const x of s.timeline.slice(6, 15)) {
      expect(x.target).toBe(20);
      expect(x.active.mean).toBe(20);
      expect(x.active.max).toBe(20);
    }
    // Ramping: the users follow the target within one user (they start at 50 ms ticks).
    for (const x of s.timeline.slice(0, 5))
      expect(Math.abs(x.active.mean - x.target!)).toBeLessThanOrEqual(1);
    // Each user: 50 ms answer + 1 s think → about 20 / 1.05 = 19 requests a second while holding.
    for (const x of result.timeline.slice(6, 15)) {
      expect(x.requested).toBeGreaterThanOrEqual(18);
      expect(x.requested).toBeLessThanOrEqual(21);
    }
    // A user's latency counts from when its step came due: the 50 ms answer, nothing else.
    expect(result.profiles!['browse.page']!.latencyMs!.max).toBeLessThan(51);
    const f = s.flows.browse!;
    expect(f.failed + f.stopped).toBe(0);
    expect(f.completed).toBe(f.started);
    // Ramping down, users retire as their pass ends: none is left after the pattern.
    for (const x of s.timeline.slice(15, 20))
      expect(Math.abs(x.active.mean - x.target!)).toBeLessThanOrEqual(1.5);
    expect(s.timeline.slice(21).every((x) => x.active.max === 0)).toBe(true);
  });

  it('holds 1,000 users with 1 s think exactly; each user makes a pass every 1.05 s', async () => {
    const { result } = await runFlows(
      `load:
  target: api
  model: closed
  connections: 1000
  users: [{ kind: constant, users: 1000, duration: 8s }]
  requests:
    - name: u
      steps:
        - { name: r, path: /r }
        - think: 1s
`,
      at50,
      { keepSeen: false },
    );
    const tl = result.sessions!.timeline;
    for (const x of tl.slice(0, 8)) {
      expect(x.active.mean).toBe(1000);
      expect(x.target).toBe(1000);
    }
    // Passes start at 0, 1.05, …, 7.35 s (50 ms answer + 1 s think): 8 per user.
    expect(result.totals.requested).toBe(8000);
    expect(result.totals.ok).toBe(8000);
  });

  it('a plain request mix loops too, with load.think between passes; fewer connections than users queue', async () => {
    const { result } = await runFlows(
      `load:
  target: api
  model: closed
  connections: 5
  think: 500ms
  users: [{ kind: constant, users: 10, duration: 5s }]
  requests:
    - { name: get, path: /x }
`,
      { answer: () => ({ latencyMs: 100 }) },
    );
    const p = result.profiles!.get!;
    // 10 users, 5 connections at 100 ms each: at most 50 a second; users pause 500 ms between passes.
    expect(p.sent).toBeGreaterThan(50);
    // Waiting for a connection counts: latency from when the user's request came due.
    expect(p.latencyMs!.max).toBeGreaterThan(100);
    expect(result.sessions!.timeline[2]!.active.mean).toBe(10);
  });

  it('refuses users: with the open model, pattern: with the closed one, and non-integer users', async () => {
    const { loadScenario } = await import('../../src/input/load.ts');
    const { flowScenario } = await import('./helpers.ts');
    const bad = (body: string) => {
      try {
        loadScenario(flowScenario(body));
      } catch (err) {
        return (err as Error).message
          .split('\n')
          .slice(1)
          .map((l) => l.trim().replace(/^.*scenario\.yaml:/, ''));
      }
      return [];
    };
    expect(
      bad(`load:\n  target: api\n  model: closed\n  users: [{ kind: constant, users: 2.5, duration: 5s }]\n`),
    ).toEqual(['8:36: load.users[0].users: expected a whole number of users from 0 to 1000000']);
    expect(
      bad(`load:\n  target: api\n  model: closed\n  pattern: [{ kind: constant, rate: 5, duration: 5s }]\n`),
    ).toEqual([
      '6:3: load.users: required field is missing: model closed needs users: (a pattern of user counts)',
      '8:12: load.pattern: model closed takes users: (how many virtual users over time), not a rate pattern',
    ]);
    expect(
      bad(`load:\n  target: api\n  users: [{ kind: constant, users: 2, duration: 5s }]\n  think: 1s\n`),
    ).toEqual([
      '7:10: load.users: users: needs model: closed (the open model takes a rate pattern)',
      '8:10: load.think: load.think is the pause between passes of a virtual user: it needs model: closed',
    ]);
  });
});
