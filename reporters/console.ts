/** The console summary: a string built from results.json; it decides nothing. */
import type { RunResult } from '../src/result.ts';
import { formatDuration } from '../src/units.ts';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => '  ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

const ms = (v: number | undefined) => (v === undefined ? '–' : v < 10 ? `${v.toFixed(2)}ms` : `${Math.round(v)}ms`);

export function renderSummary(r: RunResult): string {
  const t = r.totals;
  const secs = Math.max(1, r.timeline.length);
  const lines = [
    `${r.scenario.name} — ${r.status}${r.abort ? ` (${r.abort.reason})` : ''}, seed ${r.seed}, ${formatDuration(r.plan.durationMs)}${r.timeScale !== 1 ? ` at time scale ${r.timeScale}` : ''}`,
    '',
    table([
      ['', 'requested', 'sent', 'ok', 'failed', 'dropped', 'avg rate'],
      ['requests', String(t.requested), String(t.sent), String(t.ok), String(t.failed), String(t.dropped), `${Math.round(t.sent / secs)}/s`],
    ]),
    '',
    table([
      ['latency (from intended send)', 'p50', 'p90', 'p95', 'p99', 'max'],
      ['all requests', ms(t.latencyMs?.p50), ms(t.latencyMs?.p90), ms(t.latencyMs?.p95), ms(t.latencyMs?.p99), ms(t.latencyMs?.max)],
      ['service time', ms(t.serviceMs?.p50), ms(t.serviceMs?.p90), ms(t.serviceMs?.p95), ms(t.serviceMs?.p99), ms(t.serviceMs?.max)],
    ]),
  ];
  const errs = Object.entries(t.errors).filter(([, n]) => n > 0);
  if (errs.length) lines.push('', `  errors: ${errs.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  if (r.faults.length) {
    lines.push('', '  faults:');
    for (const f of r.faults) {
      const when = f.appliedAtMs === null ? 'not applied' : `${formatDuration(f.appliedAtMs)} → ${f.revertedAtMs === null ? 'NOT REVERTED' : formatDuration(f.revertedAtMs)}`;
      lines.push(`    ${f.id} ${f.type} on ${f.target}: ${f.status}, ${when}${f.revertedBy ? ` (by ${f.revertedBy})` : ''}`);
      if (f.error) lines.push(`      ${f.error}`);
    }
  }
  for (const w of r.warnings) lines.push(`  ⚠ ${w}`);
  return lines.join('\n');
}
