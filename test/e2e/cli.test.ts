import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoEnv, freePort, runCli, SCENARIOS } from '../helpers/cli.ts';
import { MINIMAL, writeScenario } from '../helpers/files.ts';

// Every test here starts its own CLI processes, with their own temporary files, state directories
// and ports: they run side by side, so the few that wait (an unreachable target) overlap with the
// rest.
describe.concurrent('chaos CLI end to end', () => {
  it('--help lists the commands and the exit codes', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const c of [
      'run <scenario>',
      'plan <scenario>',
      'validate <files..>',
      'list',
      'emergency-stop',
      'status',
      'proxy',
      'demo',
    ]) {
      expect(r.stdout).toContain(c);
    }
    expect(r.stdout).toContain('4  a fault could not be reverted');
  });

  it('an unknown command is a usage error (exit 2)', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Unknown argument: frobnicate');
  });

  it('list shows every built-in scenario with its description', async () => {
    const r = await runCli(['list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/spike-with-partition\s+Traffic spikes 10x/);
    expect(r.stdout).not.toContain('invalid');
  });

  it('plan prints the rate chart, phases, fault windows and totals', async () => {
    const r = await runCli(['plan', 'spike-with-partition']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('500/s │');
    expect(r.stdout).toContain('partition → api->dependency (32s–47s)');
    expect(r.stdout).toContain('duration 1m34s, ~14600 requests, peak 500/s at 32s, 1 fault window(s)');
  });

  it('validate: exit 0 for good files, 2 with file:line:col for bad ones', async () => {
    const bad = writeScenario(MINIMAL.replace('10s }', '-1s }'));
    const [good, r] = await Promise.all([
      runCli(['validate', 'spike-with-partition', 'scenarios/slo.yaml', 'scenarios/environments/demo.yaml']),
      runCli(['validate', bad]),
    ]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('ok  scenarios/slo.yaml (slo)');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'scenario.yaml:6:45: load.pattern[0].duration: expected a duration like 250ms, 2s or 1m30s, got "-1s"',
    );
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('a rate above the safety cap needs --force', async () => {
    const f = writeScenario(MINIMAL.replace('rate: 10', 'rate: 60000'));
    const [r, forced] = await Promise.all([
      runCli(['run', f, '--dry-run']),
      runCli(['run', f, '--dry-run', '--force']),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'load.pattern[0]: peak rate 60000/s is above the 50000/s safety cap; pass --force if you mean it',
    );
    expect(forced.code).toBe(0);
  });

  it('an unreachable target at start is invalid input (exit 2), not a crash', async () => {
    const port = await freePort();
    const f = writeScenario(MINIMAL, `targets:\n  api: { kind: http, url: "http://127.0.0.1:${port}" }\n`);
    const r = await runCli(['run', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /load target api \(http:\/\/127\.0\.0\.1:\d+\/, from .*env\.yaml\) is not reachable at start: ECONNREFUSED/,
    );
  });

  it('bad flags are usage errors (exit 2 before anything starts), never ignored', async () => {
    const bad = async (args: string[], message: string) => {
      const r = await runCli(['run', 'spike-with-partition', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toBe(`chaos: ${message}\n`);
    };
    // Independent processes: start them all at once.
    const missing = runCli(['run', 'no-such-scenario']);
    await Promise.all([
      bad(['--time-scale', '0'], '--time-scale must be a number from 0.01 to 100, got 0'),
      bad(['--time-scale', '1e-9'], '--time-scale must be a number from 0.01 to 100, got 1e-9'),
      bad(['--min-score', 'abc'], '--min-score must be a number from 0 to 100, got NaN'),
      bad(['--min-score', '101'], '--min-score must be a number from 0 to 100, got 101'),
      bad(['--prometheus', 'abc'], '--prometheus must be a port number from 0 to 65535, got NaN'),
      bad(['--pushgateway', 'nope'], '--pushgateway must be an http:// or https:// URL, got "nope"'),
    ]);
    expect((await missing).stderr).toMatch(/no-such-scenario\.yaml: cannot read the scenario: no such file/);
  });

  // A built-in scenario run end to end on the demo system, its results.json validated against the
  // schema and its --reporter files: test/e2e/prometheus.test.ts, on the run it watches.

  it('two demo services moved to one port: exit 2 naming both variables, before any load', async () => {
    const env = await demoEnv();
    const r = await runCli(['run', 'constant-baseline'], {
      ...env,
      CHAOSKIT_DEMO_HOP_PORT: env.CHAOSKIT_DEMO_API_PORT,
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      `chaos: CHAOSKIT_DEMO_API_PORT and CHAOSKIT_DEMO_HOP_PORT are both ${env.CHAOSKIT_DEMO_API_PORT}: each demo service needs a port of its own`,
    );
    expect(r.stderr).not.toContain('chaos: chaos:');
    expect(r.stderr).not.toContain('running constant-baseline');
  });

  // Ctrl-C, SIGTERM and SIGHUP through the real CLI, with partial results and exit 3:
  // test/e2e/stops.test.ts (at the spike of spike-with-partition on the demo system).

  it('--dry-run prints the plan and sends nothing', async () => {
    const r = await runCli(['run', 'ramp-with-latency', '--dry-run', '--time-scale', '0.5']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('dry run: nothing was sent');
    expect(r.stdout).toContain('time scale 0.5');
  });

  it('the JSON Schemas in schemas/ are generated from the current zod schemas', async () => {
    const { jsonSchemas } = await import('../../src/schemas.ts');
    for (const [name, schema] of Object.entries(jsonSchemas())) {
      const onDisk = readFileSync(join(import.meta.dirname, '../../schemas', name), 'utf8');
      expect(onDisk, `schemas/${name} is stale: run npm run schemas`).toBe(
        `${JSON.stringify(schema, null, 2)}\n`,
      );
    }
  });
});

describe.concurrent('machine-readable output, completion and start-up (chaos CLI)', () => {
  it('list --json: every built-in scenario with its file and description', async () => {
    const r = await runCli(['list', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { scenarios: { name: string; file: string; description: string }[] };
    const names = out.scenarios.map((s) => s.name);
    expect(names).toEqual(
      readdirSync(SCENARIOS)
        .filter((f) => f.endsWith('.yaml') && f !== 'slo.yaml')
        .map((f) => f.slice(0, -5))
        .sort(),
    );
    const spike = out.scenarios.find((s) => s.name === 'spike-with-partition')!;
    expect(spike.description).toMatch(/^Traffic spikes 10x/);
    expect(spike.file).toBe(join(SCENARIOS, 'spike-with-partition.yaml'));
    expect(out.scenarios.every((s) => !('error' in s))).toBe(true);
  });

  it('every built-in scenario validates (list reads them without validating)', async () => {
    const names = readdirSync(SCENARIOS)
      .filter((f) => f.endsWith('.yaml') && f !== 'slo.yaml')
      .map((f) => f.slice(0, -5));
    const r = await runCli(['validate', '--json', ...names]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true });
  });

  it('validate --json: one entry per file, problems located by file, line, column and field', async () => {
    const bad = writeScenario(MINIMAL.replace('10s }', '-1s }'));
    const [r, missing] = await Promise.all([
      runCli(['validate', '--json', 'scenarios/slo.yaml', bad]),
      runCli(['validate', '--json', '/nonexistent/x.yaml']),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      ok: false,
      files: [
        {
          input: 'scenarios/slo.yaml',
          file: join(SCENARIOS, 'slo.yaml'),
          kind: 'slo',
          ok: true,
          problems: [],
        },
        {
          input: bad,
          file: bad,
          kind: 'scenario',
          ok: false,
          problems: [
            {
              file: bad,
              line: 6,
              col: 45,
              path: 'load.pattern[0].duration',
              message: 'expected a duration like 250ms, 2s or 1m30s, got "-1s"',
            },
          ],
        },
      ],
    });
    const entry = (JSON.parse(missing.stdout) as { files: { problems: { message: string }[] }[] }).files[0]!;
    expect(entry.problems).toHaveLength(1);
    expect(entry.problems[0]!.message).toMatch(/x\.yaml: cannot read the scenario: no such file/);
  });

  it('plan --json: phases, fault windows and totals as numbers', async () => {
    const r = await runCli(['plan', 'spike-with-partition', '--json']);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(plan).toMatchObject({
      scenario: 'spike-with-partition',
      file: join(SCENARIOS, 'spike-with-partition.yaml'),
      environment: join(SCENARIOS, 'environments', 'demo.yaml'),
      seed: 0,
      timeScale: 1,
      durationMs: 94_000,
      peakRate: 500,
      peakAtMs: 32_000,
    });
    expect(Math.round(plan.expectedRequests)).toBe(14_600);
    expect(plan.phases.map((p: { kind: string }) => p.kind)).toEqual(['constant', 'spike', 'constant']);
    expect(plan.faults).toEqual([
      {
        id: 'f1',
        type: 'partition',
        target: 'api->dependency',
        startMs: 32_000,
        endMs: 47_000,
        probability: 1,
        params: expect.any(Object),
      },
    ]);
  });

  it('completion prints a script that asks chaos for completions; they hold the commands and scenario names', async () => {
    const [script, ...completions] = await Promise.all([
      runCli(['completion']),
      runCli(['--get-yargs-completions', 'chaos', '']),
      runCli(['--get-yargs-completions', 'chaos', 'run', 'spi']),
      runCli(['--get-yargs-completions', 'chaos', 'proxy', '--']),
    ]);
    expect(script.code).toBe(0);
    expect(script.stdout).toContain('chaos --get-yargs-completions');
    expect(script.stdout).toContain('complete -o bashdefault -o default -F _chaos_yargs_completions chaos');
    const [commands, scenarios, flags] = completions.map((c) => c.stdout.split('\n')) as [
      string[],
      string[],
      string[],
    ];
    for (const c of ['run', 'plan', 'validate', 'list', 'emergency-stop', 'status', 'proxy', 'completion'])
      expect(commands).toContain(c);
    expect(commands.some((c) => c.startsWith('_'))).toBe(false); // helpers stay hidden
    expect(scenarios).toContain('spike-with-partition');
    expect(flags).toEqual(expect.arrayContaining(['--allow', '--token', '--port']));
  });

  it('a second chaos proxy on a taken port is exit 2 with one paragraph naming the port', async () => {
    const port = await freePort();
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(port, '127.0.0.1', r));
    try {
      const r = await runCli(['proxy', '--port', String(port)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `chaos: proxy api cannot listen on 127.0.0.1 port ${port}: port ${port} is already in use on 127.0.0.1 ` +
          '(another chaos proxy or toxiproxy-server?); stop it or choose another port with --port\n',
      );
    } finally {
      await new Promise<void>((r) => taken.close(() => r()));
    }
  });
});
