/**
 * The browser script of the HTML report: draws every `[data-chart]` element with uPlot from the
 * JSON in #chart-data (html-charts.ts). Fault windows are shaded, phases marked on a strip along
 * the top, saturated generator seconds along the bottom. Plain ES5 so any browser runs it.
 */
/** Draws every `[data-chart]` element; sets body[data-charts-rendered] once each has drawn. */
export const CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('chart-data').textContent);
  var PHASE = { baseline: '#74c0fc', fault: '#ff8787', recovery: '#8ce99a' };
  var KIND = ['#e03131', '#f76707', '#fab005', '#ae3ec9', '#7048e8', '#1098ad', '#5c940d', '#868e96'];
  var px = function (n) { return Math.round(n * uPlot.pxRatio); };
  var charts = [], drawn = 0, wanted = 0;
  var fmt = function (unit, digits) {
    return function (u, v) { return v == null ? '–' : (+v.toFixed(digits)).toLocaleString('en-US') + unit; };
  };

  function underlay(u) {
    var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
    ctx.save();
    D.faults.forEach(function (f) {
      var a = u.valToPos(f.start, 'x', true), b = u.valToPos(f.end, 'x', true);
      ctx.fillStyle = 'rgba(250, 82, 82, 0.10)';
      ctx.fillRect(a, top, Math.max(1, b - a), h);
      ctx.strokeStyle = 'rgba(224, 49, 49, 0.55)';
      ctx.lineWidth = px(1);
      ctx.setLineDash([px(4), px(3)]);
      [a, b].forEach(function (x) { ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + h); ctx.stroke(); });
    });
    ctx.restore();
  }

  // Above the plot: the phase strip. Inside: fault labels at the top, saturated seconds along the bottom.
  function overlay(u) {
    var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
    ctx.save();
    D.phases.forEach(function (p) {
      var a = u.valToPos(p.start, 'x', true), b = u.valToPos(p.end, 'x', true);
      ctx.fillStyle = PHASE[p.name];
      ctx.fillRect(a, top - px(11), b - a, px(6));
    });
    ctx.font = '600 ' + px(10.5) + 'px system-ui, sans-serif';
    ctx.textBaseline = 'top';
    ctx.fillStyle = '#c92a2a';
    D.faults.forEach(function (f) {
      var a = u.valToPos(f.start, 'x', true), b = u.valToPos(f.end, 'x', true);
      if (u.bbox.left + u.bbox.width - a > ctx.measureText(f.label).width + px(6)) ctx.fillText(f.label, a + px(4), top + px(4));
    });
    ctx.fillStyle = 'rgba(245, 159, 0, 0.85)';
    D.saturated.forEach(function (t) {
      var a = u.valToPos(t, 'x', true), b = u.valToPos(t + 1, 'x', true);
      for (var x = a; x < b - px(1); x += px(6)) ctx.fillRect(x, top + h - px(5), Math.min(px(4), b - x), px(5));
    });
    ctx.restore();
  }

  function chart(name, series, data, y) {
    var el = document.querySelector('[data-chart="' + name + '"]');
    if (!el) return;
    wanted++;
    var first = true;
    var opts = {
      width: Math.max(300, el.clientWidth),
      height: y.height || 200,
      padding: [16, 12, 0, 0],
      cursor: { sync: { key: 'chaoskit' }, drag: { x: true, y: false } },
      scales: { x: { time: false, range: y.xRange || [0, D.durationS] }, y: { range: y.range || function (u, lo, hi) { return [0, hi > 0 ? hi * 1.1 : 1]; } } },
      axes: [
        { stroke: '#5c6570', grid: { stroke: '#eef0f3', width: 1 }, ticks: { stroke: '#e3e6ea' }, values: function (u, vs) { return vs.map(function (v) { return v + 's'; }); } },
        { stroke: '#5c6570', grid: { stroke: '#eef0f3', width: 1 }, ticks: { stroke: '#e3e6ea' }, size: 56, values: function (u, vs) { return vs.map(function (v) { return y.tick ? y.tick(v) : v; }); } },
      ],
      series: [{ label: 't', value: function (u, v) { return v == null ? '–' : Math.floor(v) + 's'; } }].concat(series),
      hooks: {
        drawClear: [underlay],
        draw: [function (u) {
          overlay(u);
          if (first) { first = false; drawn++; if (drawn === wanted) document.body.dataset.chartsRendered = String(drawn); }
        }],
      },
    };
    charts.push({ el: el, u: new uPlot(opts, data, el) });
  }

  var line = function (label, color, unit, extra) {
    var s = { label: label, stroke: color, width: 2, value: fmt(unit, unit === '/s' ? 0 : 1), spanGaps: false, points: { show: false } };
    for (var k in extra || {}) s[k] = extra[k];
    return s;
  };

  chart('load', [
    line('requested', '#868e96', '/s', { dash: [6, 4] }),
    line('sent (achieved)', '#1c7ed6', '/s'),
    line('ok', '#2f9e44', '/s', { fill: 'rgba(47, 158, 68, 0.08)' }),
  ], [D.x, D.requested, D.sent, D.ok], {});

  chart('latency', [line('p50', '#15aabf', 'ms'), line('p95', '#f59f00', 'ms'), line('p99', '#e03131', 'ms')],
    [D.x, D.p50, D.p95, D.p99], { tick: function (v) { return v >= 1000 ? v / 1000 + 's' : v + 'ms'; } });

  // Errors stacked: each series is drawn as the cumulative total up to its kind, tallest first,
  // so later bars cover the lower part of earlier ones; the legend shows each kind's own count.
  var kinds = D.errors.length ? D.errors : [{ kind: 'no errors', values: D.x.map(function () { return 0; }) }];
  var cum = [], acc = D.x.map(function () { return 0; });
  kinds.forEach(function (k) { acc = acc.map(function (a, i) { return a + k.values[i]; }); cum.push(acc); });
  var bars = uPlot.paths.bars({ size: [0.85, 64] });
  var errSeries = [], errData = [D.x];
  for (var i = kinds.length - 1; i >= 0; i--) {
    (function (k, idx) {
      errSeries.push({ label: k.kind, stroke: KIND[idx % KIND.length], fill: KIND[idx % KIND.length] + 'cc', width: 0, paths: bars, points: { show: false },
        value: function (u, v, si, j) { return j == null ? '–' : String(k.values[j]) + '/s'; } });
    })(kinds[i], i);
    errData.push(cum[i]);
  }
  chart('errors', errSeries, errData, {});

  if (D.q.length) chart('degradation', [line('Q(t)', '#7048e8', '%', { fill: 'rgba(112, 72, 232, 0.10)' })], [D.x, D.q], { range: [0, 105], tick: function (v) { return v + '%'; } });

  if (D.host) {
    var hs = [line('CPU', '#1c7ed6', '%'), line('memory', '#ae3ec9', '%')], hd = [D.host.x, D.host.cpu, D.host.mem];
    D.host.gpus.forEach(function (g) {
      hs.push(line('GPU ' + g.index + ' util', '#f76707', '%'), line('GPU ' + g.index + ' memory', '#5c940d', '%', { dash: [4, 3] }));
      hd.push(g.util, g.mem);
    });
    chart('host', hs, hd, { range: [0, 105], height: 170, tick: function (v) { return v + '%'; } });
  }

  window.addEventListener('resize', function () {
    charts.forEach(function (c) { c.u.setSize({ width: Math.max(300, c.el.clientWidth), height: c.u.height }); });
  });
})();
`;
