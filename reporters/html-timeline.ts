/** The HTML report's fault timeline: a lane per fault (planned, applied → reverted, time to recover) and the table. */
import type { RunResult } from '../src/result.ts';
import { esc } from './html-sections.ts';
import { faultRows, fmtDur, phaseSegments, ttrText } from './shared.ts';

const pctOf = (part: number, whole: number) =>
  `${Math.max(0, Math.min(100, (100 * part) / Math.max(whole, 1e-9))).toFixed(3)}%`;

export function faultTimeline(r: RunResult): string {
  if (r.faults.length === 0) return '<p class="muted">This scenario injects no faults.</p>';
  const total = Math.max(r.plan.durationMs, r.timeline.length * 1000);
  const strip = r.verdict
    ? phaseSegments(r.verdict)
        .map(
          (p) =>
            `<span class="ph-${p.name}" style="left:${pctOf(p.start * 1000, total)};width:${pctOf((p.end - p.start) * 1000, total)}" title="${esc(p.name)} ${p.start}s–${p.end}s"></span>`,
        )
        .join('')
    : '';
  const lanes = faultRows(r)
    .map((f) => {
      const x = f.fault;
      const planned = `<span class="planned" style="left:${pctOf(x.plannedStartMs, total)};width:${pctOf(x.plannedEndMs - x.plannedStartMs, total)}"></span>`;
      const end = x.revertedAtMs ?? total;
      const active =
        x.appliedAtMs === null
          ? ''
          : `<span class="active" style="left:${pctOf(x.appliedAtMs, total)};width:${pctOf(end - x.appliedAtMs, total)}"></span>`;
      const rec = r.verdict?.recovery.find((y) => y.fault === x.id);
      const ttrMs = rec ? (rec.ttrMs ?? total - rec.endMs) : 0;
      const ttr = rec
        ? `<span class="ttr ${rec.ttrMs === null ? 'never' : ''}" style="left:${pctOf(rec.endMs, total)};width:${pctOf(ttrMs, total)}" title="${esc(ttrText(rec))}"></span>`
        : '';
      return `<div class="lane"><div class="lane-name"><b>${esc(f.id)}</b> ${esc(f.what)}</div><div class="track">${planned}${active}${ttr}</div></div>`;
    })
    .join('');
  const axis = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => `<span style="left:${f * 100}%">${esc(fmtDur(total * f))}</span>`)
    .join('');
  const rows = faultRows(r)
    .map((f) => {
      const bad = f.status === 'revert-failed' || f.status === 'apply-failed';
      const extra = [
        f.fault.description,
        f.fault.error ? `error: ${f.fault.error}` : '',
        bad && f.fault.manualRevert ? `revert by hand: ${f.fault.manualRevert}` : '',
        ...f.fault.observations,
      ]
        .filter(Boolean)
        .map((s) => `<div>${esc(s)}</div>`)
        .join('');
      return `<tr class="${bad ? 'row-bad' : ''}"><td><b>${esc(f.id)}</b></td><td>${esc(f.what)}<div class="muted small">${extra}</div></td><td>${esc(f.planned)}</td><td>${esc(f.actual)}</td><td>${esc(f.status)}${f.fault.revertedBy ? `<div class="muted small">by ${esc(f.fault.revertedBy)}</div>` : ''}</td><td>${esc(f.ttr)} <span class="mark">${esc(f.ttrMark)}</span></td></tr>`;
    })
    .join('');
  return `<div class="timeline"><div class="lane"><div class="lane-name muted">phases</div><div class="track phases">${strip}</div></div>${lanes}<div class="lane"><div class="lane-name"></div><div class="axis">${axis}</div></div></div>
<p class="legend"><span class="sw planned"></span>planned <span class="sw active"></span>applied → reverted <span class="sw ttr"></span>time to recover <span class="sw never"></span>not recovered</p>
<table class="faults"><thead><tr><th>fault</th><th>what</th><th>planned</th><th>applied → reverted</th><th>status</th><th>TTR</th></tr></thead><tbody>${rows}</tbody></table>`;
}
