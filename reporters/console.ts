/** The console summary: a string built from results.json; it decides nothing. */
import type { RunResult, Verdict } from '../src/result.ts';
import {
  budgetLine,
  STREAM_HEAD,
  streamCells,
  streamRows,
  dash,
  degradationLine,
  faultRows,
  fmtDur,
  fmtMs,
  gradeBands,
  LEGEND_SHORT,
  phasesIn,
  runLine,
  scoreFormula,
  STATUS_LABEL,
  statusOf,
  SUBSCORES,
  ttrText,
  verdictRows,
  type Reporter,
} from './shared.ts';
import {
  captureLine,
  concurrencyLine,
  dataLines,
  FLOW_HEAD,
  flowCells,
  flowRows,
  hasProfiles,
  PROFILE_HEAD,
  profileCells,
  profileRows,
} from './flows.ts';

/** Columns padded to their widest cell; the first left-aligned, the rest right-aligned. */
function table(rows: string[][], indent = '  '): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map(
      (r) =>
        indent +
        r
          .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
          .join('  ')
          .trimEnd(),
    )
    .join('\n');
}

/** Requests, latency, errors, faults and warnings: what happened, before any judgement. */
export function renderSummary(r: RunResult): string {
  const t = r.totals;
  const secs = Math.max(1, r.timeline.length);
  const cancelled = t.cancelled ?? 0;
  const lines = [
    `${r.scenario.name} — ${runLine(r)}`,
    '',
    // sent = ok + failed + cancelled (in flight across a generator stall, or at a stop).
    table([
      ['', 'requested', 'sent', 'ok', 'failed', ...(cancelled ? ['cancelled'] : []), 'dropped', 'avg rate'],
      [
        'requests',
        String(t.requested),
        String(t.sent),
        String(t.ok),
        String(t.failed),
        ...(cancelled ? [String(cancelled)] : []),
        String(t.dropped),
        `${Math.round(t.sent / secs)}/s`,
      ],
    ]),
    '',
    table([
      ['latency (from intended send)', 'p50', 'p90', 'p95', 'p99', 'max'],
      [
        'all requests',
        fmtMs(t.latencyMs?.p50),
        fmtMs(t.latencyMs?.p90),
        fmtMs(t.latencyMs?.p95),
        fmtMs(t.latencyMs?.p99),
        fmtMs(t.latencyMs?.max),
      ],
      [
        'service time',
        fmtMs(t.serviceMs?.p50),
        fmtMs(t.serviceMs?.p90),
        fmtMs(t.serviceMs?.p95),
        fmtMs(t.serviceMs?.p99),
        fmtMs(t.serviceMs?.max),
      ],
    ]),
  ];
  const errs = Object.entries(t.errors).filter(([, n]) => n > 0);
  if (errs.length) lines.push('', `  errors: ${errs.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  const streams = streamRows(r);
  if (streams.length)
    lines.push(
      '',
      '  load streams (each scored against its own service; the verdict is the worst):',
      table([STREAM_HEAD, ...streams.map(streamCells)]),
    );
  lines.push(...profileSection(r));
  if (r.faults.length) {
    lines.push('', '  faults:');
    for (const f of faultRows(r)) {
      lines.push(
        `    ${f.id} ${f.what}: ${f.status}, ${f.actual}${f.fault.revertedBy ? ` (by ${f.fault.revertedBy})` : ''}`,
      );
      if (f.fault.error) lines.push(`      ${f.fault.error}`);
      if (f.status === 'revert-failed' && f.fault.manualRevert)
        lines.push(`      revert by hand: ${f.fault.manualRevert}`);
    }
  }
  for (const w of r.warnings) lines.push(`  ⚠ ${w}`);
  return lines.join('\n');
}

/** Flows (sessions) and every request profile or flow step, with the notes on checks and captures. */
function profileSection(r: RunResult): string[] {
  if (!hasProfiles(r)) return [];
  const out: string[] = [];
  const flows = flowRows(r);
  if (flows.length) out.push('', table([FLOW_HEAD, ...flows.map(flowCells)]));
  const profiles = profileRows(r);
  if (profiles.length) {
    out.push('', `  per step and request (latency from when each came due; errors by kind below):`);
    out.push(table([PROFILE_HEAD, ...profiles.map(profileCells)]));
    for (const p of profiles) {
      if (p.errors !== dash) out.push(`    ${p.name} errors: ${p.errors}`);
      for (const n of p.notes) out.push(`    ${p.name}: ${n}`);
    }
  }
  const cap = captureLine(r);
  if (cap) out.push(`  ${cap}`);
  const c = concurrencyLine(r);
  if (c) out.push(`  ${c}`);
  for (const d of dataLines(r)) out.push(`  ${d}`);
  return out;
}

/** The verdict: objective × phase table, TTR, error budget, degradation, score and reasons. */
export function renderVerdict(v: Verdict): string {
  const phases = phasesIn(v);
  const rows = verdictRows(v).map((row) => [
    row.label,
    ...phases.map((p) => {
      const c = row.cells[p];
      return c ? `${c.actual} ${c.mark.padEnd(3)}` : dash;
    }),
  ]);
  const lines = [
    `verdict: ${STATUS_LABEL[v.status]} — resilience score ${v.score} (${v.grade}), service ${v.service}`,
    '',
  ];
  if (rows.length) {
    const secs = (p: string) => v.phases.find((x) => x.name === p)?.seconds.length ?? 0;
    lines.push(
      table([['objective', ...phases.map((p) => `${p} (${secs(p)}s)`)], ...rows]),
      `  ${LEGEND_SHORT}`,
      '',
    );
  }
  if (v.recovery.length) {
    lines.push('  time to recover:');
    for (const x of v.recovery)
      lines.push(`    ${x.fault}  ${x.pass === null ? dash : x.pass ? '✓' : '✗'} ${ttrText(x)}`);
  }
  const budget = budgetLine(v);
  if (budget) lines.push(`  error budget: ${budget}`);
  lines.push(`  degradation: ${degradationLine(v)}`);
  const subs = SUBSCORES.map((k) => `${k} ${v.subscores[k] ?? dash} (w ${v.weights[k]})`).join(', ');
  lines.push(`  score ${v.score} (${v.grade}): ${subs}`, `    ${scoreFormula(v)}; grades ${gradeBands()}`);
  if (v.reasons.length) {
    lines.push('  reasons:');
    for (const why of v.reasons) lines.push(`    - ${why}`);
  }
  return lines.join('\n');
}

function render(r: RunResult): string {
  const parts = [renderSummary(r)];
  parts.push(
    r.verdict
      ? renderVerdict(r.verdict)
      : `verdict: ${STATUS_LABEL[statusOf(r)]} (no SLO verdict in this result)`,
  );
  if (
    r.verdict?.recovery.length === 0 &&
    r.faults.every((f) => f.appliedAtMs === null) &&
    r.faults.length > 0
  ) {
    parts.push(`  no fault was applied in ${fmtDur(r.plan.durationMs)}: nothing to recover from`);
  }
  return `${parts.join('\n\n')}\n`;
}

export const consoleReporter: Reporter = { file: '', render };
