/** Think-time distributions (seeded), repeats and loops, in simulated time. */
import { describe, expect, it } from 'vitest';
import type { Session } from '../../src/load/sessions.ts';
import { parseThink } from '../../src/scenario/flow-schema.ts';
import { runFlows } from './helpers.ts';
import type { FlowTarget, SimRequest } from './sim-flows.ts';

const fast: FlowTarget = { answer: () => ({ latencyMs: 5 }) };

const flow = (steps: string, rate = 20, seconds = 10) => `load:
  target: api
  connections: 10000
  pattern: [{ kind: constant, rate: ${rate}, duration: ${seconds}s }]
  requests:
    - name: f
      steps:
${steps}`;

/** Per session, the sends of its requests in order. */
function bySession(seen: readonly SimRequest[]): SimRequest[][] {
  const m = new Map<Session | null, SimRequest[]>();
  for (const r of seen) m.set(r.session, [...(m.get(r.session) ?? []), r]);
  return [...m.values()];
}

/** Think times drawn: from the end of A (sent + 5 ms) to the send of B. */
async function thinks(think: string): Promise<number[]> {
  const { load } = await runFlows(
    flow(`        - { name: a, path: /a }\n        - think: ${think}\n        - { name: b, path: /b }\n`),
    fast,
  );
  return bySession(load.seen).map(([a, b]) => b!.sentMs - (a!.sentMs + 5));
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('think times', () => {
  it('parses fixed, uniform and exponential; refuses a number without a unit', () => {
    expect(parseThink('1.5s')).toEqual({ kind: 'fixed', ms: 1500 });
    expect(parseThink('uniform(1s, 3s)')).toEqual({ kind: 'uniform', minMs: 1000, maxMs: 3000 });
    expect(parseThink('exponential(2s)')).toEqual({ kind: 'exponential', meanMs: 2000 });
    expect(parseThink('3')).toBe(
      '"3" has no unit: write 3s or 3ms (expected a think time like 2s, uniform(1s, 3s) or exponential(2s))',
    );
    expect(parseThink('uniform(3s, 1s)')).toBe('uniform(3s, 1s): the minimum is above the maximum');
    expect(parseThink('uniform(1, 3s)')).toBe('"1" has no unit: write 1s or 1ms');
    expect(parseThink('normal(1s)')).toMatch(/^expected a duration like 250ms or 2s, got "normal\(1s\)"/);
  });

  it('fixed: every gap is exactly the think time', async () => {
    const xs = await thinks('700ms');
    expect(xs).toHaveLength(200);
    for (const x of xs) expect(x).toBeCloseTo(700, 6);
  });

  it('uniform(1s, 3s): within bounds, mean near 2 s, spread over the range', async () => {
    const xs = await thinks('uniform(1s, 3s)');
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...xs)).toBeLessThanOrEqual(3000);
    expect(mean(xs)).toBeGreaterThan(1850);
    expect(mean(xs)).toBeLessThan(2150);
    expect(xs.filter((x) => x < 1500).length).toBeGreaterThan(25); // about 50 of 200
    expect(xs.filter((x) => x > 2500).length).toBeGreaterThan(25);
  });

  it('exponential(500ms): mean near 500 ms, median near 500·ln 2', async () => {
    const xs = (await thinks('exponential(500ms)')).sort((a, b) => a - b);
    expect(mean(xs)).toBeGreaterThan(420);
    expect(mean(xs)).toBeLessThan(580);
    const median = xs[xs.length >> 1]!;
    expect(median).toBeGreaterThan(280);
    expect(median).toBeLessThan(420);
  });

  it('is seeded: the same seed draws the same think times', async () => {
    expect(await thinks('uniform(1s, 3s)')).toEqual(await thinks('uniform(1s, 3s)'));
  });
});

describe('repeat and loop', () => {
  it('repeat: N sends a step N times in a row', async () => {
    const { load, result } = await runFlows(
      flow(`        - { name: a, path: /a, repeat: 3 }\n        - { name: b, path: /b }\n`, 5, 2),
      fast,
    );
    for (const s of bySession(load.seen)) expect(s.map((r) => r.name)).toEqual(['f.a', 'f.a', 'f.a', 'f.b']);
    expect(result.profiles!['f.a']!.sent).toBe(30);
  });

  it('loop with repeat uniform(3, 6): each session runs 3 to 6 turns, all of them seen', async () => {
    const { load, result } = await runFlows(
      flow(
        `        - { name: open, method: POST, path: /c }
        - loop:
            repeat: uniform(3, 6)
            steps:
              - { name: ask, method: POST, path: /m }
              - think: 100ms
        - { name: close, method: DELETE, path: /c }
`,
        10,
        10,
      ),
      fast,
    );
    const turns = bySession(load.seen).map((s) => s.filter((r) => r.name === 'f.ask').length);
    expect(turns).toHaveLength(100);
    expect(new Set(turns)).toEqual(new Set([3, 4, 5, 6]));
    expect(mean(turns)).toBeGreaterThan(4.1);
    expect(mean(turns)).toBeLessThan(4.9);
    for (const s of bySession(load.seen)) {
      expect(s[0]!.name).toBe('f.open');
      expect(s[s.length - 1]!.name).toBe('f.close');
    }
    expect(result.sessions!.flows.f!.steps).toEqual(['open', 'ask', 'close']);
  });
});
