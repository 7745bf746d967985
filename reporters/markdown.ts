/** report.md: a summary fit for a pull request comment or a GitHub job summary. */
import type { RunResult, Verdict } from '../src/result.ts';
import {
  budgetLine,
  STREAM_HEAD,
  streamCells,
  streamRows,
  dash,
  degradationLine,
  faultRows,
  fmtInt,
  fmtMs,
  fmtPct,
  gradeBands,
  LEGEND,
  phasesIn,
  runLine,
  SCORE_RULE,
  scoreFormula,
  STATUS_EMOJI,
  STATUS_LABEL,
  STATUS_MEANING,
  statusOf,
  SUBSCORE_MEANING,
  SUBSCORES,
  ttrText,
  verdictRows,
  weightsLine,
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

/** Text from the result is user input: keep it from breaking tables or turning into HTML. */
const md = (s: string) =>
  s
    .replace(/[\\`*_|<>[\]]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : `\\${c}`))
    .replace(/\s*\n\s*/g, ' ');
/** A code span: HTML inside stays text; a pipe is escaped so it cannot split a table cell. */
const code = (s: string) =>
  `\`${s
    .replace(/`/g, "'")
    .replace(/\|/g, '\\|')
    .replace(/\s*\n\s*/g, ' ')}\``;

function mdTable(head: string[], rows: string[][]): string[] {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

/** Flows (sessions), then every step and request profile: what was measured, per profile. */
function profileSection(r: RunResult): string[] {
  if (!hasProfiles(r)) return [];
  const out = ['### Flows and steps', ''];
  const flows = flowRows(r);
  if (flows.length)
    out.push(
      ...mdTable(
        FLOW_HEAD,
        flows.map((f) => flowCells(f).map(md)),
      ),
      '',
    );
  const profiles = profileRows(r);
  if (profiles.length) {
    out.push(
      ...mdTable(
        PROFILE_HEAD,
        profiles.map((p) => profileCells(p).map(md)),
      ),
      '',
    );
    out.push(
      "<sub>latency from when each step came due (the previous step's end plus think time); first event: streamed answers</sub>",
      '',
    );
    for (const p of profiles) {
      if (p.errors !== dash) out.push(`- ${code(p.name)} errors: ${md(p.errors)}`);
      for (const n of p.notes) out.push(`- ${code(p.name)}: ${md(n)}`);
    }
  }
  for (const line of [captureLine(r), concurrencyLine(r), ...dataLines(r)])
    if (line) out.push(`- ${md(line)}`);
  out.push('');
  return out;
}

/** Why, the objectives by phase, and time to recover. */
function verdictSection(v: Verdict): string[] {
  const out: string[] = [];
  if (v.reasons.length) out.push('**Why:**', ...v.reasons.map((x) => `- ${md(x)}`), '');
  const phases = phasesIn(v);
  const rows = verdictRows(v);
  if (rows.length) {
    const head = [
      'objective',
      ...phases.map((p) => `${p} (${v.phases.find((x) => x.name === p)?.seconds.length ?? 0}s)`),
    ];
    out.push('### SLO objectives by phase', '');
    out.push(
      ...mdTable(
        head,
        rows.map((r) => [
          md(r.label),
          ...phases.map((p) => (r.cells[p] ? `${md(r.cells[p].actual)} ${r.cells[p].mark}` : dash)),
        ]),
      ),
    );
    out.push('', `<sub>${md(LEGEND)}</sub>`, '');
  }
  if (v.recovery.length) {
    out.push('### Time to recover', '');
    out.push(
      ...mdTable(
        ['fault', '', 'time to recover'],
        v.recovery.map((x) => [code(x.fault), x.pass === null ? dash : x.pass ? '✅' : '❌', md(ttrText(x))]),
      ),
      '',
    );
  }
  return out;
}

/** Error budget, degradation and the score with how it is computed. */
function scoreSection(v: Verdict): string[] {
  const out: string[] = [];
  out.push('### Error budget and degradation', '');
  const budget = budgetLine(v);
  out.push(
    `- **Error budget:** ${budget ? md(budget) : 'not computed (no availability or error-rate objective)'}`,
  );
  out.push(`- **Degradation:** ${md(degradationLine(v))}`, '');
  out.push(`### Resilience score: ${v.score} / 100 (${v.grade})`, '');
  out.push(
    ...mdTable(
      ['sub-score', 'value', 'weight', 'how'],
      SUBSCORES.map((k) => [
        k,
        String(v.subscores[k] ?? dash),
        String(v.weights[k]),
        md(SUBSCORE_MEANING[k]),
      ]),
    ),
  );
  out.push(
    '',
    `**How it is computed:** ${md(SCORE_RULE)}, weights ${weightsLine(v)}. This run: ${md(scoreFormula(v))}. Grades: ${gradeBands()}.`,
    '',
  );
  return out;
}

function render(r: RunResult): string {
  const st = statusOf(r);
  const v = r.verdict;
  const t = r.totals;
  const score = v ? ` — score ${v.score} / 100 (${v.grade})` : '';
  const out = [`## ${STATUS_EMOJI[st]} ${md(r.scenario.name)}: ${STATUS_LABEL[st]}${score}`, ''];
  if (r.scenario.description) out.push(`> ${md(r.scenario.description)}`, '');
  out.push(`${STATUS_MEANING[st][0]!.toUpperCase()}${STATUS_MEANING[st].slice(1)}.`, '');
  out.push(
    `**Run:** ${md(runLine(r))} · load on ${code(r.load.target)} (${code(r.load.url)}, ${r.load.engine})  `,
    `**Requests:** ${fmtInt(t.sent)} sent of ${fmtInt(t.requested)} requested, ${fmtInt(t.ok)} ok, ${fmtInt(t.failed)} failed (${fmtPct(t.sent ? t.failed / t.sent : null)}), ${fmtInt(t.dropped)} dropped  `,
    `**Latency** (from the intended send): p50 ${fmtMs(t.latencyMs?.p50)} · p95 ${fmtMs(t.latencyMs?.p95)} · p99 ${fmtMs(t.latencyMs?.p99)} · max ${fmtMs(t.latencyMs?.max)}`,
    '',
  );
  const streams = streamRows(r);
  if (streams.length)
    out.push(
      '### Load streams',
      '',
      "Each stream is scored against its own service; the run's verdict is the worst of theirs.",
      '',
      ...mdTable(
        STREAM_HEAD,
        streams.map((s) => streamCells(s).map((c, i) => (i < 3 ? code(c) : md(c)))),
      ),
      '',
    );
  out.push(...profileSection(r));
  if (v) out.push(...verdictSection(v));
  if (r.faults.length) {
    out.push('### Faults', '');
    const rows = faultRows(r).map((f) => [
      code(f.id),
      md(f.what),
      f.planned,
      f.actual,
      `${f.status}${f.fault.revertedBy ? ` (${f.fault.revertedBy})` : ''}`,
      `${f.ttr} ${f.ttrMark}`,
    ]);
    out.push(...mdTable(['fault', 'what', 'planned', 'applied → reverted', 'status', 'TTR'], rows), '');
    for (const f of r.faults.filter((x) => x.error || x.status === 'revert-failed')) {
      out.push(
        `- ${code(f.id)}: ${md(f.error ?? f.status)}${f.status === 'revert-failed' && f.manualRevert ? ` — revert by hand: ${code(f.manualRevert)}` : ''}`,
      );
    }
    if (r.faults.some((x) => x.error || x.status === 'revert-failed')) out.push('');
  }
  if (v) out.push(...scoreSection(v));
  if (r.warnings.length) out.push('### Warnings', '', ...r.warnings.map((w) => `- ⚠️ ${md(w)}`), '');
  out.push(
    `<sub>chaoskit ${md(r.tool.version)} · results.json schema ${r.schemaVersion} · started ${md(r.startedAt)}</sub>`,
    '',
  );
  return out.join('\n');
}

export const markdown: Reporter = { file: 'report.md', render };
