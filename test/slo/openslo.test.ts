/**
 * OpenSLO v1 files as teams write them (shaped after the OpenSLO spec's examples: several kinds
 * in one file, SLIs referenced by name, DataSources): accepted, resolved, scored on chaoskit's
 * own measurements; unsupported metric sources refused by name with their location.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.ts';
import type { TimelineSecond } from '../../src/result.ts';
import { loadScenario, loadSlo } from '../../src/input/load.ts';
import { PACKAGE_ROOT } from '../../src/core/paths.ts';
import { objectivesFor } from '../../src/slo/objectives.ts';
import { score } from '../../src/slo/score.ts';
import { MINIMAL, tempDir, writeScenario } from '../helpers/files.ts';
import { second, synthetic } from '../reporters/synthetic.ts';

function sloFile(text: string, dir = tempDir()): string {
  const file = join(dir, 'slo.yaml');
  writeFileSync(file, text);
  return file;
}

/** The problem lines of an invalid SLO file, file paths reduced to their base name. */
function problems(text: string): string[] {
  const file = sloFile(text);
  try {
    loadSlo(file);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).exitCode).toBe(2);
    return (err as Error).message
      .split('\n')
      .slice(1)
      .map((l) => l.trim().replace(file, 'slo.yaml'));
  }
  throw new Error('expected the SLO file to be invalid');
}

const CHAOSKIT = (metric: string) => `{ type: chaoskit, spec: { metric: ${metric} } }`;

/** A checkout team's file: a Service, a DataSource, two SLIs, three SLOs and alerting objects. */
const CHECKOUT = `apiVersion: openslo/v1
kind: Service
metadata: { name: api, displayName: Checkout API }
spec: { description: The checkout API behind the shop }
---
apiVersion: openslo/v1
kind: DataSource
metadata: { name: generator }
spec: { type: chaoskit, connectionDetails: {} }
---
apiVersion: openslo/v1
kind: SLI
metadata: { name: checkout-success }
spec:
  ratioMetric:
    counter: true
    good: { metricSource: { metricSourceRef: generator, spec: { metric: good } } }
    total: { metricSource: { metricSourceRef: generator, spec: { metric: requests } } }
---
apiVersion: openslo/v1
kind: SLI
metadata: { name: checkout-latency }
spec:
  thresholdMetric:
    metricSource: ${CHAOSKIT('latency')}
---
apiVersion: openslo/v1
kind: SLO
metadata: { name: checkout-availability }
spec:
  service: api
  indicatorRef: checkout-success
  timeWindow: [{ duration: 4w, isRolling: true }]
  budgetingMethod: Occurrences
  objectives:
    - { displayName: Mostly good, targetPercent: 99 }
---
apiVersion: openslo/v1
kind: SLO
metadata: { name: checkout-fast }
spec:
  service: api
  indicatorRef: checkout-latency
  budgetingMethod: Occurrences
  objectives:
    - { displayName: Quick, op: lte, value: 100, target: 0.9 }
---
apiVersion: openslo/v1
kind: SLO
metadata: { name: checkout-minutes }
spec:
  service: api
  indicator:
    metadata: { name: inline-errors }
    spec:
      ratioMetric:
        bad: { metricSource: ${CHAOSKIT('bad')} }
        total: { metricSource: ${CHAOSKIT('requests')} }
  budgetingMethod: Timeslices
  objectives:
    - { target: 0.95, timeSliceTarget: 0.99, timeSliceWindow: 1m }
  alertPolicies: [{ alertPolicyRef: page-on-burn }]
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata: { name: page-on-burn }
spec:
  alertWhenBreaching: true
  conditions: [{ conditionRef: fast-burn }]
  notificationTargets: [{ targetRef: on-call }]
---
apiVersion: openslo/v1
kind: AlertCondition
metadata: { name: fast-burn }
spec: { severity: page, condition: { kind: burnrate, op: gte, threshold: 14, lookbackWindow: 1h, alertAfter: 5m } }
---
apiVersion: openslo/v1
kind: AlertNotificationTarget
metadata: { name: on-call }
spec: { target: pagerduty }
`;

