/**
 * Watching a real run of the demo with everything at once, through the real CLI:
 * `--prometheus` (promtool passes on a mid-run scrape), `--pushgateway` (grouped by scenario),
 * `--otlp` with `--trace-sample` (a receiver decoding the official protos gets the metrics and
 * the spans of the run's trace), and `--dashboard` (the page's state follows the run).
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/result.ts';
import { demoEnv, freePort, startCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/files.ts';
import { attr, lastValue, startOtlpReceiver } from '../observe/otlp-receiver.ts';
import { PROMTOOL_MISSING, promtoolCheck } from '../observe/promtool.ts';
import type { Snapshot } from '../../src/dashboard/model.ts';

describe('watching a run: Prometheus, Pushgateway, OTLP and the dashboard together', () => {
  it('a mid-run scrape passes promtool, the receiver decodes metrics and the run trace, the dashboard follows', async () => {
    // A stand-in Pushgateway on loopback that records what it receives.
    const pushes: { method: string; url: string; body: string }[] = [];
    const gw = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        pushes.push({ method: req.method!, url: req.url!, body });
        res.statusCode = 200;
        res.end();
      });
    });
    await new Promise<void>((r) => gw.listen(0, '127.0.0.1', r));
    const gwPort = (gw.address() as { port: number }).port;
    const otlp = await startOtlpReceiver();
    const port = await freePort();
    const dashPort = await freePort();
    const out = tempDir('chaoskit-observe-out-');
    const { child, done } = startCli(
      [
        'run',
        'spike-with-partition',
        '--time-scale',
        '0.1',
        '--quiet',
        '--out',
        out,
        '--prometheus',
        String(port),
        '--pushgateway',
        `http://127.0.0.1:${gwPort}`,
        '--otlp',
        otlp.url,
        '--trace-sample',
        '5%',
        '--dashboard',
        String(dashPort),
      ],
      { ...(await demoEnv()), OTEL_METRIC_EXPORT_INTERVAL: '1000' },
    );
    const scrapes: string[] = [];
    let duringFault = '';
    let dashMid: Snapshot | null = null;
    // Poll /metrics while the run lasts (bounded: at most 120 polls).
    for (let i = 0; i < 120 && child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 500));
      try {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        scrapes.push(text);
        if (/^chaoskit_fault_active\{fault="f1",[^}]*\} 1$/m.test(text)) duringFault = text;
        if (!dashMid && /chaoskit_run_elapsed_seconds [3-9]/.test(text))
          dashMid = (await (await fetch(`http://127.0.0.1:${dashPort}/state.json`)).json()) as Snapshot;
      } catch {
        // not listening yet, or already closed
      }
    }
    const r = await done;
    gw.close();
    await otlp.close();
    expect([0, 1], r.stderr).toContain(r.code);
    const result = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResult;

    // Prometheus: promtool passes on the scrape taken while the fault was on.
    expect(duringFault, `no scrape during the fault among ${scrapes.length}`).not.toBe('');
    if (!PROMTOOL_MISSING) expect(promtoolCheck(duringFault)).toEqual({ code: 0, output: '' });
    expect(duringFault).toMatch(/^# TYPE chaoskit_request_duration_seconds histogram$/m);
    expect(duringFault).toMatch(
      /^chaoskit_request_duration_seconds_bucket\{phase="baseline",le="\+Inf"\} \d+$/m,
    );
    expect(duringFault).toMatch(/^chaoskit_arrivals_total \d+$/m);
    expect(duringFault).toMatch(/^chaoskit_requests_sent_total \d+$/m);
    // The run id is on chaoskit_run_info only.
    const withRunId = duringFault.split('\n').filter((l) => l.includes(result.runId));
    expect(withRunId).toHaveLength(1);
    expect(withRunId[0]).toMatch(/^chaoskit_run_info\{run_id="/);

    // Pushgateway: grouped by the scenario, PUT, last push = the run's totals.
    expect(pushes.length).toBeGreaterThan(0);
    expect(pushes.every((p) => p.method === 'PUT')).toBe(true);
    expect(pushes[0]!.url).toBe('/metrics/job/chaoskit/scenario/spike-with-partition');
    const last = pushes.at(-1)!.body;
    expect(last).toMatch(
      new RegExp(`^chaoskit_arrivals_finished_total\\{outcome="ok"\\} ${result.totals.ok}$`, 'm'),
    );
    expect(last).toMatch(new RegExp(`^chaoskit_arrivals_total ${result.totals.requested}$`, 'm'));
    if (!PROMTOOL_MISSING) expect(promtoolCheck(last)).toEqual({ code: 0, output: '' });

    // OTLP: metrics during the run and at the end; the run's trace: run, phases, fault, requests.
    expect(otlp.metricExports.length).toBeGreaterThanOrEqual(3);
    expect(lastValue(otlp, 'chaoskit.arrivals.finished', { outcome: 'failed' })).toBe(result.totals.failed);
    const traceId = /run trace ([0-9a-f]{32})/.exec(r.stderr)?.[1];
    expect(traceId, r.stderr).toBeDefined();
    const inRun = otlp.spans.filter((s) => s.traceId === traceId);
    expect(inRun.map((s) => s.name).sort()).toEqual(
      [
        'chaoskit run spike-with-partition',
        'fault f1 partition',
        'phase 1 baseline',
        'phase 2 spike',
        'phase 3 recovery',
      ].sort(),
    );
    const requests = otlp.spans.filter((s) => s.kind === 'SPAN_KIND_CLIENT');
    expect(requests.length).toBe(Math.floor(result.totals.sent / 20));
    for (const s of requests) expect(s.links[0]!.traceId).toBe(traceId);
    // Requests sent during the partition carry the fault.
    expect(
      requests.some((s) => (attr(s.attributes, 'chaoskit.faults') as string[] | undefined)?.includes('f1')),
    ).toBe(true);

    // Dashboard: mid-run it had the run, live seconds and finished seconds that match the result.
    expect(dashMid).not.toBeNull();
    const snap = dashMid!;
    expect(snap.run?.runId).toBe(result.runId);
    expect(snap.live.length).toBeGreaterThanOrEqual(3);
    for (const f of snap.finals) expect(f.ok).toBe(result.timeline[f.t]!.ok);
  }, 150_000);
});
