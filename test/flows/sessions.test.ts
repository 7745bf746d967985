/**
 * Flows in the open model, in simulated time: each step is an arrival of its own when it comes
 * due, sessions are counted beside the timeline, failures end sessions at their step, and the
 * accounting holds per second, per profile and in totals.
 */
import { describe, expect, it } from 'vitest';
import type { FlowTarget } from './sim-flows.ts';
import { runFlows } from './helpers.ts';

/** login → profile (Bearer token) → logout, with a fixed 1 s think between steps. */
const LOGIN_FLOW = `load:
  target: api
  pattern: [{ kind: constant, rate: 10, duration: 5s }]
  requests:
    - name: shop
      steps:
        - { name: login, method: POST, path: /login, body: '{"user":"u{{seq}}"}', capture: { token: 'json:$.token' } }
        - think: 1s
        - { name: profile, path: /me, headers: { authorization: 'Bearer {{token}}' } }
        - think: 1s
        - { name: logout, method: POST, path: /logout, headers: { authorization: 'Bearer {{token}}' } }
`;

/** Answers login with a fresh token; checks the token on the other steps. */
function shop(
  opts: { latencyMs?: number; failProfileAfterMs?: number } = {},
): FlowTarget & { tokens: Set<string> } {
  let n = 0;
  const tokens = new Set<string>();
  return {
    tokens,
    answer(req) {
      const latencyMs = opts.latencyMs ?? 20;
      if (req.path === '/login') {
        const token = `t${++n}`;
        tokens.add(token);
        return { latencyMs, body: JSON.stringify({ token }) };
      }
      const auth = req.headers?.authorization ?? '';
      if (!tokens.has(auth.replace('Bearer ', ''))) return { latencyMs, status: 401 };
      if (
        req.path === '/me' &&
        opts.failProfileAfterMs !== undefined &&
        req.sentMs >= opts.failProfileAfterMs
      )
        return { latencyMs, status: 503 };
      return { latencyMs, body: '{"ok":true}' };
    },
  };
}