describe('OpenSLO files with several kinds', () => {
  it('are accepted; each SLO resolves its indicator (indicatorRef to the SLI, or inline)', () => {
    const slo = loadSlo(sloFile(CHECKOUT));
    expect(slo.openslo.map((d) => d.metadata.name)).toEqual([
      'checkout-availability',
      'checkout-fast',
      'checkout-minutes',
    ]);
    expect(slo.openslo[1]!.spec.indicator?.metadata?.name).toBe('checkout-latency');
    expect(slo.openslo[1]!.spec).not.toHaveProperty('indicatorRef');
    const so = objectivesFor(slo, 'api');
    expect(so.objectives.map((o) => [o.kind, o.name])).toEqual([
      ['availability', 'checkout-availability: good/total ≥ 99%'],
      ['latency-fraction', 'checkout-fast: 90% of requests within 100ms'],
      ['timeslices', 'checkout-minutes: 95% of 1s slices good (≥ 99%)'],
    ]);
    expect(so.allowedBad).toBeCloseTo(0.01, 9);
  });

  it('an indicatorRef to a latency SLI is scored on latency, not as availability', () => {
    // Every request succeeds, but in half of the seconds at 300 ms: 100% available, far from fast.
    const run = synthetic({
      seconds: 20,
      at: (t) => ({ ok: 100, failed: 0, ms: t % 2 ? 300 : 20 }),
      slo: { budget: false },
    });
    const v = score(run, objectivesFor(loadSlo(sloFile(CHECKOUT)), 'api'));
    const row = (name: string) => v.objectives.find((o) => o.name.startsWith(name))!;
    expect(row('checkout-availability').pass).toBe(true);
    expect(row('checkout-fast').pass).toBe(false);
    expect(row('checkout-fast').actualValue).toBeLessThan(0.6);
  });

  it('op gt/gte counts requests above the value; lt and lte count those at or below', () => {
    const timeline: TimelineSecond[] = Array.from({ length: 10 }, (_, t) =>
      second(t, { ok: 100, failed: 0, ms: 80 }),
    );
    const doc = (op: string) =>
      CHECKOUT.replace(
        '{ displayName: Quick, op: lte, value: 100, target: 0.9 }',
        `{ op: ${op}, value: 30, target: 0.9 }`,
      );
    const run = synthetic({
      seconds: 10,
      at: () => ({ ok: 100, failed: 0, ms: 80 }),
      slo: { budget: false },
    });
    run.timeline = timeline;
    const fast = (op: string) =>
      score(run, objectivesFor(loadSlo(sloFile(doc(op))), 'api')).objectives.find((o) =>
        o.name.startsWith('checkout-fast'),
      )!;
    // Latencies are 40..76 ms, all above 30 ms.
    expect(fast('gt')).toMatchObject({ name: 'checkout-fast: 90% of requests above 30ms', pass: true });
    expect(fast('gte').pass).toBe(true);
    expect(fast('lt')).toMatchObject({ name: 'checkout-fast: 90% of requests within 30ms', pass: false });
    expect(fast('lte').pass).toBe(false);
  });

  it('a scenario whose SLO file holds several kinds loads; only SLOs name services', () => {
    const dir = tempDir();
    sloFile(CHECKOUT, dir);
    const file = writeScenario(`${MINIMAL}slo: ./slo.yaml\n`, undefined, dir);
    expect(loadScenario(file).slo.openslo).toHaveLength(3);
  });
});

