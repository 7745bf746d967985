/**
 * report.html: one self-contained page (uPlot inlined, no URL loaded) with the load, latency,
 * error, degradation and host charts, the verdict table, the fault timeline and the score.
 * After the charts draw, body[data-charts-rendered] holds how many did.
 */
import type { RunResult } from '../src/result.ts';
import { chartData, scriptJson, uplotAssets } from './html-charts.ts';
import { CLIENT_SCRIPT } from './html-client.ts';
import { esc, header, kpis, scorePanel, verdictTable, warnings } from './html-sections.ts';
import { flowsSection, streamsSection } from './html-flows.ts';
import { faultTimeline } from './html-timeline.ts';
import { STYLE } from './html-style.ts';
import { STATUS_LABEL, statusOf, type Reporter } from './shared.ts';

function chartCard(name: string, title: string, note: string, wide = false): string {
  return `<div class="card chart-card${wide ? ' wide' : ''}"><h2>${esc(title)}<small>${esc(note)}</small></h2><div class="chart" data-chart="${name}"></div></div>`;
}

function charts(r: RunResult): string {
  const keys = `<p class="keys"><span><i class="sw ph-baseline"></i>baseline</span><span><i class="sw ph-fault"></i>fault</span><span><i class="sw ph-recovery"></i>recovery</span>
<span><i class="sw band"></i>fault applied → reverted</span><span><i class="sw sat"></i>generator saturated (latency there may be the generator's)</span></p>`;
  const main = [
    chartCard('load', 'Rate: requested vs achieved', 'requests per second'),
    chartCard('latency', 'Latency from the intended send', 'p50 / p95 / p99 per second'),
    chartCard('errors', 'Errors by kind', 'failed requests per second'),
    r.verdict ? chartCard('degradation', 'Degradation Q(t)', 'availability relative to the baseline') : '',
    r.host.length ? chartCard('host', 'Host', 'CPU and memory use (and GPUs), percent', true) : '',
  ].join('');
  return `<section>${keys}<div class="grid2">${main}</div></section>`;
}

function render(r: RunResult): string {
  const { js, css } = uplotAssets();
  const v = r.verdict;
  const title = `${r.scenario.name}: ${STATUS_LABEL[statusOf(r)]}${v ? `, score ${v.score} (${v.grade})` : ''} — chaoskit`;
  const verdict = v
    ? `<section class="card"><h2>SLO objectives by phase</h2>${verdictTable(v)}</section>`
    : '';
  const score = v
    ? `<section class="card"><h2>Resilience score ${esc(v.score)} / 100 · grade ${esc(v.grade)}</h2>${scorePanel(v)}</section>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="chaoskit ${esc(r.tool.version)}">
<title>${esc(title)}</title>
<style>${css}</style>
<style>${STYLE}</style>
</head>
<body>
<main>
${header(r)}
${kpis(r)}
${charts(r)}
${streamsSection(r)}
${flowsSection(r)}
${verdict}
<div class="split"><section class="card"><h2>Fault timeline</h2>${faultTimeline(r)}</section>${score}</div>
${warnings(r)}
<footer>chaoskit ${esc(r.tool.version)} · results.json schema ${esc(r.schemaVersion)} · ${esc(r.startedAt)} → ${esc(r.endedAt)} · re-render with <code>chaos report results.json --format html</code></footer>
</main>
<script type="application/json" id="chart-data">${scriptJson(chartData(r))}</script>
<script>${js}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`;
}

export const html: Reporter = { file: 'report.html', render };
