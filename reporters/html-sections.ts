/** The HTML report's sections, each a string of escaped markup built from the RunResult. */
import type { RunResult, Verdict } from '../src/result.ts';
import {
  budgetLine,
  dash,
  degradationLine,
  fmtDur,
  fmtInt,
  fmtMs,
  fmtNum,
  fmtPct,
  LEGEND,
  phasesIn,
  SCORE_RULE,
  scoreFormula,
  STATUS_LABEL,
  STATUS_MEANING,
  statusOf,
  SUBSCORE_MEANING,
  SUBSCORES,
  verdictRows,
} from './shared.ts';
import { GRADES } from '../src/slo/score.ts';

/** HTML text and attribute escaping: every string from the result goes through here. */
export const esc = (s: string | number): string =>
  String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function header(r: RunResult): string {
  const st = statusOf(r);
  const v = r.verdict;
  const chips = [
    `run <b>${esc(r.runId)}</b>`,
    `${esc(r.status)}${r.abort ? `: ${esc(r.abort.reason)}` : ''}`,
    `${esc(fmtDur(r.plan.durationMs))}${r.timeScale !== 1 ? ` at time scale ${esc(r.timeScale)}` : ''}`,
    `seed ${esc(r.seed)}`,
    `${esc(r.load.engine)} load on <b>${esc(r.load.target)}</b> ${esc(r.load.url)}`,
    `started ${esc(r.startedAt)}`,
  ];
  const gauge = v
    ? `<div class="gauge g-${esc(v.grade)}" style="--p:${Math.max(0, Math.min(100, v.score))}"><div><b>${esc(v.score)}</b><span>grade ${esc(v.grade)}</span></div></div>`
    : '';
  return `<header class="card hero s-${st}">
  <div class="hero-text">
    <div class="status-pill s-${st}">${esc(STATUS_LABEL[st])}</div>
    <h1>${esc(r.scenario.name)}</h1>
    ${r.scenario.description ? `<p class="desc">${esc(r.scenario.description)}</p>` : ''}
    <p class="meaning">${esc(STATUS_MEANING[st])}${v ? ` (service <b>${esc(v.service)}</b>)` : ''}.</p>
    ${v?.reasons.length ? `<ul class="reasons">${v.reasons.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : ''}
    <div class="chips">${chips.map((c) => `<span>${c}</span>`).join('')}</div>
  </div>
  ${gauge}
</header>`;
}

export function kpis(r: RunResult): string {
  const t = r.totals;
  const v = r.verdict;
  const worstTtr = v?.recovery.length
    ? v.recovery.reduce((w, x) => (x.ttrMs === null || (w.ttrMs !== null && x.ttrMs > w.ttrMs) ? x : w))
    : null;
  const tiles: [string, string, string, string?][] = [
    [
      'requests sent',
      fmtInt(t.sent),
      `of ${fmtInt(t.requested)} requested${t.dropped ? `, ${fmtInt(t.dropped)} dropped` : ''}`,
    ],
    [
      'success',
      fmtPct(t.sent ? t.ok / t.sent : null),
      `${fmtInt(t.failed)} failed`,
      t.failed ? 'bad' : 'good',
    ],
    [
      'p99 latency',
      fmtMs(t.latencyMs?.p99),
      `p50 ${fmtMs(t.latencyMs?.p50)} · max ${fmtMs(t.latencyMs?.max)}`,
    ],
    [
      'time to recover',
      worstTtr ? (worstTtr.ttrMs === null ? 'never' : fmtDur(worstTtr.ttrMs)) : dash,
      worstTtr ? `${worstTtr.fault}, objective ${fmtDur(worstTtr.objectiveMs)}` : 'no fault ended',
      worstTtr?.pass === false ? 'bad' : undefined,
    ],
    [
      'error budget burned',
      v?.budget ? fmtPct(v.budget.burned, 4) : dash,
      v?.budget
        ? `peak burn ${fmtNum(v.budget.peakBurnRate, 1)}× · max ${fmtPct(v.budget.maxSpend, 2)}`
        : 'no budget',
      v?.budget?.pass === false ? 'bad' : undefined,
    ],
    [
      'robustness',
      v ? fmtPct(v.degradation.robustness, 1) : dash,
      v ? `loss ${fmtNum(v.degradation.lossS, 2)}s of full outage` : '',
    ],
  ];
  return `<section class="kpis">${tiles
    .map(
      ([k, val, sub, cls]) =>
        `<div class="card kpi ${cls ?? ''}"><span class="k">${esc(k)}</span><b>${esc(val)}</b><span class="sub">${esc(sub)}</span></div>`,
    )
    .join('')}</section>`;
}

export function verdictTable(v: Verdict): string {
  const phases = phasesIn(v);
  const secs = (p: string) => v.phases.find((x) => x.name === p);
  const head = phases
    .map(
      (p) =>
        `<th><span class="ph ph-${p}"></span>${esc(p)}<small>${secs(p)?.seconds.length ?? 0}s · ${fmtInt(secs(p)?.requests ?? 0)} req</small></th>`,
    )
    .join('');
  const rows = verdictRows(v)
    .map((row) => {
      const cells = phases
        .map((p) => {
          const c = row.cells[p];
          if (!c) return `<td class="c-none">${dash}</td>`;
          const cls = c.pass === null ? 'c-none' : c.pass ? 'c-pass' : c.gating ? 'c-fail' : 'c-info';
          const tags = `${c.gating ? '' : '<i title="not gating: shown for information">info</i>'}${c.lowConfidence ? `<i title="fewer than 100 requests (${c.requests})">low confidence</i>` : ''}`;
          return `<td class="${cls}"><b>${esc(c.actual)}</b> <span class="mark">${esc(c.mark)}</span>${tags ? `<div class="tags">${tags}</div>` : ''}</td>`;
        })
        .join('');
      return `<tr><th scope="row">${esc(row.name)}<small>target ${esc(row.target)}</small></th>${cells}</tr>`;
    })
    .join('\n');
  if (!rows)
    return '<p class="muted">No SLO objectives for this service: nothing was scored against targets.</p>';
  return `<table class="verdict"><thead><tr><th>objective</th>${head}</tr></thead><tbody>${rows}</tbody></table><p class="legend">${esc(LEGEND)}</p>`;
}

/** The grade band a 0-100 value falls in: only to colour a bar. */
const gradeOf = (s: number | null) =>
  s === null ? 'none' : (GRADES.find(([, min]) => s >= min)?.[0] ?? 'F');

export function scorePanel(v: Verdict): string {
  const bars = SUBSCORES.map((k) => {
    const s = v.subscores[k];
    return `<div class="sub"><div class="sub-head"><b>${esc(k)}</b><span>weight ${esc(v.weights[k])}</span><b>${s === null ? 'n/a' : esc(s)}</b></div>
<div class="bar g-${esc(gradeOf(s))}"><span style="width:${s ?? 0}%"></span></div><div class="muted small">${esc(SUBSCORE_MEANING[k])}</div></div>`;
  }).join('');
  const bands = GRADES.map(([g, min], i) => {
    const range = i === GRADES.length - 1 ? `< ${GRADES[i - 1]?.[1] ?? 0}` : `≥ ${min}`;
    return `<span class="band g-${esc(g)} ${v.grade === g ? 'on' : ''}">${esc(g)} <small>${esc(range)}</small></span>`;
  }).join('');
  const budget = budgetLine(v);
  return `${bars}<p class="formula"><code>${esc(SCORE_RULE)}</code><br><code>${esc(scoreFormula(v))}</code></p>
<div class="bands">${bands}</div>
<dl class="facts"><dt>error budget</dt><dd>${esc(budget ?? 'not computed: no availability or error-rate objective')}</dd><dt>degradation</dt><dd>${esc(degradationLine(v))}. Q(t) = min(1, availability(t) / baseline availability)</dd></dl>`;
}

export function warnings(r: RunResult): string {
  if (r.warnings.length === 0) return '';
  return `<section class="card warn"><h2>Warnings</h2><ul>${r.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></section>`;
}
