/**
 * Fuzz: hundreds of generated scenario, environment, SLO and results files, and CLI flags, through
 * the real entry point (src/cli/main.ts `main()`, in process, stdout and stderr captured; a sample
 * through bin/chaos.mjs as a child process). Every case must end with exit 0 or 2 (never 5), with
 * no stack trace, within 5 s, and an exit 2 must say where: file:line (or the flag's name).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { main } from '../../src/cli/main.ts';
import { CLI_BIN, PACKAGE_ROOT } from '../../src/core/paths.ts';
import { tempDir } from '../helpers/files.ts';
import { partitionRun } from '../reporters/synthetic.ts';
import { int, mutant, pick, prng, type Rand } from './generate.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const CASE_MS = 5_000;

const SCENARIO = `name: fuzz
description: A scenario with every part the loader checks.
environment: ./env.yaml
slo: ./slo.yaml
seed: 7
load:
  target: api
  requests:
    - { name: read, weight: 80, method: GET, path: /items/42 }
    - { name: write, weight: 20, method: POST, path: /items, body: '{"q":1}', headers: { content-type: application/json } }
  pattern:
    - { kind: constant, rate: 50, duration: 30s }
    - { kind: spike, from: 50, to: 500, rise: 2s, hold: 20s, fall: 2s }
    - { kind: step, levels: [10%, 50%, 100%], peak: 100, each: 5s }
    - { kind: sine, mean: 100, amplitude: 50, period: 10s, duration: 20s }
  timeout: 2s
  maxBacklog: 1000
faults:
  - { type: partition, target: api->dependency, at: 32s, duration: 15s, probability: 50% }
  - { type: latency, target: api->dependency, at: 'phase 3 + 1s', duration: 5s, delay: 100ms, jitter: 10ms }
abort:
  - { when: error-rate > 50%, for: 10s }
`;
const ENV = `name: fuzz
targets:
  api: { kind: http, url: 'http://127.0.0.1:\${FUZZ_PORT:-9}', health: /health }
  api->dependency: { kind: proxy, proxy: dependency, api: 'http://127.0.0.1:9' }
  api-process: { kind: process, match: no-such-process-fuzz }
  host: { kind: host }
probes:
  api: { kind: http, url: 'http://127.0.0.1:9/health' }
`;
const SLO = `services:
  api:
    availability: 99%
    errorRate: 1%
    latency: { p99: 250ms, p95: 100ms }
    recovery: 10s
    holdFor: 3s
    budget: { period: 30d, maxSpend: 5% }
    thresholds: ['p(95)<400 over 5s', 'rate<0.05']
---
apiVersion: openslo/v1
kind: SLI
metadata: { name: api-latency }
spec:
  thresholdMetric: { metricSource: { type: chaoskit, spec: { metric: latency } } }
---
apiVersion: openslo/v1
kind: SLO
metadata: { name: api-fast }
spec:
  service: api
  indicatorRef: api-latency
  budgetingMethod: Occurrences
  objectives: [{ op: lte, value: 300, target: 0.99 }]
`;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `chaos ARGS` in process, output captured; rejects past CASE_MS (an async hang). */
async function chaos(args: string[]): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const capture =
    (to: 'out' | 'err') =>
    (chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      if (to === 'out') stdout += text;
      else stderr += text;
      const cb = rest.find((x) => typeof x === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    };
  const out = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation(capture('out') as typeof process.stdout.write);
  const err = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation(capture('err') as typeof process.stderr.write);
  const t = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const code = await Promise.race([
      main(args),
      new Promise<number>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CASE_MS} ms`)), CASE_MS);
      }),
    ]);
    return { code, stdout, stderr, ms: performance.now() - t };
  } finally {
    clearTimeout(timer);
    out.mockRestore();
    err.mockRestore();
  }
}

const STACK = /\n\s+at .+(:\d+:\d+\)?|\(native\))$/m;
/** Where a file problem is: file:line or file:line:col, or a problem with the whole file. */
const located = (text: string, files: string[]) =>
  files.some((f) =>
    new RegExp(
      `${basename(f).replace(/[.]/g, '\\.')}(:\\d+(:\\d+)?: |: (cannot read|the \\w+ (file )?is))`,
    ).test(text),
  );

/** The fuzz verdict on one case: null when it behaved, else why not. */
function judge(o: Outcome, files: string[], flag?: string, value?: string): string | null {
  const all = `${o.stdout}${o.stderr}`;
  if (o.code !== 0 && o.code !== 2) return `exit ${o.code}: ${o.stderr.trim().slice(0, 300)}`;
  if (STACK.test(all)) return `a stack trace: ${o.stderr.trim().slice(0, 300)}`;
  if (o.ms > CASE_MS) return `took ${Math.round(o.ms)} ms`;
  if (o.code === 2) {
    // A flag's problem names the flag, or for a file-valued flag the file it could not use.
    const where = flag
      ? o.stderr.includes(flag.replace(/^--/, '')) ||
        (value !== undefined && value.length > 2 && o.stderr.includes(`${value}: `))
      : located(o.stderr, files);
    if (!where)
      return `exit 2 without ${flag ? `naming ${flag}` : 'a file:line location'}: ${o.stderr.trim().slice(0, 300)}`;
  }
  return null;
}

interface Case {
  name: string;
  args: string[];
  files: string[];
  flag?: string;
  value?: string;
}

/** Runs every case in process; returns the failures (name: why), for one readable assertion. */
async function runAll(cases: Case[]): Promise<{ failures: string[]; codes: Record<number, number> }> {
  const failures: string[] = [];
  const codes: Record<number, number> = {};
  for (const c of cases) {
    let verdict: string | null;
    try {
      const o = await chaos(c.args);
      codes[o.code] = (codes[o.code] ?? 0) + 1;
      verdict = judge(o, c.files, c.flag, c.value);
    } catch (err) {
      verdict = (err as Error).message;
    }
    if (verdict) failures.push(`${c.name}: ${verdict}`);
  }
  return { failures, codes };
}

let stateDir: string;
beforeAll(async () => {
  stateDir = tempDir('chaoskit-fuzz-state-');
  vi.stubEnv('CHAOSKIT_STATE_DIR', stateDir);
  vi.stubEnv('NO_COLOR', '1');
  // The first call imports every command's modules (seconds on a busy machine): not a case.
  const f = files();
  const results = join(f.dir, 'results.json');
  writeFileSync(results, JSON.stringify(partitionRun()));
  for (const args of [
    ['plan', f.scenario],
    ['run', f.scenario, '--dry-run'],
    ['report', results],
    ['compare', results, results],
  ])
    await chaos(args).catch(() => undefined);
}, 120_000);
afterAll(() => vi.unstubAllEnvs());

/** A folder holding scenario.yaml, env.yaml and slo.yaml; `over` replaces any of them. */
function files(
  over: Partial<Record<'scenario' | 'env' | 'slo', string>> = {},
): Record<'dir' | 'scenario' | 'env' | 'slo', string> {
  const dir = tempDir('chaoskit-fuzz-');
  const out = {
    dir,
    scenario: join(dir, 'scenario.yaml'),
    env: join(dir, 'env.yaml'),
    slo: join(dir, 'slo.yaml'),
  };
  writeFileSync(out.scenario, over.scenario ?? SCENARIO);
  writeFileSync(out.env, over.env ?? ENV);
  writeFileSync(out.slo, over.slo ?? SLO);
  return out;
}

function scenarioCases(r: Rand, n: number): Case[] {
  const base = parse(SCENARIO) as unknown;
  return Array.from({ length: n }, (_, i) => {
    const f = files({ scenario: mutant(r, base) });
    const args = pick(r, [
      ['validate', f.scenario],
      ['plan', f.scenario],
      ['run', f.scenario, '--dry-run'],
    ]);
    return { name: `scenario #${i} (seed ${SEED})`, args, files: [f.scenario, f.env, f.slo] };
  });
}

