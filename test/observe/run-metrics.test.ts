/**
 * The run's metrics (src/metrics/run-metrics.ts) against a simulated run: the Prometheus text
 * passes `promtool check metrics` mid-run and at the end, the histogram is a real cumulative
 * histogram built from the finished seconds' HDR histograms, and every counter ends at the
 * results.json totals.
 */
import type { JsHistogram } from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { decode } from '../../src/core/hist.ts';
import { pushUrl, renderPrometheus } from '../../src/metrics/prometheus.ts';
import { LATENCY_BOUNDS_S, RunMetrics, type MetricsSnapshot } from '../../src/metrics/run-metrics.ts';
import { expectAccounting } from '../helpers/accounting.ts';
import { PROMTOOL_MISSING, promtoolCheck } from './promtool.ts';
import { simRun } from './sim-run.ts';

function scalar(s: MetricsSnapshot, prom: string, labels: Record<string, string> = {}): number | undefined {
  const f = s.scalars.find((x) => x.def.prom === prom);
  return f?.samples.find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value;
}

/** Parses `name{labels} value` lines into a map keyed by the line's series text. */
function series(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe('run metrics', () => {
  it('counts every request once, and ends at the results.json totals', async () => {
    const m = new RunMetrics();
    const mid: string[] = [];
    let midSnap: MetricsSnapshot | null = null;
    const { result } = await simRun((run) => {
      m.attach(run);
      run.on('second', (p) => {
        if (p.second === 5) {
          midSnap = m.snapshot();
          mid.push(renderPrometheus(midSnap));
        }
      });
    });
    expectAccounting(result);
    const s = m.snapshot();
    const t = result.totals;
    // Finished seconds: exact, by intended second.
    expect(scalar(s, 'chaoskit_arrivals_finished_total', { outcome: 'ok' })).toBe(t.ok);
    expect(scalar(s, 'chaoskit_arrivals_finished_total', { outcome: 'failed' })).toBe(t.failed);
    expect(scalar(s, 'chaoskit_arrivals_finished_total', { outcome: 'cancelled' })).toBe(t.cancelled);
    expect(scalar(s, 'chaoskit_arrivals_finished_total', { outcome: 'dropped' })).toBe(t.dropped);
    expect(scalar(s, 'chaoskit_finished_through_seconds')).toBe(result.timeline.length);
    // Live counters: by wall time, topped up to the totals at the end.
    expect(scalar(s, 'chaoskit_arrivals_total')).toBe(t.requested);
    expect(scalar(s, 'chaoskit_requests_sent_total')).toBe(t.sent);
    expect(scalar(s, 'chaoskit_requests_ended_total', { outcome: 'failed' })).toBe(t.failed);
    for (const [kind, n] of Object.entries(t.errors))
      expect(scalar(s, 'chaoskit_request_errors_total', { kind })).toBe(n);
    expect(t.failed).toBeGreaterThan(0);
    expect(t.errors.timeout).toBeGreaterThan(0);

    // The histogram: by phase, each phase's count = its requests; buckets match the HDR data.
    const h = s.histograms[0]!;
    const byPhase = new Map(h.points.map((p) => [p.labels.phase!, p]));
    expect([...byPhase.keys()].sort()).toEqual(['baseline', 'fault', 'recovery']);
    for (const [phase, p] of byPhase) {
      const want = result.timeline.reduce((n, x) => {
        const ph = x.phases[phase as 'baseline'];
        return n + (ph ? ph.ok + ph.failed : 0);
      }, 0);
      expect(p.count, phase).toBe(want);
      expect(p.counts.reduce((a, b) => a + b, 0)).toBe(p.count);
    }
    // Fault-phase requests include 2 s timeouts: they sit in the (1, 2.5] bucket, never below.
    const fault = byPhase.get('fault')!;
    const iTwoAndHalf = LATENCY_BOUNDS_S.indexOf(2.5);
    expect(fault.counts[iTwoAndHalf]).toBeGreaterThanOrEqual(t.errors.timeout!);
    // Adding up every finished second's phase histograms gives what bucketing the run's whole
    // histogram gives, bucket by bucket.
    const whole = decode(result.totals.hist!) as unknown as JsHistogram;
    const fromWhole = new Array<number>(LATENCY_BOUNDS_S.length + 1).fill(0);
    for (let i = 0; i < whole.countsArrayLength; i++) {
      const n = whole.getCountAtIndex(i);
      if (!n) continue;
      const us = whole.valueFromIndex(i);
      const b = LATENCY_BOUNDS_S.findIndex((x) => us <= x * 1e6);
      fromWhole[b < 0 ? LATENCY_BOUNDS_S.length : b]! += n;
    }
    const summed = fromWhole.map((_, i) => h.points.reduce((n, p) => n + p.counts[i]!, 0));
    expect(summed).toEqual(fromWhole);
    expect(summed[LATENCY_BOUNDS_S.indexOf(0.025)]).toBeGreaterThan(0);

    // Mid-run: the fault is on; the text parses as counters and a histogram whose +Inf = count.
    expect(midSnap).not.toBeNull();
    const text = mid[0]!;
    const ser = series(text);
    expect(ser.get('chaoskit_fault_active{fault="f1",type="partition",target="api->dependency"}')).toBe(1);
    expect(ser.get('chaoskit_pattern_phase_active{index="2",name="surge"}')).toBe(1);
    expect(text).toMatch(
      /^chaoskit_run_info\{run_id="[^"]+",scenario="sim-observe",engine="http",seed="7"\} 1$/m,
    );
    for (const [phase] of byPhase) {
      const inf = ser.get(`chaoskit_request_duration_seconds_bucket{phase="${phase}",le="+Inf"}`);
      if (inf !== undefined)
        expect(ser.get(`chaoskit_request_duration_seconds_count{phase="${phase}"}`)).toBe(inf);
    }
    // Only run_info carries the run id.
    expect(text.split('\n').filter((l) => l.includes('run_id=')).length).toBe(1);
  });

  it.skipIf(PROMTOOL_MISSING)('passes promtool check metrics mid-run and at the end', async () => {
    const m = new RunMetrics();
    const texts: string[] = [];
    await simRun((run) => {
      m.attach(run);
      run.on('second', (p) => {
        if (p.second === 1 || p.second === 5) texts.push(renderPrometheus(m.snapshot()));
      });
    });
    texts.push(renderPrometheus(m.snapshot()));
    expect(texts.length).toBe(3);
    for (const text of texts) expect(promtoolCheck(text)).toEqual({ code: 0, output: '' });
  });

  it('promtool rejects what the old exporter served (the check can fail)', () => {
    if (PROMTOOL_MISSING) return;
    const old = `# HELP chaoskit_requests_total requests sent\n# TYPE chaoskit_requests_total counter\nchaoskit_requests_total{scenario="x",run="20260101-abc"} 5\n# HELP chaoskit_latency_ms latency\n# TYPE chaoskit_latency_ms gauge\nchaoskit_latency_ms{quantile="p99"} 12\n# HELP chaoskit_achieved_rate rate\n# TYPE chaoskit_achieved_rate gauge\nchaoskit_achieved_rate 50\n# HELP chaoskit_errors counts\n# TYPE chaoskit_errors counter\nchaoskit_errors 1\n`;
    const r = promtoolCheck(old);
    expect(r.output).toMatch(/chaoskit_errors.*counter metrics should have "_total" suffix/);
  });

  it('groups Pushgateway pushes by the scenario, never the run id', () => {
    expect(pushUrl('http://127.0.0.1:9091/', 'spike-with-partition')).toBe(
      'http://127.0.0.1:9091/metrics/job/chaoskit/scenario/spike-with-partition',
    );
    expect(pushUrl('http://gw', 'a/b')).toBe('http://gw/metrics/job/chaoskit/scenario@base64/YS9i');
  });
});