describe('budgeting methods and ratio forms', () => {
  const slo = (indicator: string, method: string, objective: string) => `apiVersion: openslo/v1
kind: SLO
metadata: { name: s }
spec:
  service: api
  indicator:
    spec:
${indicator}
  budgetingMethod: ${method}
  objectives: [${objective}]
`;
  const goodTotal = `      ratioMetric:
        good: { metricSource: ${CHAOSKIT('good')} }
        total: { metricSource: ${CHAOSKIT('requests')} }`;

  it.each([
    ['Occurrences', '{ target: 0.99 }', 'availability'],
    ['RatioTimeslices', '{ target: 0.99, timeSliceWindow: 1m }', 'availability'],
    ['RatioTimeslices', '{ target: 0.99, timeSliceTarget: 0.9 }', 'timeslices'],
    ['Timeslices', '{ target: 0.99, timeSliceTarget: 0.9, timeSliceWindow: 5m }', 'timeslices'],
  ])('%s %s → %s', (method, objective, kind) => {
    const so = objectivesFor(loadSlo(sloFile(slo(goodTotal, method, objective))), 'api');
    expect(so.objectives.map((o) => o.kind)).toEqual([kind]);
  });

  it('a raw ratio: availability with rawType success, error-rate with rawType failure', () => {
    const raw = (metric: string, rawType: string) =>
      `      ratioMetric:\n        rawType: ${rawType}\n        raw: { metricSource: ${CHAOSKIT(metric)} }`;
    expect(
      loadSlo(sloFile(slo(raw('availability', 'success'), 'Occurrences', '{ target: 0.9 }'))).openslo,
    ).toHaveLength(1);
    expect(
      loadSlo(sloFile(slo(raw('error-rate', 'failure'), 'Occurrences', '{ target: 0.9 }'))).openslo,
    ).toHaveLength(1);
    expect(problems(slo(raw('availability', 'failure'), 'Occurrences', '{ target: 0.9 }'))).toEqual([
      'slo.yaml:10:64: spec.indicator.spec.ratioMetric.raw.metricSource.spec.metric: metric "availability" cannot be used here: expected error-rate (chaoskit\'s metrics: good, bad, requests, latency, availability, error-rate)',
    ]);
  });

  it('bad over total is the same good/total objective', () => {
    const badTotal = goodTotal.replace(
      'good: { metricSource: ' + CHAOSKIT('good'),
      'bad: { metricSource: ' + CHAOSKIT('bad'),
    );
    const so = objectivesFor(loadSlo(sloFile(slo(badTotal, 'Occurrences', '{ target: 0.99 }'))), 'api');
    expect(so.objectives).toEqual([{ name: 's: good/total ≥ 99%', kind: 'availability', min: 0.99 }]);
  });
});