function environmentCases(r: Rand, n: number): Case[] {
  const base = parse(ENV) as unknown;
  return Array.from({ length: n }, (_, i) => {
    const f = files({ env: mutant(r, base) });
    return {
      name: `environment #${i} (seed ${SEED})`,
      args: ['validate', f.scenario],
      files: [f.env, f.scenario],
    };
  });
}

function sloCases(r: Rand, n: number): Case[] {
  const docs = SLO.split('\n---\n').map((d) => parse(d) as unknown);
  return Array.from({ length: n }, (_, i) => {
    const k = int(r, 0, docs.length - 1);
    const text = docs.map((d, j) => (j === k ? mutant(r, d) : SLO.split('\n---\n')[j])).join('\n---\n');
    const f = files({ slo: text });
    return {
      name: `SLO #${i} (seed ${SEED})`,
      args: ['plan', f.scenario, '--slo', f.slo],
      files: [f.slo, f.scenario],
    };
  });
}

function resultsCases(r: Rand, n: number, command: 'report' | 'compare', corruptHistograms = false): Case[] {
  const good = partitionRun();
  const dir = tempDir('chaoskit-fuzz-results-');
  const reference = join(dir, 'reference.json');
  writeFileSync(reference, JSON.stringify(good));
  return Array.from({ length: n }, (_, i) => {
    const file = join(dir, `results-${i}.json`);
    const v = structuredClone(good) as unknown as Record<string, unknown>;
    if (corruptHistograms) {
      // Valid JSON and schema; a histogram that only decoding finds broken.
      const second = (v.timeline as { hist: string | null }[])[int(r, 0, 59)]!;
      second.hist = pick(r, ['AAAA', 'not base64!', 'HISTFAAAAA==', 'QUJD', second.hist!.slice(0, 12)]);
      writeFileSync(file, JSON.stringify(v));
    } else {
      // Histograms (base64 strings) are left to the corrupt-histogram tests below.
      writeFileSync(
        file,
        mutant(r, v, true, (p) => /hist$/i.test(String(p[p.length - 1] ?? ''))),
      );
    }
    const args =
      command === 'report'
        ? ['report', file, '--format', pick(r, ['json', 'junit', 'md', 'console', 'html', 'ndjson'])]
        : ['compare', reference, file, '--format', 'json'];
    const what = corruptHistograms ? ' (corrupt histogram)' : '';
    return { name: `${command} results #${i}${what} (seed ${SEED})`, args, files: [file] };
  });
}

