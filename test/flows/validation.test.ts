/** Bad flows are refused before anything runs: exit 2, with file, line and field. */
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/input/load.ts';
import { flowScenario } from './helpers.ts';

/** The problems of a scenario whose body is `load:` with these flow steps, as `line:col: field: message`. */
function problems(steps: string, extra = ''): string[] {
  const body = `load:
  target: api
  pattern: [{ kind: constant, rate: 1, duration: 2s }]${extra}
  requests:
    - name: f
      steps:
${steps}`;
  try {
    loadScenario(flowScenario(body));
    return [];
  } catch (err) {
    expect((err as { exitCode?: number }).exitCode).toBe(2);
    return (err as Error).message
      .split('\n')
      .slice(1)
      .map((l) => l.trim().replace(/^\/\S+\/scenario\.yaml:/, ''));
  }
}

describe('flow validation', () => {
  it('accepts a well-formed flow', () => {
    expect(
      problems(`        - { name: a, path: /a, capture: { t: 'json:$.t', h: 'header:x-h', r: 'regex:id=(\\d+)', s: status } }
        - think: uniform(1s, 2s)
        - { name: b, path: '/b/{{t}}/{{r}}', headers: { x-h: '{{h}}' }, expect: { status: [200], maxDuration: 2s } }
`),
    ).toEqual([]);
  });

  it('unknown capture kinds, invalid JSON paths and regexes', () => {
    expect(
      problems(
        `        - { name: a, path: /a, capture: { t: 'xpath://t', u: 'json:token', v: 'json:$.a..b', w: 'regex:(unclosed' } }\n`,
      ),
    ).toEqual([
      '11:46: load.requests[0].steps[0].capture.t: unknown capture "xpath://t": expected json:$.PATH, header:NAME, regex:PATTERN or status',
      '11:62: load.requests[0].steps[0].capture.u: expected a JSON path starting with $, like $.token or $.items[0].id, got "token"',
      '11:79: load.requests[0].steps[0].capture.v: "$.a..b": expected a name after the dot at position 4',
      '11:97: load.requests[0].steps[0].capture.w: invalid regular expression "(unclosed": /(unclosed/: Unterminated group',
    ]);
    expect(problems(`        - { name: a, path: /a, expect: { json: { 'ok': true } } }\n`)).toEqual([
      '11:56: load.requests[0].steps[0].expect.json.ok: expected a JSON path starting with $, like $.token or $.items[0].id, got "ok"',
    ]);
  });

  it('a think time without a unit, and a variable no earlier step captures', () => {
    expect(
      problems(`        - { path: /a }\n        - think: 3\n        - { path: '/b/{{token}}' }\n`),
    ).toEqual([
      '12:18: load.requests[0].steps[1].think: 3 has no unit: write 3s or 3ms (a think time like 2s, uniform(1s, 3s) or exponential(2s))',
    ]);
    expect(
      problems(
        `        - { path: '/b/{{token}}' }\n        - { path: /a, capture: { token: 'json:$.t' } }\n`,
      ),
    ).toEqual([
      '11:19: load.requests[0].steps[0].path: {{token}}: unknown tag "token" (known: randInt, randFloat, pick, randString, uuid, seq; no earlier step captures a value by that name)',
    ]);
  });

  it('steps of mixed kinds, nested loops, repeats and flow-level fields', () => {
    expect(problems(`        - { think: 1s, path: /a }\n`)).toEqual([
      '11:30: load.requests[0].steps[0].path: a think step has only think; put path on a request step',
    ]);
    expect(
      problems(`        - loop:
            repeat: 2
            steps:
              - loop: { repeat: 2, steps: [{ path: /a }] }
`),
    ).toEqual([
      expect.stringMatching(
        /^14:17: load\.requests\[0\]\.steps\[0\]\.loop\.steps\[0\]\.loop: unknown field "loop"/,
      ),
    ]);
    expect(
      problems(`        - { path: /a, repeat: 0 }\n        - { path: /b, repeat: 'uniform(5, 2)' }\n`),
    ).toEqual([
      '11:31: load.requests[0].steps[0].repeat: expected a whole number of repeats from 1 to 100000, got 0',
      '12:31: load.requests[0].steps[1].repeat: expected 1 ≤ MIN ≤ MAX ≤ 100000 in "uniform(5, 2)"',
    ]);
    expect(
      loadFlowProblems(`load:
  target: api
  pattern: [{ kind: constant, rate: 1, duration: 2s }]
  requests:
    - { name: f, path: /x, steps: [{ path: /a }] }
    - { steps: [{ path: /b }] }
    - { path: /c, onFail: continue }
`),
    ).toEqual([
      '9:24: load.requests[0].path: a flow has steps: put path on one of its steps',
      '10:16: load.requests[1].steps: a flow needs a name: its steps are reported as NAME.STEP',
      '11:27: load.requests[2].onFail: onFail belongs to a flow (an entry with steps:)',
    ]);
  });

  it('flows need engine http (or k6): grpc and autocannon refuse them', () => {
    expect(
      loadFlowProblems(`engine: autocannon
load:
  target: api
  capacity: { connections: [1, 2], each: 2s }
  requests:
    - { name: f, steps: [{ path: /a }] }
`),
    ).toEqual([
      '10:25: load.requests[0].steps: flows run on engine http (or k6); engine autocannon sends single requests only',
    ]);
  });
});

function loadFlowProblems(body: string): string[] {
  try {
    loadScenario(flowScenario(body));
    return [];
  } catch (err) {
    return (err as Error).message
      .split('\n')
      .slice(1)
      .map((l) => l.trim().replace(/^\/\S+\/scenario\.yaml:/, ''));
  }
}
