import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.ts';
import { faultTypes } from '../../faults/index.ts';
import { loadScenario } from '../../src/input/load.ts';
import { MINIMAL, writeScenario } from '../helpers/files.ts';

/** Loads a scenario that must fail; returns its problem lines with the temp directory removed. */
function problems(yaml: string): string[] {
  const file = writeScenario(yaml);
  const dir = file.replace(/scenario\.yaml$/, '');
  let err: unknown;
  try {
    loadScenario(file);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InputError);
  expect((err as InputError).exitCode).toBe(2);
  return (err as Error).message
    .split('\n')
    .slice(1)
    .map((l) => l.trim().replaceAll(dir, ''));
}

const withFault = (f: string) => `${MINIMAL}faults:\n  - ${f}\n`;

describe('scenario validation: every rule names file, line, column and field', () => {
  it('malformed YAML', () => {
    const file = writeScenario('name: t\nload: [\n');
    expect(() => loadScenario(file)).toThrow(
      /^invalid YAML\n {2}.*scenario\.yaml:3:1: Flow sequence in block collection/,
    );
  });

  it.each([
    ['unknown top-level field', `${MINIMAL}bogus: 1\n`, 'scenario.yaml:7:1: bogus: unknown field "bogus"'],
    [
      'unknown phase field',
      MINIMAL.replace('rate: 10,', 'rate: 10, foo: 1,'),
      'scenario.yaml:6:35: load.pattern[0].foo: unknown field "foo"',
    ],
    [
      'negative duration',
      MINIMAL.replace('10s }', '-5s }'),
      'scenario.yaml:6:45: load.pattern[0].duration: expected a duration like 250ms, 2s or 1m30s, got "-5s"',
    ],
    [
      'zero duration',
      MINIMAL.replace('10s }', '0s }'),
      'scenario.yaml:6:45: load.pattern[0].duration: expected a duration greater than zero, got "0s"',
    ],
    [
      'duration without unit',
      MINIMAL.replace('10s }', '10 }'),
      'scenario.yaml:6:45: load.pattern[0].duration: expected a duration like 250ms, 2s or 1m30s (with a unit), got 10',
    ],
    [
      'unknown pattern kind',
      MINIMAL.replace('kind: constant', 'kind: square'),
      'scenario.yaml:6:15: load.pattern[0].kind: expected kind to be one of constant, ramp, spike, sine, step, burst',
    ],
    [
      'missing rate',
      MINIMAL.replace('rate: 10, ', ''),
      'scenario.yaml:6:7: load.pattern[0].rate: required field is missing (expected number)',
    ],
    [
      'negative rate',
      MINIMAL.replace('rate: 10', 'rate: -1'),
      'scenario.yaml:6:31: load.pattern[0].rate: expected a rate of zero or more requests per second',
    ],
    [
      'bad name',
      MINIMAL.replace('name: t', 'name: Hello World'),
      'scenario.yaml:1:7: name: expected a lower-case name of letters, digits and dashes',
    ],
    [
      'sine below zero',
      MINIMAL.replace(
        '{ kind: constant, rate: 10, duration: 10s }',
        '{ kind: sine, mean: 10, amplitude: 20, period: 5s, duration: 10s }',
      ),
      'scenario.yaml:6:42: load.pattern[0].amplitude: amplitude must not exceed mean: the rate would go below zero',
    ],
    [
      'load target not in environment',
      MINIMAL.replace('target: api', 'target: nope'),
      'scenario.yaml:4:11: load.target: target "nope" is not in the environment env.yaml (it has: api, api->dependency, api-process)',
    ],
    [
      'bad method',
      MINIMAL.replace('  pattern:', '  requests: [{ method: get }]\n  pattern:'),
      'scenario.yaml:5:24: load.requests[0].method: expected an upper-case HTTP method like GET or POST',
    ],
    [
      'path without slash',
      MINIMAL.replace('  pattern:', '  requests: [{ path: items }]\n  pattern:'),
      'scenario.yaml:5:22: load.requests[0].path: expected a path starting with /',
    ],
  ])('%s', (_name, yaml, line) => {
    expect(problems(yaml)).toEqual([line]);
  });

  it('percentage step levels need a peak', () => {
    expect(
      problems(
        MINIMAL.replace(
          '{ kind: constant, rate: 10, duration: 10s }',
          '{ kind: step, levels: [10%, 50%], each: 5s }',
        ),
      ),
    ).toEqual([
      'scenario.yaml:6:30: load.pattern[0].levels[0]: a percentage level needs peak: on the phase',
      'scenario.yaml:6:35: load.pattern[0].levels[1]: a percentage level needs peak: on the phase',
    ]);
  });
});

describe('fault validation happens before anything runs', () => {
  it.each([
    [
      'unknown type',
      '{ type: meteor, target: api->dependency, at: 1s, duration: 2s }',
      `scenario.yaml:8:13: faults[0].type: unknown fault type "meteor" (known: ${faultTypes.join(', ')})`,
    ],
    [
      'target not in environment',
      '{ type: latency, target: db, at: 1s, duration: 2s, delay: 1s }',
      'scenario.yaml:8:30: faults[0].target: target "db" is not in the environment env.yaml (it has: api, api->dependency, api-process); the environment is the allowlist of what may be touched',
    ],
    [
      'target kind cannot take the fault',
      '{ type: latency, target: api-process, at: 1s, duration: 2s, delay: 1s }',
      'scenario.yaml:8:30: faults[0].target: fault latency cannot act on a process target (api-process); it works on: proxy, docker, netns',
    ],
    [
      'unknown parameter',
      '{ type: latency, target: api->dependency, at: 1s, duration: 2s, delay: 1s, colour: red }',
      'scenario.yaml:8:80: faults[0].colour: unknown field "colour"',
    ],
    [
      'missing parameter',
      '{ type: latency, target: api->dependency, at: 1s, duration: 2s }',
      'scenario.yaml:8:5: faults[0].delay: required field is missing',
    ],
    [
      'duration past the end of the load',
      '{ type: partition, target: api->dependency, at: 5s, duration: 20s }',
      'scenario.yaml:8:67: faults[0].duration: the fault would run from 5s to 25s, outside the load (0s to 10s)',
    ],
    [
      'bad at',
      '{ type: partition, target: api->dependency, at: soon, duration: 2s }',
      "scenario.yaml:8:53: faults[0].at: expected a time like 32s, or an event: 'peak', 'peak + 5s', 'phase 2 + 5s', 'end - 10s' (with several streams: 'peak of NAME'), got \"soon\"",
    ],
    [
      'no such phase',
      '{ type: partition, target: api->dependency, at: phase 3, duration: 2s }',
      'scenario.yaml:8:53: faults[0].at: no phase 3: the scenario has phases 1 (constant)',
    ],
    [
      'bad partition mode',
      '{ type: partition, target: api->dependency, at: 1s, duration: 2s, mode: maybe }',
      'scenario.yaml:8:77: faults[0].mode: expected one of refuse, blackhole',
    ],
  ])('%s', (_name, fault, line) => {
    expect(problems(withFault(fault))).toEqual([line]);
  });

  it('overlapping faults of one type on one target conflict', () => {
    const yaml = `${MINIMAL}faults:\n  - { type: partition, target: api->dependency, at: 1s, duration: 5s }\n  - { type: partition, target: api->dependency, at: 3s, duration: 5s }\n`;
    expect(problems(yaml)).toEqual([
      'scenario.yaml:9:5: faults[1]: overlaps faults[0] (both partition on api->dependency between 1s and 6s); they would conflict on one target',
    ]);
  });
});