/** Flags with junk values, on commands that never send anything (run only as --dry-run). */
function flagCases(r: Rand, n: number, dashed = false): Case[] {
  const f = files();
  const results = join(f.dir, 'results.json');
  writeFileSync(results, JSON.stringify(partitionRun()));
  const flags: [string, string[]][] = [
    ['--time-scale', ['run', f.scenario, '--dry-run']],
    ['--seed', ['plan', f.scenario]],
    ['--min-score', ['run', f.scenario, '--dry-run']],
    ['--prometheus', ['run', f.scenario, '--dry-run']],
    ['--pushgateway', ['run', f.scenario, '--dry-run']],
    ['--reporter', ['run', f.scenario, '--dry-run']],
    ['--engine', ['run', f.scenario, '--dry-run']],
    ['--env', ['validate', f.scenario]],
    ['--slo', ['plan', f.scenario]],
    ['--format', ['report', results]],
    ['--max-score-drop', ['compare', results, results]],
    ['--max-p99-increase', ['compare', results, results]],
    ['--max-ttr-increase', ['compare', results, results]],
  ];
  // A value starting with a dash and a letter (-5s, -x) is read by yargs as more flags.
  const values = dashed
    ? ['-5s', '-x', '-abc', '-1d']
    : [
        'abc',
        '-1',
        '0',
        '1e-9',
        '1e9',
        'NaN',
        'Infinity',
        '',
        '150%',
        '30d',
        '99999',
        '0x10',
        '1,5',
        '/no/such/file.yaml',
        f.dir,
      ];
  return Array.from({ length: n }, (_, i) => {
    const [flag, cmd] = pick(r, flags);
    const value = pick(r, values);
    return {
      name: `flag ${flag} ${JSON.stringify(value)} (#${i})`,
      args: [...cmd, flag, value],
      files: [f.scenario],
      flag,
      value,
    };
  });
}

