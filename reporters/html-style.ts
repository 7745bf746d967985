/** The HTML report's stylesheet (inlined; the report loads nothing from anywhere). */
export const STYLE = `
:root{--bg:#f4f6f8;--card:#fff;--line:#e3e6ea;--text:#1b1f24;--muted:#5c6570;--pass:#2f9e44;--pass-bg:#ebfbee;--fail:#e03131;--fail-bg:#fff0f0;
--warn:#e8590c;--warn-bg:#fff4e6;--info-bg:#f1f3f5;--accent:#1c7ed6}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--text);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1320px;margin:0 auto;padding:24px}
h1{font-size:28px;margin:6px 0 4px;letter-spacing:-.01em}
h2{font-size:16px;margin:0 0 12px;font-weight:650}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:18px 20px;box-shadow:0 1px 2px rgba(16,24,40,.04)}
section{margin-top:16px}
.muted{color:var(--muted)}.small{font-size:12px}
code{font:12.5px/1.6 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f1f3f5;border-radius:4px;padding:1px 5px}
.hero{display:flex;gap:24px;align-items:center;justify-content:space-between;border-left:6px solid var(--muted)}
.hero.s-pass{border-left-color:var(--pass)}.hero.s-fail{border-left-color:var(--fail)}.hero.s-inconclusive{border-left-color:var(--warn)}
.hero-text{min-width:0;flex:1}
.desc{margin:0 0 6px;font-size:15px;color:#343a40;max-width:80ch}
.meaning{margin:0;color:var(--muted)}
.reasons{margin:8px 0 0;padding-left:18px;color:#343a40}.reasons li{margin:2px 0}
.status-pill{display:inline-block;font-weight:700;font-size:12px;letter-spacing:.08em;padding:3px 10px;border-radius:999px;background:var(--info-bg);color:var(--muted)}
.status-pill.s-pass{background:var(--pass-bg);color:var(--pass)}.status-pill.s-fail{background:var(--fail-bg);color:var(--fail)}.status-pill.s-inconclusive,.status-pill.s-invalid,.status-pill.s-aborted{background:var(--warn-bg);color:var(--warn)}
.chips{display:flex;flex-wrap:wrap;gap:6px;margin-top:12px}
.chips span{background:#f1f3f5;border-radius:6px;padding:2px 8px;font-size:12px;color:#495057;overflow-wrap:anywhere}
.gauge{--c:var(--accent);flex:none;width:148px;height:148px;border-radius:50%;display:grid;place-items:center;
background:conic-gradient(var(--c) calc(var(--p)*1%),#e9ecef 0)}
.gauge>div{width:116px;height:116px;border-radius:50%;background:#fff;display:flex;flex-direction:column;align-items:center;justify-content:center}
.gauge b{font-size:34px;line-height:1}.gauge span{font-size:12px;color:var(--muted);margin-top:4px;text-transform:uppercase;letter-spacing:.08em}
.g-A{--c:#2f9e44}.g-B{--c:#74b816}.g-C{--c:#f59f00}.g-D{--c:#f76707}.g-F{--c:#e03131}
.kpis{display:grid;grid-template-columns:repeat(6,1fr);gap:12px}
.kpi{padding:14px 16px;display:flex;flex-direction:column;gap:2px;min-width:0}
.kpi .k{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em}
.kpi b{font-size:24px;font-weight:650}.kpi .sub{font-size:12px;color:var(--muted);overflow-wrap:anywhere}
.kpi.bad b{color:var(--fail)}.kpi.good b{color:var(--pass)}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.chart-card h2{display:flex;justify-content:space-between;align-items:baseline}
.chart-card h2 small{font-weight:400;color:var(--muted);font-size:12px}
.chart{width:100%;min-height:200px}
.chart-card.wide{grid-column:1/-1}
.keys{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;color:var(--muted);margin:0 0 4px}
.keys span{display:inline-flex;align-items:center;gap:6px}
.sw{display:inline-block;width:14px;height:10px;border-radius:2px;vertical-align:middle;margin:0 4px 0 10px}
.sw.band{background:rgba(250,82,82,.18);border:1px dashed rgba(224,49,49,.6)}.sw.sat{background:repeating-linear-gradient(90deg,#f59f00 0 4px,transparent 4px 6px);height:5px}
.sw.ph-baseline,.ph-baseline{background:#74c0fc}.sw.ph-fault,.ph-fault{background:#ff8787}.sw.ph-recovery,.ph-recovery{background:#8ce99a}
.uplot{font-family:inherit}.u-legend{font-size:12px;margin-top:2px}.u-legend .u-marker{border-radius:2px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid var(--line);vertical-align:top}
thead th{font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.04em}
th small,td small{display:block;font-weight:400;color:var(--muted);font-size:12px;text-transform:none;letter-spacing:0}
.verdict td{width:22%}.verdict tbody th{font-weight:600}
.flows table{margin-bottom:14px}.flows .num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.flows tbody th{font-weight:600;white-space:nowrap}
.flows ul{margin:6px 0 0;padding-left:18px;font-size:13px}.flows .notes{color:var(--fail)}
.ph{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
.c-pass{background:var(--pass-bg)}.c-pass .mark{color:var(--pass)}
.c-fail{background:var(--fail-bg)}.c-fail .mark,.c-fail b{color:var(--fail)}
.c-info{background:var(--warn-bg)}.c-info .mark{color:var(--warn)}
.c-none{color:var(--muted)}
.mark{font-weight:700}
.tags i{font-style:normal;font-size:11px;background:rgba(0,0,0,.06);border-radius:4px;padding:0 5px;margin-right:4px;color:#495057}
.legend{font-size:12px;color:var(--muted);margin:10px 0 0}
.timeline{margin:4px 0 8px}
.lane{display:grid;grid-template-columns:220px 1fr;gap:12px;align-items:center;margin:6px 0}
.lane-name{font-size:12.5px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.track{position:relative;height:20px;background:#f8f9fa;border-radius:4px}
.track span{position:absolute;top:0;bottom:0;border-radius:3px}
.track.phases{height:10px}
.planned,.sw.planned{border:1.5px dashed #adb5bd;background:transparent}
.active,.sw.active{background:#fa5252;top:4px!important;bottom:4px!important}
.ttr,.sw.ttr{background:repeating-linear-gradient(45deg,#8ce99a,#8ce99a 4px,#d3f9d8 4px,#d3f9d8 8px);top:4px!important;bottom:4px!important}
.ttr.never,.sw.never{background:repeating-linear-gradient(45deg,#ffa8a8,#ffa8a8 4px,#fff0f0 4px,#fff0f0 8px)}
.axis{position:relative;height:16px;font-size:11px;color:var(--muted)}
.axis span{position:absolute;transform:translateX(-50%)}.axis span:first-child{transform:none}.axis span:last-child{transform:translateX(-100%)}
.faults td:first-child{white-space:nowrap}.row-bad td{background:var(--fail-bg)}
.split{display:grid;grid-template-columns:3fr 2fr;gap:16px;align-items:start}
.sub{margin:0 0 12px}.sub-head{display:grid;grid-template-columns:1fr auto 56px;gap:8px;align-items:baseline}.sub-head span{font-size:12px;color:var(--muted)}
.sub-head b:last-child{text-align:right}
.bar{height:8px;background:#e9ecef;border-radius:4px;overflow:hidden;margin:4px 0 2px}.bar span{display:block;height:100%;background:var(--c,var(--accent));border-radius:4px}
.formula{margin:14px 0 10px;line-height:2}
.bands{display:flex;border-radius:6px;overflow:hidden;font-size:12px;font-weight:600;text-align:center}
.band{flex:1;padding:5px 0;background:color-mix(in srgb,var(--c) 18%,#fff);color:#343a40;opacity:.75}.band.on{background:var(--c);color:#fff;opacity:1}
.band small{font-weight:400;opacity:.8;display:inline}
.facts{margin:14px 0 0;display:grid;grid-template-columns:max-content 1fr;gap:6px 12px;font-size:13px}.facts dt{color:var(--muted)}.facts dd{margin:0}
.warn{border-left:6px solid #f59f00}.warn ul{margin:0;padding-left:18px}
footer{margin:20px 0 8px;font-size:12px;color:var(--muted);text-align:center}
@media (max-width:1000px){.kpis{grid-template-columns:repeat(3,1fr)}.grid2,.split{grid-template-columns:1fr}.hero{flex-direction:column;align-items:flex-start}}
@media print{body{background:#fff}.card{box-shadow:none;break-inside:avoid}}
`;
