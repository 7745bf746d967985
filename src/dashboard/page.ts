/**
 * The dashboard page: the HTML report's stylesheet and charting library (uPlot, inlined from
 * node_modules: the page loads nothing from anywhere), and the script in client.ts that follows
 * /events. Built once per dashboard.
 */
import { uplotAssets } from '../../reporters/html-charts.ts';
import { STYLE } from '../../reporters/html-style.ts';
import { DASHBOARD_SCRIPT } from './client.ts';

const EXTRA_STYLE = `
.top{display:flex;gap:20px;align-items:center;justify-content:space-between;border-left:6px solid var(--accent)}
.top.s-finished{border-left-color:var(--pass)}.top.s-stopping{border-left-color:var(--warn)}
.prog{width:260px}.prog .bar{height:10px}.prog .muted{font-size:12px}
.conn{font-size:12px;color:var(--muted)}.conn.lost{color:var(--fail)}
.kpis{grid-template-columns:repeat(6,1fr)}
#log{max-height:180px;overflow:auto;margin:0;font:12px/1.5 ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap}
tr.now td{background:#e7f5ff}.num{text-align:right;font-variant-numeric:tabular-nums}
#end .links a{margin-right:16px;font-weight:600}
`;

const kpi = (id: string, label: string) =>
  `<div class="card kpi" id="k-${id}"><span class="k">${label}</span><b>–</b><span class="sub">&nbsp;</span></div>`;

const chartCard = (name: string, title: string, note: string) =>
  `<div class="card chart-card"><h2>${title}<small>${note}</small></h2><div class="chart" data-chart="${name}"></div></div>`;

export function dashboardPage(): string {
  const { js, css } = uplotAssets();
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>chaoskit live</title>
<style>${css}</style>
<style>${STYLE}${EXTRA_STYLE}</style>
</head>
<body data-state="starting" data-updates="0">
<main>
<section class="card top" id="top">
  <div class="hero-text">
    <span class="status-pill" id="state">starting</span> <span class="conn" id="conn">connecting…</span>
    <h1 id="title">chaoskit</h1>
    <p class="desc" id="desc"></p>
    <p class="meaning small" id="meta"></p>
  </div>
  <div class="prog"><div class="bar"><span id="bar" style="width:0%"></span></div><div class="muted" id="elapsed">–</div></div>
</section>
<section class="kpis">${kpi('requested', 'requested /s')}${kpi('achieved', 'achieved /s')}${kpi('p99', 'p99 latency')}${kpi('errors', 'errors /s')}${kpi('outstanding', 'outstanding')}${kpi('faults', 'faults active')}</section>
<section class="card" id="end" hidden></section>
<section>
<p class="keys"><span><i class="sw band"></i>fault applied → reverted</span><span><i class="sw ph-baseline"></i>pattern phases (alternating)</span><span><i class="sw sat"></i>generator saturated</span><span>live view: what ended each second, plus the age of what is still outstanding</span></p>
<div class="grid2">
${chartCard('load', 'Rate: requested vs achieved', 'per second, live')}
${chartCard('latency', 'Latency from the intended send', 'p50 / p95 / p99, live')}
${chartCard('errors', 'Errors by kind', 'failed requests per second')}
<div class="card"><h2>Pattern phases</h2><table id="phases"></table><h2 style="margin-top:16px">Fault windows</h2><table id="faults"></table></div>
</div>
</section>
<div class="split">
<section class="card"><h2>Finished seconds <small class="muted">exact, as results.json has them (a second finishes when all its requests have ended)</small></h2><table id="finals"></table></section>
<section class="card"><h2>Per stream and step</h2><table id="breakdown"></table><h2 style="margin-top:16px">Log</h2><pre id="log"></pre></section>
</div>
<footer>chaoskit live dashboard · the page keeps what it received when the run ends</footer>
</main>
<script>${js}</script>
<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;
}
