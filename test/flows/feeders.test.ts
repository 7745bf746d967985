/** Data feeders: CSV and JSON lines, in sequential, random and unique order; exhaustion; bad files. */
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/input/load.ts';
import { flowScenario, runFlows } from './helpers.ts';
import type { FlowTarget } from './sim-flows.ts';

const USERS = 'user,password\nada,a1\nbob,"b,2"\ncy,"c""3"\ndee,d4\n';
const fast: FlowTarget = { answer: () => ({ latencyMs: 5 }) };

const flow = (data: string, rate = 4, seconds = 2) => `load:
  target: api
  pattern: [{ kind: constant, rate: ${rate}, duration: ${seconds}s }]
  requests:
    - name: login
      data: ${data}
      steps:
        - { name: in, method: POST, path: /login, body: '{{data.user}}:{{data.password}}' }
        - { name: me, path: '/users/{{data.user}}' }
`;

describe('data feeders', () => {
  it('sequential: one row per session, in file order, round and round; a session keeps its row', async () => {
    const { load, result } = await runFlows(flow('{ file: users.csv }'), fast, {
      files: { 'users.csv': USERS },
    });
    const logins = load.seen.filter((r) => r.name === 'login.in').map((r) => r.body);
    expect(logins).toEqual([
      'ada:a1',
      'bob:b,2',
      'cy:c"3',
      'dee:d4',
      'ada:a1',
      'bob:b,2',
      'cy:c"3',
      'dee:d4',
    ]);
    for (const r of load.seen.filter((x) => x.name === 'login.me'))
      expect(r.path).toBe(`/users/${r.session!.row!.user}`);
    expect(result.sessions!.data).toEqual([
      {
        file: expect.stringMatching(/users\.csv$/),
        order: 'sequential',
        rows: 4,
        used: 8,
        wrapped: 0,
        exhaustedAtMs: null,
        refused: 0,
      },
    ]);
  });

  it('random: seeded picks from the file', async () => {
    const a = await runFlows(flow('{ file: users.csv, order: random }', 10, 2), fast, {
      files: { 'users.csv': USERS },
    });
    const b = await runFlows(flow('{ file: users.csv, order: random }', 10, 2), fast, {
      files: { 'users.csv': USERS },
    });
    const bodies = (x: typeof a) => x.load.seen.filter((r) => r.name === 'login.in').map((r) => r.body);
    expect(bodies(a)).toEqual(bodies(b));
    expect(new Set(bodies(a)).size).toBe(4);
    expect(bodies(a).slice(0, 4)).not.toEqual(['ada:a1', 'bob:b,2', 'cy:c"3', 'dee:d4']);
  });

  it('unique: each row once; when they run out, stop: later sessions are not sent (counted), and the result says so', async () => {
    const { load, result } = await runFlows(flow('{ file: users.csv, order: unique }', 4, 2), fast, {
      files: { 'users.csv': USERS },
    });
    const logins = load.seen.filter((r) => r.name === 'login.in').map((r) => r.body);
    expect([...logins].sort()).toEqual(['ada:a1', 'bob:b,2', 'cy:c"3', 'dee:d4']);
    // 8 arrivals, 4 rows: 4 sessions; 4 arrivals requested and not sent.
    expect(result.totals.notSent).toBe(4);
    expect(result.profiles!['login.in']).toMatchObject({ requested: 8, sent: 4, notSent: 4 });
    expect(result.sessions!.flows.login!.started).toBe(4);
    expect(result.sessions!.data[0]).toMatchObject({ rows: 4, used: 4, refused: 4, exhaustedAtMs: 875 });
    expect(
      result.warnings.some((w) => /users\.csv: every one of its 4 rows was used once .* by t=0\.9s/.test(w)),
    ).toBe(true);
  });

  it('unique with onExhausted wrap: starts over, and counts it', async () => {
    const { load, result } = await runFlows(
      flow('{ file: users.csv, order: unique, onExhausted: wrap }', 4, 2),
      fast,
      {
        files: { 'users.csv': USERS },
      },
    );
    expect(load.seen.filter((r) => r.name === 'login.in')).toHaveLength(8);
    expect(result.sessions!.data[0]).toMatchObject({ used: 8, wrapped: 1, refused: 0 });
  });

  it('JSON lines, fed to plain requests of the mix through load.data', async () => {
    const { load } = await runFlows(
      `load:
  target: api
  data: { file: prompts.jsonl }
  pattern: [{ kind: constant, rate: 3, duration: 1s }]
  requests:
    - { name: ask, method: POST, path: /ask, body: '{"prompt":"{{data.prompt}}","n":{{data.n}}}' }
`,
      fast,
      {
        files: {
          'prompts.jsonl':
            '{"prompt":"hi","n":1}\n\n{"prompt":"why","n":2}\n{"prompt":"how","n":{"deep":true}}\n',
        },
      },
    );
    expect(load.seen.map((r) => r.body)).toEqual([
      '{"prompt":"hi","n":1}',
      '{"prompt":"why","n":2}',
      '{"prompt":"how","n":{"deep":true}}',
    ]);
  });

  it('refuses a missing, empty or ragged file, bad JSON lines and unknown fields before anything runs (exit 2)', () => {
    const problems = (body: string, files: Record<string, string>) => {
      try {
        loadScenario(flowScenario(body, files));
        return [];
      } catch (err) {
        expect((err as { exitCode?: number }).exitCode).toBe(2);
        return (err as Error).message
          .split('\n')
          .slice(1)
          .map((l) =>
            l
              .trim()
              .replace(/^\/\S+\/scenario\.yaml:/, '')
              .replace(/\/\S+\//, ''),
          );
      }
    };
    expect(problems(flow('{ file: nope.csv }'), {})).toEqual([
      '10:21: load.requests[0].data.file: nope.csv: no such file',
    ]);
    expect(problems(flow('{ file: users.csv }'), { 'users.csv': 'user,password\n' })).toEqual([
      '10:21: load.requests[0].data.file: users.csv: the file has no data rows',
    ]);
    expect(problems(flow('{ file: users.csv }'), { 'users.csv': '' })).toEqual([
      '10:21: load.requests[0].data.file: users.csv:1: the file is empty (a CSV file needs a header row)',
    ]);
    expect(
      problems(flow('{ file: users.csv }'), { 'users.csv': 'user,password\nada,a1\nbob\ncy,c3\n' }),
    ).toEqual([
      '10:21: load.requests[0].data.file: users.csv:3: the row has 1 field, the header has 2 (user, password)',
    ]);
    expect(
      problems(flow('{ file: p.jsonl }'), { 'p.jsonl': '{"user":"a","password":"b"}\n{"user":\n' }),
    ).toEqual([expect.stringMatching(/^10:21: load\.requests\[0\]\.data\.file: p\.jsonl:2: not valid JSON/)]);
    expect(
      problems(flow('{ file: users.csv }').replace('{{data.password}}', '{{data.pw}}'), {
        'users.csv': USERS,
      }),
    ).toEqual([
      '12:57: load.requests[0].steps[0].body: {{data.pw}}: users.csv has no field "pw" (it has: user, password)',
    ]);
    expect(
      problems(
        `load:\n  target: api\n  pattern: [{ kind: constant, rate: 1, duration: 1s }]\n  requests:\n    - { path: '/u/{{data.user}}' }\n`,
        {},
      ),
    ).toEqual([
      '9:15: load.requests[0].path: {{data.user}}: data fields need a data file (data: { file: … } on the load or the flow)',
    ]);
  });
});