describe('what chaoskit cannot score is refused by name, with file, line, column and field', () => {
  it('a Prometheus (or any non-chaoskit) metric source', () => {
    const text = CHECKOUT.replace(
      CHAOSKIT('latency'),
      '{ type: Prometheus, spec: { query: histogram_quantile(0.9, x) } }',
    );
    expect(problems(text)).toEqual([
      'slo.yaml:25:27: spec.thresholdMetric.metricSource.type: metric source type "Prometheus" is not supported: chaoskit scores OpenSLO objectives on its own measurements and runs no queries; use type: chaoskit with spec.metric latency (docs/slo-format.md)',
    ]);
  });

  it('a DataSource of another type, reached through metricSourceRef', () => {
    expect(
      problems(
        CHECKOUT.replace('spec: { type: chaoskit, connectionDetails: {} }', 'spec: { type: Datadog }'),
      ),
    ).toEqual([
      'slo.yaml:17:46: spec.ratioMetric.good.metricSource.metricSourceRef: metric source type "Datadog" is not supported: chaoskit scores OpenSLO objectives on its own measurements and runs no queries; use type: chaoskit with spec.metric good (docs/slo-format.md)',
      'slo.yaml:18:47: spec.ratioMetric.total.metricSource.metricSourceRef: metric source type "Datadog" is not supported: chaoskit scores OpenSLO objectives on its own measurements and runs no queries; use type: chaoskit with spec.metric requests (docs/slo-format.md)',
    ]);
  });

  it('a chaoskit metric in the wrong place, and an unknown one', () => {
    expect(problems(CHECKOUT.replace(CHAOSKIT('latency'), CHAOSKIT('good')))).toEqual([
      'slo.yaml:25:53: spec.thresholdMetric.metricSource.spec.metric: metric "good" cannot be used here: expected latency (chaoskit\'s metrics: good, bad, requests, latency, availability, error-rate)',
    ]);
    expect(problems(CHECKOUT.replace(CHAOSKIT('bad'), CHAOSKIT('cpu')))[0]).toMatch(
      /^slo\.yaml:57:64: spec\.indicator\.spec\.ratioMetric\.bad\.metricSource\.spec\.metric: metric "cpu" cannot be used here: expected bad/,
    );
  });

  it('an indicatorRef to no SLI, and an SLO with no indicator at all', () => {
    expect(
      problems(CHECKOUT.replace('indicatorRef: checkout-latency', 'indicatorRef: checkout-speed')),
    ).toEqual([
      'slo.yaml:43:17: spec.indicatorRef: no SLI named "checkout-speed" in this file (SLIs: checkout-success, checkout-latency)',
    ]);
    expect(problems(CHECKOUT.replace('  indicatorRef: checkout-latency\n', ''))).toEqual([
      'slo.yaml:42:3: spec: an SLO needs indicator (an SLI written inline) or indicatorRef (the name of an SLI in this file)',
    ]);
  });

  it('objectives the spec requires: target, op and value for a threshold, timeSliceTarget for Timeslices', () => {
    expect(
      problems(
        CHECKOUT.replace('{ displayName: Quick, op: lte, value: 100, target: 0.9 }', '{ value: 100 }'),
      ),
    ).toEqual([
      'slo.yaml:46:7: spec.objectives[0]: an objective needs target (0 to 1) or targetPercent (0 to 100)',
      'slo.yaml:46:7: spec.objectives[0]: a thresholdMetric objective needs op (lt, lte, gt or gte)',
    ]);
    expect(problems(CHECKOUT.replace('op: lte', 'op: le'))[0]).toBe(
      'slo.yaml:46:33: spec.objectives[0].op: expected one of lt, lte, gt, gte',
    );
    expect(problems(CHECKOUT.replace('timeSliceTarget: 0.99, ', ''))).toEqual([
      'slo.yaml:61:7: spec.objectives[0]: budgetingMethod Timeslices needs timeSliceTarget (the good fraction that makes a slice good)',
    ]);
    expect(problems(CHECKOUT.replace('targetPercent: 99', 'targetPercent: 150'))[0]).toMatch(
      /^slo\.yaml:36:50: spec\.objectives\[0\]\.targetPercent: expected a number at most 100/,
    );
  });

  it('another apiVersion, an unknown kind, two SLIs of one name', () => {
    expect(problems('apiVersion: openslo/v2alpha\nkind: SLO\nmetadata: { name: x }\nspec: {}\n')).toEqual([
      'slo.yaml:1:13: apiVersion: apiVersion "openslo/v2alpha" is not supported; chaoskit reads openslo/v1',
    ]);
    expect(problems('apiVersion: openslo/v1\nkind: Dashboard\nmetadata: { name: x }\n')).toEqual([
      'slo.yaml:2:7: kind: kind "Dashboard" is not an OpenSLO v1 kind (SLO, SLI, Service, DataSource, AlertPolicy, AlertCondition, AlertNotificationTarget)',
    ]);
    const twice = CHECKOUT.replace(
      'metadata: { name: checkout-latency }',
      'metadata: { name: checkout-success }',
    );
    expect(problems(twice)[0]).toBe(
      'slo.yaml:22:19: metadata.name: a second SLI named "checkout-success" in this file',
    );
  });
});

describe('docs/slo-format.md and the code agree', () => {
  it('every OpenSLO YAML example in the docs loads', () => {
    const doc = readFileSync(join(PACKAGE_ROOT, 'docs/slo-format.md'), 'utf8');
    const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((m) => m[1]!)
      .filter((b) => b.includes('openslo/v1'));
    expect(blocks.length).toBeGreaterThan(0);
    for (const b of blocks) expect(loadSlo(sloFile(b)).openslo.length).toBeGreaterThan(0);
  });

  it('the documented metric table lists exactly the metrics the loader accepts', async () => {
    const { CHAOSKIT_METRICS } = await import('../../src/slo/openslo.ts');
    const doc = readFileSync(join(PACKAGE_ROOT, 'docs/slo-format.md'), 'utf8');
    for (const m of Object.keys(CHAOSKIT_METRICS)) expect(doc).toContain(`| \`${m}\``);
    for (const op of ['lt', 'lte', 'gt', 'gte']) expect(doc).toContain(`\`${op}\``);
  });
});