describe('flows in the open model (simulated time)', () => {
  it('counts every step as an arrival when it comes due, with the captured token in later headers', async () => {
    const target = shop();
    const { result, load } = await runFlows(LOGIN_FLOW, target);
    // 50 sessions × 3 requests, all ok.
    expect(result.totals.requested).toBe(150);
    expect(result.totals.ok).toBe(150);
    // Steps land in the second they came due: logins in seconds 0-4, profiles 1.02 s later, logouts 2.04 s later.
    expect(result.timeline.map((s) => s.requested)).toEqual([10, 20, 30, 30, 30, 20, 10]);
    const byName = (n: string) => load.seen.filter((r) => r.name === n);
    expect(byName('shop.login')).toHaveLength(50);
    // Every later step carried a token that the target handed out, never an empty one.
    for (const r of [...byName('shop.profile'), ...byName('shop.logout')])
      expect(target.tokens.has(r.headers!.authorization!.replace('Bearer ', ''))).toBe(true);
    const p = result.profiles!;
    expect(Object.keys(p)).toEqual(['shop.login', 'shop.profile', 'shop.logout']);
    expect(p['shop.profile']).toMatchObject({ flow: 'shop', step: 'profile', sent: 50, ok: 50, failed: 0 });
    // Latency of a later step counts from when it came due (previous end + think): 20 ms, not 1 s.
    expect(p['shop.profile']!.latencyMs!.max).toBeLessThan(25);
    const f = result.sessions!.flows.shop!;
    expect(f).toMatchObject({
      started: 50,
      completed: 50,
      failed: 0,
      stopped: 0,
      steps: ['login', 'profile', 'logout'],
    });
    // 3 × 20 ms answers + 2 × 1 s think.
    expect(f.durationMs!.p50).toBeGreaterThanOrEqual(2059);
    expect(f.durationMs!.max).toBeLessThan(2062);
    // Concurrency: ~10 new sessions a second, each 2.06 s long: about 20.6 active once it settles.
    const mid = result.sessions!.timeline[3]!;
    expect(mid.active.mean).toBeGreaterThan(19);
    expect(mid.active.mean).toBeLessThan(22);
    expect(result.sessions!.model).toBe('open');
  });

  it('sessions fail at the step that fails, and their later steps are never sent', async () => {
    const target = shop({ failProfileAfterMs: 2000 });
    const { result, load } = await runFlows(LOGIN_FLOW, target);
    const f = result.sessions!.flows.shop!;
    // Sessions that reach /me at or after 2 s: those started at 1 s or later (40 of 50).
    expect(f.failed).toBe(40);
    expect(f.failedAt).toEqual({ profile: 40 });
    expect(f.completed).toBe(10);
    expect(load.seen.filter((r) => r.name === 'shop.logout')).toHaveLength(10);
    expect(result.profiles!['shop.profile']!.errors).toEqual({ http_5xx: 40 });
    expect(result.totals.requested).toBe(50 + 50 + 10);
  });

  it('onFail: continue goes on after a failed step', async () => {
    const target = shop({ failProfileAfterMs: 0 });
    const { result } = await runFlows(
      LOGIN_FLOW.replace('- name: shop', '- name: shop\n      onFail: continue'),
      target,
    );
    const f = result.sessions!.flows.shop!;
    expect(f.completed).toBe(50);
    expect(result.profiles!['shop.logout']!.ok).toBe(50);
    expect(result.profiles!['shop.profile']!.failed).toBe(50);
  });

  it('a capture that never matched fails the step that uses it with kind check, and that step is not sent', async () => {
    const target: FlowTarget = {
      answer: (req) => (req.path === '/login' ? { latencyMs: 5, body: '{"no":"token"}' } : { latencyMs: 5 }),
    };
    const { result, load } = await runFlows(LOGIN_FLOW, target);
    expect(load.seen.filter((r) => r.name === 'shop.profile')).toHaveLength(0);
    const p = result.profiles!['shop.profile']!;
    expect(p.errors).toEqual({ check: 50 });
    expect(p.checks).toEqual({
      'not sent: variable token is unset: the step that captures it did not match': 50,
    });
    expect(result.profiles!['shop.login']!.captureMisses).toEqual({ token: 50 });
    expect(result.sessions!.flows.shop!.failedAt).toEqual({ profile: 50 });
    expect(result.totals.errors).toEqual({ check: 50 });
  });

  it('an abort mid-session stops sessions: steps already due are not sent, in flight cancelled, accounting exact', async () => {
    const target = shop({ latencyMs: 300 });
    const { result } = await runFlows(LOGIN_FLOW, target, { abortAtMs: 2_500 });
    expect(result.status).toBe('aborted');
    const f = result.sessions!.flows.shop!;
    expect(f.started).toBe(f.completed + f.failed + f.stopped);
    expect(f.stopped).toBeGreaterThan(0);
    expect(result.totals.cancelled).toBeGreaterThan(0);
  });

  it('sessions running when the pattern ends finish within gracefulStop; with 0 they stop', async () => {
    const target = shop();
    const full = await runFlows(LOGIN_FLOW, target);
    // The last sessions start at 4.95 s and end at ~7 s: all finished.
    expect(full.result.sessions!.flows.shop!.completed).toBe(50);
    const cut = await runFlows(
      LOGIN_FLOW.replace('  target: api\n', '  target: api\n  gracefulStop: 0s\n'),
      shop(),
    );
    const f = cut.result.sessions!.flows.shop!;
    expect(f.stopped).toBeGreaterThan(0);
    expect(f.completed + f.stopped + f.failed).toBe(50);
    // A stopped session's remaining steps never came due: they are not requested at all.
    expect(cut.result.totals.notSent).toBe(0);
  });
});
