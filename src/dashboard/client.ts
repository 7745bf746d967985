/**
 * The dashboard's browser script: follows /events (a snapshot, then changes; see model.ts),
 * keeps the run's state and redraws at most once per message burst. Charts are uPlot, drawn as
 * in the HTML report (fault windows shaded, phases on a strip along the top). When the run ends
 * it closes the stream, keeps everything on screen, and saves both reports into the page
 * (blob URLs), so their links still work once the CLI has exited.
 * body[data-updates] counts redraws; body[data-state] is the run's state (for tests and people).
 */
export const DASHBOARD_SCRIPT = String.raw`
(function () {
  'use strict';
  var S = { run: null, live: [], finals: [], faults: [], state: 'starting', stopReason: null, end: null, log: [], dims: {} };
  var KIND = ['#e03131', '#f76707', '#fab005', '#ae3ec9', '#7048e8', '#1098ad', '#5c940d', '#868e96'];
  var PHASE = ['#74c0fc', '#a5d8ff'];
  var $ = function (id) { return document.getElementById(id); };
  var px = function (n) { return Math.round(n * uPlot.pxRatio); };
  var esc = function (v) { return String(v).replace(/[&<>"]/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]; }); };
  var n0 = function (v) { return v == null ? '–' : Math.round(v).toLocaleString('en-US'); };
  var ms = function (v) { return v == null ? '–' : v >= 1000 ? (v / 1000).toFixed(2) + ' s' : (+v.toFixed(1)) + ' ms'; };
  var updates = 0, pending = false, charts = {}, kindsKey = '';

  function dimKey(p) { return p.stream || p.profile ? (p.stream || '') + '\u0000' + (p.profile || '') : ''; }

  function apply(m) {
    switch (m.type) {
      case 'snapshot':
        S = { run: m.run, live: [], finals: [], faults: m.faults, state: m.state, stopReason: m.stopReason, end: m.end, log: m.log, dims: {} };
        m.live.forEach(function (p) { addLive(p); });
        m.finals.forEach(function (p) { addFinal(p); });
        if (!S.run) { $('title').textContent = m.scenario || 'chaoskit'; }
        break;
      case 'run': S.run = m.run; S.state = 'running'; break;
      case 'second': addLive(m.point); break;
      case 'final': addFinal(m.point); break;
      case 'fault':
        var i = S.faults.findIndex(function (f) { return f.id === m.fault.id; });
        if (i < 0) S.faults.push(m.fault); else S.faults[i] = m.fault;
        break;
      case 'state': S.state = m.state; S.stopReason = m.reason; break;
      case 'log': S.log.push(m.line); if (S.log.length > 50) S.log.shift(); break;
      case 'end': S.end = m.end; S.state = 'finished'; ended(); break;
    }
  }
  function addLive(p) { if (dimKey(p)) S.dims[dimKey(p)] = p; else S.live.push(p); }
  function addFinal(p) {
    if (dimKey(p)) return;
    var i = 0;
    while (i < S.finals.length && S.finals[i].t < p.t) i++;
    if (S.finals[i] && S.finals[i].t === p.t) S.finals[i] = p; else S.finals.splice(i, 0, p);
  }

  var es = new EventSource('/events');
  es.onopen = function () { conn('live', false); };
  es.onmessage = function (e) { apply(JSON.parse(e.data)); schedule(); };
  es.onerror = function () { if (S.end) { es.close(); conn('run over: this page keeps what it received', false); } else conn('connection lost: retrying…', true); };
  function conn(text, bad) { var c = $('conn'); c.textContent = text; c.className = 'conn' + (bad ? ' lost' : ''); }

  function ended() {
    es.close();
    conn('run over: this page keeps what it received', false);
    // Keep both reports in the page: the server goes away with the CLI.
    ['report', 'results'].forEach(function (k) {
      fetch(S.end.links[k]).then(function (r) { return r.ok ? r.blob() : null; }).then(function (b) {
        if (!b) return;
        S.end['saved_' + k] = URL.createObjectURL(b);
        schedule();
      }).catch(function () {});
    });
  }

  function schedule() { if (!pending) { pending = true; setTimeout(render, 0); } }

  function render() {
    pending = false;
    updates++;
    document.body.dataset.updates = String(updates);
    document.body.dataset.state = S.state;
    header(); kpis(); drawCharts(); phases(); faults(); finals(); breakdown(); endCard();
    $('log').textContent = S.log.join('\n');
  }

  function last() { return S.live.length ? S.live[S.live.length - 1] : null; }

  function header() {
    var r = S.run, l = last();
    $('top').className = 'card top s-' + S.state;
    var st = $('state');
    st.textContent = S.state + (S.stopReason ? ': ' + S.stopReason : '');
    st.className = 'status-pill' + (S.state === 'finished' && S.end && S.end.verdict ? ' s-' + S.end.verdict.status : '');
    if (!r) return;
    $('title').textContent = r.scenario;
    $('desc').textContent = r.description;
    $('meta').textContent = 'run ' + r.runId + ' · seed ' + r.seed + (r.timeScale !== 1 ? ' · time scale ' + r.timeScale : '') + ' · load started ' + r.loadStartedAt;
    var el = S.end ? S.end.ranS : l ? l.t + 1 : 0;
    $('bar').style.width = Math.min(100, (100 * el) / Math.max(0.001, r.durationS)).toFixed(1) + '%';
    $('elapsed').textContent = el.toFixed(0) + ' s of ' + r.durationS.toFixed(0) + ' s';
  }

  function setKpi(id, v, sub, bad) {
    var k = $('k-' + id);
    k.querySelector('b').textContent = v;
    k.querySelector('.sub').textContent = sub || '\u00a0';
    k.className = 'card kpi' + (bad ? ' bad' : '');
    k.dataset.value = v;
  }

  function kpis() {
    var l = last();
    if (!l) return;
    setKpi('requested', n0(l.requested), 'second ' + l.t);
    setKpi('achieved', n0(l.achieved), l.achieved < l.requested * 0.95 ? 'below the requested rate' : 'total sent ' + n0(l.totalSent), l.achieved < l.requested * 0.95);
    setKpi('p99', ms(l.p99), 'p50 ' + ms(l.p50));
    setKpi('errors', n0(l.failed), 'total failed ' + n0(l.totalFailed), l.failed > 0);
    setKpi('outstanding', n0(l.outstanding), l.dropped ? l.dropped + ' dropped' : '', l.dropped > 0);
    var active = S.faults.filter(function (f) { return f.appliedAtS != null && f.revertedAtS == null; });
    setKpi('faults', String(active.length), active.map(function (f) { return f.id + ' ' + f.type; }).join(', '), active.length > 0);
  }

  // ---- charts (as in the HTML report) ----
  function xOf(p) { return p.t + 0.5; }
  function nowS() { var l = last(); return S.end ? S.end.ranS : l ? l.t + 1 : 0; }
  function underlay(u) {
    var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
    ctx.save();
    S.faults.forEach(function (f) {
      if (f.appliedAtS == null) return;
      var a = u.valToPos(f.appliedAtS, 'x', true), b = u.valToPos(f.revertedAtS == null ? nowS() : f.revertedAtS, 'x', true);
      ctx.fillStyle = 'rgba(250, 82, 82, 0.10)';
      ctx.fillRect(a, top, Math.max(1, b - a), h);
    });
    ctx.restore();
  }
  function overlay(u) {
    var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
    ctx.save();
    (S.run ? S.run.phases : []).forEach(function (p, i) {
      var a = u.valToPos(p.startS, 'x', true), b = u.valToPos(p.endS, 'x', true);
      ctx.fillStyle = PHASE[i % 2];
      ctx.fillRect(a, top - px(11), b - a, px(6));
    });
    ctx.font = '600 ' + px(10.5) + 'px system-ui, sans-serif';
    ctx.textBaseline = 'top';
    ctx.fillStyle = '#c92a2a';
    S.faults.forEach(function (f) { if (f.appliedAtS != null) ctx.fillText(f.id + ' ' + f.type, u.valToPos(f.appliedAtS, 'x', true) + px(4), top + px(4)); });
    ctx.fillStyle = 'rgba(245, 159, 0, 0.85)';
    S.live.forEach(function (p) {
      if (!p.saturated) return;
      var a = u.valToPos(p.t, 'x', true), b = u.valToPos(p.t + 1, 'x', true);
      ctx.fillRect(a, top + h - px(5), b - a, px(5));
    });
    ctx.restore();
  }
  function line(label, color, extra) {
    var s = { label: label, stroke: color, width: 2, points: { show: false }, spanGaps: false };
    for (var k in extra || {}) s[k] = extra[k];
    return s;
  }
  function chart(name, series, data, tick) {
    var el = document.querySelector('[data-chart="' + name + '"]');
    var c = charts[name];
    if (c && c.n === series.length) { c.u.setData(data); return; }
    if (c) c.u.destroy();
    var u = new uPlot({
      width: Math.max(300, el.clientWidth), height: 200, padding: [16, 12, 0, 0],
      cursor: { sync: { key: 'live' } },
      scales: { x: { time: false, range: function () { return [0, Math.max(S.run ? S.run.durationS : 10, nowS())]; } }, y: { range: function (u, lo, hi) { return [0, hi > 0 ? hi * 1.1 : 1]; } } },
      axes: [
        { stroke: '#5c6570', grid: { stroke: '#eef0f3', width: 1 }, values: function (u, vs) { return vs.map(function (v) { return v + 's'; }); } },
        { stroke: '#5c6570', grid: { stroke: '#eef0f3', width: 1 }, size: 56, values: function (u, vs) { return vs.map(function (v) { return tick ? tick(v) : v; }); } },
      ],
      series: [{ label: 't' }].concat(series),
      hooks: { drawClear: [underlay], draw: [overlay] },
    }, data, el);
    charts[name] = { u: u, n: series.length };
  }
  function drawCharts() {
    var L = S.live, x = L.map(xOf);
    chart('load', [line('requested', '#868e96', { dash: [6, 4] }), line('achieved', '#1c7ed6'), line('ok', '#2f9e44', { fill: 'rgba(47, 158, 68, 0.08)' })],
      [x, L.map(function (p) { return p.requested; }), L.map(function (p) { return p.achieved; }), L.map(function (p) { return p.ok; })]);
    chart('latency', [line('p50', '#15aabf'), line('p95', '#f59f00'), line('p99', '#e03131')],
      [x, L.map(function (p) { return p.p50; }), L.map(function (p) { return p.p95; }), L.map(function (p) { return p.p99; })],
      function (v) { return v >= 1000 ? v / 1000 + 's' : v + 'ms'; });
    var tot = {};
    L.forEach(function (p) { for (var k in p.errors) tot[k] = (tot[k] || 0) + p.errors[k]; });
    var kinds = Object.keys(tot).sort(function (a, b) { return tot[b] - tot[a]; });
    if (!kinds.length) kinds = ['no errors'];
    if (kinds.join() !== kindsKey && charts.errors) { charts.errors.u.destroy(); delete charts.errors; }
    kindsKey = kinds.join();
    var bars = uPlot.paths.bars({ size: [0.85, 64] }), series = [], data = [x], acc = x.map(function () { return 0; }), cum = [];
    kinds.forEach(function (k) { acc = acc.map(function (a, i) { return a + (L[i].errors[k] || 0); }); cum.push(acc); });
    for (var i = kinds.length - 1; i >= 0; i--) {
      series.push({ label: kinds[i], stroke: KIND[i % KIND.length], fill: KIND[i % KIND.length] + 'cc', width: 0, paths: bars, points: { show: false } });
      data.push(cum[i]);
    }
    chart('errors', series, data);
  }

  function table(id, head, rows) {
    $(id).innerHTML = '<thead><tr>' + head.map(function (h) { return '<th>' + h + '</th>'; }).join('') + '</tr></thead><tbody>' + rows.join('') + '</tbody>';
  }
  function phases() {
    if (!S.run) return;
    var t = nowS();
    table('phases', ['#', 'phase', 'from', 'to', 'peak /s'], S.run.phases.map(function (p) {
      var now = !S.end && t >= p.startS && t < p.endS;
      return '<tr' + (now ? ' class="now"' : '') + ' data-phase="' + p.index + '"><td>' + p.index + '</td><td>' + esc(p.name) + ' <small>' + esc(p.kind) + '</small></td><td>' + p.startS + ' s</td><td>' + p.endS + ' s</td><td class="num">' + n0(p.peakRate) + '</td></tr>';
    }));
  }
  function faults() {
    table('faults', ['fault', 'target', 'applied', 'reverted', 'status'], S.faults.map(function (f) {
      return '<tr data-fault="' + esc(f.id) + '"' + (f.status === 'revert-failed' ? ' class="row-bad"' : '') + '><td>' + esc(f.id) + ' ' + esc(f.type) + '</td><td>' + esc(f.target) + '</td><td>' + (f.appliedAtS == null ? '–' : f.appliedAtS.toFixed(1) + ' s') + '</td><td>' + (f.revertedAtS == null ? '–' : f.revertedAtS.toFixed(1) + ' s') + '</td><td>' + esc(f.status) + '</td></tr>';
    }));
  }
  var FINAL_COLS = ['requested', 'sent', 'ok', 'failed', 'dropped', 'p50', 'p99'];
  function finals() {
    var rows = S.finals.slice(-12).reverse().map(function (p) {
      return '<tr data-t="' + p.t + '"><td>' + p.t + '</td>' + FINAL_COLS.map(function (k) {
        var v = p[k];
        return '<td class="num" data-k="' + k + '" data-v="' + (v == null ? '' : v) + '">' + (k[0] === 'p' ? ms(v) : n0(v)) + '</td>';
      }).join('') + '</tr>';
    });
    table('finals', ['second'].concat(FINAL_COLS), rows);
  }
  function breakdown() {
    var rows = [];
    Object.keys(S.dims).forEach(function (k) {
      var p = S.dims[k];
      rows.push('<tr><td>' + esc(p.stream || '') + '</td><td>' + esc(p.profile || '') + '</td><td class="num">' + n0(p.achieved) + '/s</td><td class="num">' + n0(p.failed) + '/s</td><td class="num">' + ms(p.p99) + '</td></tr>');
    });
    (S.end ? S.end.breakdown : []).forEach(function (b) {
      rows.push('<tr data-profile="' + esc(b.profile || '') + '"><td>' + esc(b.stream || '') + '</td><td>' + esc(b.profile || '') + '</td><td class="num">' + n0(b.sent) + ' sent</td><td class="num">' + n0(b.failed) + ' failed</td><td class="num">' + ms(b.p99) + '</td></tr>');
    });
    if (!rows.length) rows.push('<tr><td colspan="5" class="muted">one stream, one request: the charts are the whole picture' + (S.end ? '' : ' (per-request figures come when the run ends)') + '</td></tr>');
    table('breakdown', ['stream', 'request / step', 'sent', 'failed', 'p99'], rows);
  }
  function endCard() {
    var e = S.end, el = $('end');
    if (!e) return;
    el.hidden = false;
    var v = e.verdict;
    var report = e.saved_report || e.links.report, results = e.saved_results || e.links.results;
    el.dataset.reports = e.saved_report && e.saved_results ? 'saved' : 'server';
    el.innerHTML = '<h2>Run ' + esc(e.status) + (v ? ': <span class="status-pill s-' + esc(v.status) + '">' + esc(v.status) + '</span> score ' + v.score + ' (' + esc(v.grade) + ')' : '') + '</h2>' +
      (v && v.reasons.length ? '<ul class="reasons">' + v.reasons.map(function (r) { return '<li>' + esc(r) + '</li>'; }).join('') + '</ul>' : '') +
      '<p id="totals" data-requested="' + e.totals.requested + '" data-sent="' + e.totals.sent + '" data-ok="' + e.totals.ok + '" data-failed="' + e.totals.failed + '">' +
      n0(e.totals.requested) + ' requested · ' + n0(e.totals.sent) + ' sent · ' + n0(e.totals.ok) + ' ok · ' + n0(e.totals.failed) + ' failed · ' + n0(e.totals.dropped) + ' dropped · p99 ' + ms(e.totals.p99) + ' · ran ' + e.ranS + ' s</p>' +
      '<p class="links"><a id="report-link" href="' + report + '" target="_blank" download="report.html">final report</a><a id="results-link" href="' + results + '" download="results.json">results.json</a></p>' +
      (e.files.length ? '<p class="small muted">written: ' + e.files.map(esc).join(', ') + '</p>' : '');
  }

  window.addEventListener('resize', function () {
    for (var k in charts) { var c = charts[k]; c.u.setSize({ width: Math.max(300, c.u.root.parentNode.clientWidth), height: 200 }); }
  });
})();
`;
