/**
 * docs/grafana-dashboard.json and docs/observability.md against the metrics chaoskit exports:
 * every metric a panel queries exists (and every label it groups by), every query is PromQL that
 * promtool parses, and every metric is documented.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { METRICS, RunMetrics } from '../../src/metrics/run-metrics.ts';
import { PACKAGE_ROOT } from '../../src/core/paths.ts';
import { tempDir } from '../helpers/files.ts';
import { PROMTOOL, PROMTOOL_MISSING } from './promtool.ts';
import { simRun } from './sim-run.ts';

interface Panel {
  title: string;
  targets?: { expr: string }[];
}
const dashboard = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'docs', 'grafana-dashboard.json'), 'utf8')) as {
  panels: Panel[];
  templating: { list: { name: string; query?: unknown }[] };
};
const exprs = dashboard.panels.flatMap((p) =>
  (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })),
);
const known = new Map(Object.values(METRICS).map((d) => [d.prom, d]));

/** A metric name as queried → the exported family (histogram series carry a suffix). */
function family(name: string): string {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return known.get(base)?.kind === 'histogram' ? base : name;
}

/** Grafana's variables replaced by what Prometheus would get. */
const concrete = (expr: string) => expr.replace(/\$__rate_interval/g, '1m').replace(/\$scenario/g, '.*');

describe('the Grafana dashboard and the metrics docs', () => {
  it('queries only metrics chaoskit exports', () => {
    expect(exprs.length).toBeGreaterThanOrEqual(15);
    const missing: string[] = [];
    for (const { panel, expr } of exprs)
      for (const m of expr.match(/\bchaoskit_[a-z_]+/g) ?? [])
        if (!known.has(family(m))) missing.push(`${panel}: ${m}`);
    expect(missing).toEqual([]);
    // The scenario variable reads a metric that exists too.
    const v = JSON.stringify(dashboard.templating.list);
    for (const m of v.match(/\bchaoskit_[a-z_]+/g) ?? []) expect(known.has(m), m).toBe(true);
  });

  it('shows every metric chaoskit exports', () => {
    const used = new Set(exprs.flatMap((e) => (e.expr.match(/\bchaoskit_[a-z_]+/g) ?? []).map(family)));
    expect([...known.keys()].filter((m) => !used.has(m))).toEqual([]);
  });

  it('groups and filters only by labels the metrics have', async () => {
    const m = new RunMetrics();
    await simRun((run) => m.attach(run));
    const snap = m.snapshot();
    const labels = new Map<string, Set<string>>();
    for (const f of snap.scalars)
      labels.set(f.def.prom, new Set(f.samples.flatMap((s) => Object.keys(s.labels))));
    for (const h of snap.histograms)
      labels.set(h.def.prom, new Set(['le', ...h.points.flatMap((p) => Object.keys(p.labels))]));
    const wrong: string[] = [];
    for (const { panel, expr } of exprs) {
      const metrics = (expr.match(/\bchaoskit_[a-z_]+/g) ?? []).map(family);
      const have = new Set(['scenario', ...metrics.flatMap((x) => [...(labels.get(x) ?? [])])]);
      const used = [
        ...[...expr.matchAll(/by \(([^)]*)\)/g)].flatMap((x) => x[1]!.split(',').map((s) => s.trim())),
        ...[...expr.matchAll(/[{,]\s*([a-z_]+)\s*=~?"/g)].map((x) => x[1]!),
      ];
      for (const l of used) if (!have.has(l)) wrong.push(`${panel}: ${l}`);
    }
    expect(wrong).toEqual([]);
  });

  it.skipIf(PROMTOOL_MISSING)('every query is PromQL that promtool parses', () => {
    const dir = tempDir('chaoskit-grafana-');
    const rules = exprs
      .map(
        (e, i) =>
          `      - record: chaoskit:dashboard_query_${i}\n        expr: ${JSON.stringify(concrete(e.expr))}`,
      )
      .join('\n');
    writeFileSync(join(dir, 'rules.yml'), `groups:\n  - name: chaoskit-dashboard\n    rules:\n${rules}\n`);
    const r = spawnSync(PROMTOOL, ['check', 'rules', join(dir, 'rules.yml')], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(`${r.stdout}${r.stderr}`).toMatch(new RegExp(`SUCCESS: ${exprs.length} rules found`));
    expect(r.status).toBe(0);
    // The check can fail: a broken query is refused.
    writeFileSync(
      join(dir, 'bad.yml'),
      'groups:\n  - name: x\n    rules:\n      - record: x:y\n        expr: "sum(rate(chaoskit_arrivals_total[1m])"\n',
    );
    expect(spawnSync(PROMTOOL, ['check', 'rules', join(dir, 'bad.yml')]).status).not.toBe(0);
  });

  it('docs/observability.md describes every metric', () => {
    const doc = readFileSync(join(PACKAGE_ROOT, 'docs', 'observability.md'), 'utf8');
    const undocumented = [...known.keys()].filter((name) => !doc.includes(`\`${name}\``));
    expect(undocumented).toEqual([]);
    for (const d of known.values()) expect(doc, d.prom).toContain(`\`${d.otel}\``);
  });
});
