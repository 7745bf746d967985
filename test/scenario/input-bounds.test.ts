/**
 * Every percentage is at most 100% and every duration is bounded (7d; SLO periods 366d), so a
 * value that would overflow a timer or mean nothing is exit 2 with file:line:col and field.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.ts';
import { loadScenario, loadSlo, planScenario } from '../../src/input/load.ts';
import { MINIMAL, tempDir, writeScenario } from '../helpers/files.ts';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).exitCode).toBe(2);
    return (err as Error).message
      .split('\n')
      .slice(1)
      .map((l) => l.trim().replace(/^.*\//, ''));
  }
  throw new Error('expected an InputError');
}

const scenario = (yaml: string) => problemsOf(() => loadScenario(writeScenario(yaml)));
const withFault = (f: string) => `${MINIMAL}faults:\n  - ${f}\n`;

function slo(yaml: string): string[] {
  const file = join(tempDir(), 'slo.yaml');
  writeFileSync(file, yaml);
  return problemsOf(() => loadSlo(file));
}

describe('percentages are at most 100%', () => {
  it.each([
    [
      'availability',
      'services:\n  api:\n    availability: 150%\n',
      'slo.yaml:3:19: services.api.availability',
    ],
    ['errorRate', 'services:\n  api:\n    errorRate: 100.5%\n', 'slo.yaml:3:16: services.api.errorRate'],
    [
      'budget maxSpend',
      'services:\n  api:\n    budget: { period: 30d, maxSpend: 200% }\n',
      'slo.yaml:3:38: services.api.budget.maxSpend',
    ],
  ])('%s above 100%% is refused', (_n, yaml, where) => {
    const [line] = slo(yaml);
    expect(line).toMatch(
      new RegExp(`^${where.replace(/[.[\]]/g, '\\$&')}: expected a percentage of at most 100%`),
    );
  });

  it('100% and a fraction of 1 are fine', () => {
    const file = join(tempDir(), 'slo.yaml');
    writeFileSync(file, 'services:\n  api:\n    availability: 100%\n    errorRate: 0\n');
    expect(loadSlo(file).services.api).toMatchObject({ availability: 1, errorRate: 0 });
  });

  it.each([
    [
      'probability',
      '{ type: partition, target: api->dependency, at: 1s, duration: 2s, probability: 150% }',
      84,
    ],
    ['percent', '{ type: partition, target: api->dependency, at: 1s, duration: 2s, percent: 101% }', 80],
    [
      'a fraction above 1',
      '{ type: partition, target: api->dependency, at: 1s, duration: 2s, probability: 1.5 }',
      84,
    ],
  ])('fault %s above 100%% is refused', (_n, fault, col) => {
    const [line] = scenario(withFault(fault));
    expect(line).toMatch(
      new RegExp(`^scenario\\.yaml:8:${col}: faults\\[0\\]\\.\\w+: expected a percentage of at most 100%`),
    );
  });

  it('a fault parameter percentage (http-error fraction) above 100% is refused', () => {
    const [line] = scenario(
      withFault(
        '{ type: http-error, target: api->dependency, at: 1s, duration: 2s, status: 503, fraction: 120% }',
      ),
    );
    expect(line).toMatch(
      /^scenario\.yaml:8:\d+: faults\[0\]\.fraction: expected a percentage of at most 100%/,
    );
  });
});

describe('durations are bounded', () => {
  it('a phase longer than 7d is refused', () => {
    expect(scenario(MINIMAL.replace('duration: 10s', 'duration: 8d'))).toEqual([
      'scenario.yaml:6:45: load.pattern[0].duration: expected a duration of at most 7d, got "8d"',
    ]);
  });

  it('at: 30d is exit 2 (it used to fire at once with a TimeoutOverflowWarning)', () => {
    const long = MINIMAL.replace(
      '    - { kind: constant, rate: 10, duration: 10s }\n',
      Array(5).fill('    - { kind: constant, rate: 1, duration: 7d }\n').join(''),
    );
    expect(
      scenario(`${long}faults:\n  - { type: partition, target: api->dependency, at: 30d, duration: 1m }\n`),
    ).toEqual(['scenario.yaml:6:5: load.pattern: the load lasts 35d, longer than the 7d a run may last']);
    const [line] = scenario(withFault('{ type: partition, target: api->dependency, at: 30d, duration: 2s }'));
    expect(line).toBe(
      'scenario.yaml:8:68: faults[0].duration: the fault would run from 2592000s to 2592002s, outside the load (0s to 10s)',
    );
  });

  it('a fault duration or timeout beyond 7d, and a number too large to be finite, are refused', () => {
    expect(
      scenario(withFault('{ type: partition, target: api->dependency, at: 1s, duration: 30d }')),
    ).toEqual(['scenario.yaml:8:67: faults[0].duration: expected a duration of at most 7d, got "30d"']);
    const huge = `${'9'.repeat(400)}d`;
    expect(scenario(MINIMAL.replace('duration: 10s', `duration: ${huge}`))).toEqual([
      `scenario.yaml:6:45: load.pattern[0].duration: expected a duration like 250ms, 2s or 1m30s, got "${huge}"`,
    ]);
    expect(scenario(MINIMAL.replace('  pattern:', '  timeout: 8d\n  pattern:'))).toEqual([
      'scenario.yaml:5:12: load.timeout: expected a duration of at most 7d, got "8d"',
    ]);
  });

  it('a time scale that stretches the run past 7d is refused when planning', () => {
    const s = loadScenario(writeScenario(MINIMAL.replace('duration: 10s', 'duration: 2d')));
    expect(problemsOf(() => planScenario(s, { seed: 1, timeScale: 4, force: false }))).toEqual([
      'scenario.yaml:6:5: load.pattern: the load lasts 8d at time scale 4, longer than the 7d a run may last',
    ]);
  });

  it('an SLO budget period may be up to 366d, not more', () => {
    expect(slo('services:\n  api:\n    budget: { period: 400d, maxSpend: 2% }\n')).toEqual([
      'slo.yaml:3:23: services.api.budget.period: expected a duration of at most 366d, got "400d"',
    ]);
    const file = join(tempDir(), 'slo.yaml');
    writeFileSync(file, 'services:\n  api:\n    budget: { period: 365d, maxSpend: 2% }\n');
    expect(loadSlo(file).services.api!.budget!.period).toBe(365 * 86_400_000);
  });
});
