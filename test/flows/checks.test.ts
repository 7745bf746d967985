/**
 * Every capture kind and every expect check, on simulated answers (the same code the HTTP engine
 * runs on real ones: src/load/http-bodies.ts inspectAnswer), in simulated time.
 */
import { describe, expect, it } from 'vitest';
import type { FlowTarget } from './sim-flows.ts';
import { runFlows } from './helpers.ts';

const flow = (steps: string, rate = 5, seconds = 2) => `load:
  target: api
  pattern: [{ kind: constant, rate: ${rate}, duration: ${seconds}s }]
  requests:
    - name: f
      steps:
${steps}`;

describe('captures', () => {
  it('json, header, regex and status captures feed later paths, headers and bodies', async () => {
    const target: FlowTarget = {
      answer: (req) =>
        req.path === '/start'
          ? {
              latencyMs: 5,
              status: 201,
              headers: { 'X-Conversation': 'conv-7' },
              body: '{"user":{"id":42,"tags":["a","b"]},"note":"order=A-991;"}',
            }
          : { latencyMs: 5 },
    };
    const { load, result } = await runFlows(
      flow(`        - name: start
          method: POST
          path: /start
          capture:
            uid: 'json:$.user.id'
            tag: "json:$.user.tags[1]"
            conv: 'header:x-conversation'
            order: 'regex:order=([A-Z]-\\d+);'
            code: status
        - name: use
          method: POST
          path: /users/{{uid}}/conv/{{conv}}
          headers: { x-order: '{{order}}' }
          body: '{"tag":"{{tag}}","code":{{code}}}'
`),
      target,
    );
    const uses = load.seen.filter((r) => r.name === 'f.use');
    expect(uses).toHaveLength(10);
    for (const u of uses) {
      expect(u.path).toBe('/users/42/conv/conv-7');
      expect(u.headers!['x-order']).toBe('A-991');
      expect(u.body).toBe('{"tag":"b","code":201}');
    }
    expect(result.sessions!.flows.f!.completed).toBe(10);
    expect(result.profiles!['f.start']!.captureMisses).toBeUndefined();
  });

  it('a capture that finds nothing unsets its variable, even when an earlier answer had set it', async () => {
    let n = 0;
    const target: FlowTarget = {
      answer: (req) =>
        req.path === '/turn'
          ? { latencyMs: 5, body: ++n % 2 === 1 ? '{"next":"x"}' : '{}' }
          : { latencyMs: 5 },
    };
    const { load, result } = await runFlows(
      flow(
        `        - loop:
            repeat: 2
            steps:
              - { name: turn, path: /turn, capture: { next: 'json:$.next' } }
              - { name: follow, path: '/follow/{{next}}' }
`,
        1,
        1,
      ),
      target,
    );
    // Turn 1 captured "x" and followed it; turn 2 found nothing: follow is not sent with the stale value.
    expect(load.seen.filter((r) => r.name === 'f.follow').map((r) => r.path)).toEqual(['/follow/x']);
    expect(result.profiles!['f.follow']!.errors).toEqual({ check: 1 });
    expect(result.profiles!['f.turn']!.captureMisses).toEqual({ next: 1 });
  });
});

describe('expect', () => {
  const answers: FlowTarget = {
    answer: (req) => {
      switch (req.path) {
        case '/created':
          return { latencyMs: 5, status: 202, body: '{"ok":true}' };
        case '/json':
          return { latencyMs: 5, body: '{"ok":false,"n":[1,2]}' };
        case '/text':
          return { latencyMs: 5, body: 'hello world' };
        case '/slow':
          return { latencyMs: 300, body: 'late' };
        default:
          return { latencyMs: 5, body: '{"ok":true,"n":[1,2]}' };
      }
    },
  };
  const one = (step: string) =>
    runFlows(flow(`        - ${step}\n        - { name: after, path: /after }\n`, 4, 1), answers);

  it('status: a status outside the list is a check failure; the session ends at that step', async () => {
    const { result } = await one(`{ name: s, path: /created, expect: { status: [200, 201] } }`);
    const p = result.profiles!['f.s']!;
    expect(p.errors).toEqual({ check: 4 });
    expect(p.checks).toEqual({ 'status 202 is not one of 200, 201': 4 });
    expect(result.sessions!.flows.f!.failedAt).toEqual({ s: 4 });
    expect(result.profiles!['f.after']!.requested).toBe(0);
    const ok = await one(`{ name: s, path: /created, expect: { status: 202 } }`);
    expect(ok.result.profiles!['f.s']!.ok).toBe(4);
  });

  it('json: each path must equal its value (deep equality)', async () => {
    const bad = await one(`{ name: s, path: /json, expect: { json: { '$.ok': true } } }`);
    expect(bad.result.profiles!['f.s']!.checks).toEqual({ '$.ok is false, expected true': 4 });
    const good = await one(
      `{ name: s, path: /other, expect: { json: { '$.ok': true, '$.n': [1, 2], '$.n[1]': 2 } } }`,
    );
    expect(good.result.profiles!['f.s']!.ok).toBe(4);
    const missing = await one(`{ name: s, path: /other, expect: { json: { '$.nope': 1 } } }`);
    expect(missing.result.profiles!['f.s']!.checks).toEqual({ '$.nope is not in the body': 4 });
    const notJson = await one(`{ name: s, path: /text, expect: { json: { '$.ok': true } } }`);
    expect(notJson.result.profiles!['f.s']!.checks).toEqual({ 'the body is not JSON': 4 });
  });

  it('bodyContains', async () => {
    const good = await one(`{ name: s, path: /text, expect: { bodyContains: 'lo wo' } }`);
    expect(good.result.profiles!['f.s']!.ok).toBe(4);
    const bad = await one(`{ name: s, path: /text, expect: { bodyContains: 'bye' } }`);
    expect(bad.result.profiles!['f.s']!.checks).toEqual({ 'the body does not contain "bye"': 4 });
  });

  it('maxDuration: measured from when the step came due', async () => {
    const bad = await one(`{ name: s, path: /slow, expect: { maxDuration: 250ms } }`);
    expect(bad.result.profiles!['f.s']!.checks).toEqual({ 'took longer than maxDuration 250ms': 4 });
    const good = await one(`{ name: s, path: /slow, expect: { maxDuration: 400ms } }`);
    expect(good.result.profiles!['f.s']!.ok).toBe(4);
  });

  it('onFail: continue on one step lets the session go on after its failed check', async () => {
    const { result } = await one(`{ name: s, path: /created, expect: { status: 200 }, onFail: continue }`);
    expect(result.profiles!['f.s']!.failed).toBe(4);
    expect(result.profiles!['f.after']!.ok).toBe(4);
    expect(result.sessions!.flows.f!.completed).toBe(4);
  });

  it('an HTTP failure keeps its own kind (a 503 is http_5xx, not check)', async () => {
    const target: FlowTarget = { answer: () => ({ latencyMs: 5, status: 503 }) };
    const { result } = await runFlows(
      flow(`        - { name: s, path: /x, expect: { status: 200 } }\n`, 2, 1),
      target,
    );
    expect(result.profiles!['f.s']!.errors).toEqual({ http_5xx: 2 });
  });
});