describe(`fuzz (seed ${SEED}): files through the real CLI, in process`, () => {
  it('scenario files: exit 0 or 2 with file:line:col, never 5, no stack trace, under 5 s', async () => {
    const r = prng(SEED);
    const { failures, codes } = await runAll(scenarioCases(r, 150));
    expect(failures).toEqual([]);
    expect(codes[2]).toBeGreaterThan(50); // the mutations do break things
  }, 180_000);

  it('environment files', async () => {
    const { failures, codes } = await runAll(environmentCases(prng(SEED + 1), 80));
    expect(failures).toEqual([]);
    expect(codes[2]).toBeGreaterThan(20);
  }, 120_000);

  it('SLO files (native and OpenSLO)', async () => {
    const { failures, codes } = await runAll(sloCases(prng(SEED + 2), 80));
    expect(failures).toEqual([]);
    expect(codes[2]).toBeGreaterThan(20);
  }, 120_000);

  it('results.json for chaos report', async () => {
    const { failures } = await runAll(resultsCases(prng(SEED + 3), 60, 'report'));
    expect(failures).toEqual([]);
  }, 180_000);

  it('results.json for chaos compare', async () => {
    const { failures } = await runAll(resultsCases(prng(SEED + 4), 40, 'compare'));
    expect(failures).toEqual([]);
  }, 180_000);

  it('CLI flags with junk values: exit 0 or 2 naming the flag (or the file it names)', async () => {
    const { failures } = await runAll(flagCases(prng(SEED + 5), 80));
    expect(failures).toEqual([]);
  }, 120_000);

  it('a corrupt histogram in chaos report: exit 2 with a location, not 5', async () => {
    const { failures } = await runAll(resultsCases(prng(SEED + 9), 20, 'report', true));
    expect(failures).toEqual([]);
  }, 120_000);

  it('a corrupt histogram in chaos compare: exit 2 with a location, not 5', async () => {
    const { failures } = await runAll(resultsCases(prng(SEED + 7), 20, 'compare', true));
    expect(failures).toEqual([]);
  }, 120_000);

  it('the flags issue 13 names are checked before anything runs, even --dry-run', async () => {
    const f = files();
    const failures: string[] = [];
    for (const [flag, value] of [
      ['--min-score', 'abc'],
      ['--min-score', '150'],
      ['--time-scale', '1e-9'],
      ['--prometheus', 'abc'],
      ['--pushgateway', 'not a url'],
    ] as const) {
      const o = await chaos(['run', f.scenario, '--dry-run', flag, value]);
      if (o.code !== 2 || !o.stderr.includes(flag))
        failures.push(`${flag} ${value}: exit ${o.code} ${o.stderr.trim()}`);
    }
    expect(failures).toEqual([]);
  });

  it('a flag value starting with a dash (-5s): exit 2 naming the flag', async () => {
    const { failures } = await runAll(flagCases(prng(SEED + 8), 20, true));
    expect(failures).toEqual([]);
  }, 120_000);
});

describe('fuzz: a sample through bin/chaos.mjs as a child process', () => {
  it('the same exit code as in process, no stack trace, under 5 s after start-up', async () => {
    const r = prng(SEED + 6);
    const sample = [
      ...scenarioCases(r, 2),
      ...environmentCases(r, 1),
      ...sloCases(r, 1),
      ...resultsCases(r, 1, 'report'),
    ];
    const failures: string[] = [];
    for (const c of sample) {
      const inProcess = await chaos(c.args);
      const child = await new Promise<Outcome>((resolve) => {
        const t = performance.now();
        const p = spawn(process.execPath, [CLI_BIN, ...c.args], {
          cwd: PACKAGE_ROOT,
          env: { ...process.env, CHAOSKIT_STATE_DIR: stateDir },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
        p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
        const kill = setTimeout(() => p.kill('SIGKILL'), 30_000);
        p.on('close', (code) => {
          clearTimeout(kill);
          resolve({ code: code ?? 137, stdout, stderr, ms: performance.now() - t });
        });
      });
      const why = judge({ ...child, ms: 0 }, c.files);
      if (why) failures.push(`${c.name} (child): ${why}`);
      if (child.code !== inProcess.code)
        failures.push(`${c.name}: child exit ${child.code}, in process ${inProcess.code}`);
    }
    expect(failures).toEqual([]);
  }, 180_000);
});
