/** Reporter details on synthetic results: escaping, self-containment, markers, and edge cases. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chartData } from '../../reporters/html-charts.ts';
import { reporters } from '../../reporters/index.ts';
import { phaseSegments, verdictRows } from '../../reporters/shared.ts';
import { tempDir } from '../helpers/files.ts';
import { partitionRun, synthetic } from './synthetic.ts';
import { CHROMIUM, dumpDom } from './tools.ts';

const EVIL = '</script><script>alert(1)</script><img src=x onerror=alert(2)>';

function evilRun() {
  const r = partitionRun({ name: 'evil', description: `desc ${EVIL}`, warnings: [`warn ${EVIL}`] });
  r.scenario.name = `name ${EVIL}`;
  r.faults[0]!.id = `f1${EVIL}`;
  r.faults[0]!.description = EVIL;
  r.verdict!.recovery[0]!.fault = r.faults[0]!.id;
  r.verdict!.reasons.push(`reason ${EVIL}`);
  return r;
}

describe('html reporter', () => {
  it('is one self-contained file: uPlot inline, nothing loaded from anywhere', () => {
    const html = reporters.html.render(partitionRun());
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script[^>]*\ssrc=/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/\s(src|href)\s*=/i);
    expect(html).not.toMatch(/url\(|@import/i);
    expect(html).not.toContain('https://');
    expect(html).toContain('var uPlot=');
    expect(html).toContain('.uplot');
  });

  it('escapes every text from the result, in markup and in the chart data', () => {
    const html = reporters.html.render(evilRun());
    expect(html).not.toContain('<script>alert(1)');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('name &#60;/script&#62;&#60;script&#62;alert(1)');
    // Only our own three script elements open and close.
    expect(html.match(/<script\b/g)).toHaveLength(3);
    expect(html.match(/<\/script>/g)).toHaveLength(3);
  });

  it('escaped text survives the browser: the page still draws, and no injected element exists', (ctx) => {
    if (!CHROMIUM) return ctx.skip('chromium is not installed: escaping not checked in a browser');
    const file = join(tempDir(), 'evil.html');
    writeFileSync(file, reporters.html.render(evilRun()));
    const dom = dumpDom(file);
    expect(dom).toMatch(/data-charts-rendered="5"/);
    expect(dom).not.toMatch(/<img/);
  }, 60_000);

  it('chart data: per-second series, fault windows, phases, saturated seconds and sorted host samples', () => {
    const r = partitionRun({
      at: (t) => ({ ok: 100, failed: t === 25 ? 5 : 0, ms: 10, errorKind: 'timeout', saturated: t < 2 }),
    });
    r.host.reverse();
    const d = chartData(r);
    expect(d.x.slice(0, 3)).toEqual([0.5, 1.5, 2.5]);
    expect(d.faults).toEqual([{ id: 'f1', label: 'f1 partition', start: 20, end: 30 }]);
    expect(d.phases.map((p) => [p.name, p.start, p.end])).toEqual([
      ['baseline', 0, 20],
      ['fault', 20, 30],
      ['recovery', 30, 60],
    ]);
    expect(d.errors).toEqual([{ kind: 'timeout', values: r.timeline.map((s) => (s.t === 25 ? 5 : 0)) }]);
    expect(d.saturated).toEqual([0, 1]);
    expect(d.host!.x).toEqual([...d.host!.x].sort((a, b) => a - b));
    expect(d.host!.mem[0]).toBe(25);
  });

  it('renders a result without a verdict, host samples or faults', () => {
    const r = synthetic({ name: 'bare', seconds: 5, at: () => ({ ok: 10, failed: 0, ms: 5 }) });
    delete r.verdict;
    const html = reporters.html.render(r);
    expect(html).toContain('NOT SCORED');
    expect(html).toContain('This scenario injects no faults.');
    expect(html).not.toContain('data-chart="degradation"');
    expect(html).not.toContain('data-chart="host"');
    expect(reporters.console.render(r)).toContain('verdict: NOT SCORED (no SLO verdict in this result)');
    expect(reporters.markdown.render(r)).toMatch(/^## ➖ bare: NOT SCORED\n/);
  });
});

describe('shared rendering', () => {
  it('verdict rows: one per objective, a cell per phase, markers for non-gating and low-confidence cells', () => {
    const r = partitionRun({
      at: (t) => (t >= 20 && t < 30 ? { ok: 4, failed: 4, ms: 10 } : { ok: 100, failed: 0, ms: 10 }),
    });
    const rows = verdictRows(r.verdict!);
    expect(rows.map((x) => x.name)).toEqual([
      'availability ≥ 99%',
      'error rate ≤ 1%',
      'latency p99 ≤ 250ms',
      'threshold p(95)<400 over 5s',
    ]);
    expect(rows[3]!.label).toBe('threshold p(95)<400 over 5s (< 400ms over every 5s)');
    expect(rows[0]!.cells.baseline!.mark).toBe('✓');
    expect(rows[0]!.cells.fault).toMatchObject({
      actual: '50%',
      mark: '✗†~',
      gating: false,
      lowConfidence: true,
      requests: 80,
    });
    expect(phaseSegments(r.verdict!)).toHaveLength(3);
  });

  it('reports say what the verdict says: they never re-decide pass or fail', () => {
    const r = partitionRun();
    r.verdict = { ...r.verdict!, status: 'fail', pass: false, reasons: ['decided elsewhere'] };
    expect(reporters.console.render(r)).toContain('verdict: FAIL');
    expect(reporters.markdown.render(r)).toMatch(/^## ❌ partition: FAIL/);
    expect(reporters.html.render(r)).toContain('<div class="status-pill s-fail">FAIL</div>');
  });

  it('markdown keeps user text from breaking tables or becoming HTML', () => {
    const r = evilRun();
    r.faults[0]!.id += '|x';
    r.verdict!.recovery[0]!.fault = r.faults[0]!.id;
    const md = reporters.markdown.render(r);
    // Outside code spans (where HTML stays text) nothing can open an element.
    expect(md.replace(/`[^`]*`/g, '')).not.toMatch(/<(script|img)/);
    expect(md).toContain('&lt;/script&gt;');
    const faultRow = md.split('\n').find((l) => l.startsWith('| `f1') && l.includes('partition on'))!;
    expect(faultRow.split(/(?<!\\)\|/).slice(1, -1)).toHaveLength(6);
  });
});
