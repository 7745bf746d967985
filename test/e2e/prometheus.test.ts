/**
 * One real run of a built-in scenario on the demo system through the real CLI, watched with
 * everything at once, and its own output checked: `--prometheus` (promtool passes on a mid-run
 * scrape), `--pushgateway` (grouped by scenario), `--otlp` with `--trace-sample` (a receiver
 * decoding the official protos gets the metrics and the spans of the run's trace), `--dashboard`
 * (the page's state follows the run), and the results.json (valid against its schema, the fault
 * in its timeline) and the reports asked for with `--reporter`.
 */
import http from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, type RunResult } from '../../src/result.ts';
import { demoEnv, freePort, startCli, type CliResult } from '../helpers/cli.ts';
import { tempDir } from '../helpers/files.ts';
import { attr, lastValue, startOtlpReceiver } from '../observe/otlp-receiver.ts';
import { PROMTOOL_MISSING, promtoolCheck } from '../observe/promtool.ts';
import type { Snapshot } from '../../src/dashboard/model.ts';

function validateResults(file: string): { valid: boolean; errors: unknown } {
  const schema = JSON.parse(
    readFileSync(join(import.meta.dirname, '../../schemas/results.schema.json'), 'utf8'),
  ) as object;
  const ajv = new Ajv2020.default({ strict: false, allErrors: true });
  addFormats.default(ajv);
  const validate = ajv.compile(schema);
  const valid = validate(JSON.parse(readFileSync(file, 'utf8')));
  return { valid, errors: validate.errors };
}

describe('a built-in scenario on the demo, watched: results.json, Prometheus, Pushgateway, OTLP, dashboard', () => {
  const out = tempDir('chaoskit-observe-out-');
  // A stand-in Pushgateway on loopback that records what it receives.
  const pushes: { method: string; url: string; body: string }[] = [];
  const scrapes: string[] = [];
  let duringFault = '';
  let dashMid: Snapshot | null = null;
  let r: CliResult;
  let result: RunResult;
  let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;

  beforeAll(async () => {
    const gw = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        pushes.push({ method: req.method!, url: req.url!, body });
        res.statusCode = 200;
        res.end();
      });
    });
    await new Promise<void>((resolve) => gw.listen(0, '127.0.0.1', resolve));
    const gwPort = (gw.address() as { port: number }).port;
    otlp = await startOtlpReceiver();
    const port = await freePort();
    const dashPort = await freePort();
    const { child, done } = startCli(
      [
        'run',
        'spike-with-partition',
        '--time-scale',
        '0.1',
        '--out',
        out,
        '--seed',
        '7',
        '--reporter',
        'json',
        'html',
        'ndjson',
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
    // Poll /metrics while the run lasts (bounded: at most 240 polls).
    for (let i = 0; i < 240 && child.exitCode === null; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
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
    r = await done;
    gw.close();
    await otlp.close();
    expect(r.stderr).not.toContain('internal error');
    // 0 when the demo met its SLOs; 1 (with the verdict's reasons) when a loaded CI box made
    // even the baseline slow (inconclusive, or invalid when the generator stalled). Either way
    // the run completed and was scored.
    expect([0, 1], r.stderr).toContain(r.code);
    if (r.code === 1) expect(r.stderr).toMatch(/verdict: (fail|inconclusive|invalid)/);
    result = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResult;
  }, 150_000);

  it('writes a results.json that validates against its schema, with the fault in its timeline', () => {
    expect(r.stderr).toMatch(/warm-up: \d+ request\(s\) in \d+ ms, 0 failed, not recorded/);
    const v = validateResults(join(out, 'results.json'));
    expect(v.errors).toBeNull();
    expect(v.valid).toBe(true);
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(res.schemaVersion).toBe(SCHEMA_VERSION);
    // t = 0 of the load: after the run started (demo start-up, warm-up), before it ended.
    const [started, load, ended] = [res.startedAt, res.loadStartedAt, res.endedAt].map(Date.parse);
    expect(load).toBeGreaterThan(started!);
    expect(load).toBeLessThan(ended!);
    expect(res.seed).toBe(7);
    expect(res.scenario.name).toBe('spike-with-partition');
    expect(res.timeline.length).toBe(10);
    for (const s of res.timeline) {
      expect(Object.keys(s)).toEqual(
        expect.arrayContaining(['t', 'requested', 'sent', 'ok', 'errors', 'latencyMs']),
      );
    }
    // The partition window shows up as failures in the seconds it covered.
    const f1 = res.faults[0];
    expect(f1).toMatchObject({ id: 'f1', type: 'partition', status: 'reverted', revertedBy: 'schedule' });
    expect(res.timeline.some((s: { activeFaults: string[] }) => s.activeFaults.includes('f1'))).toBe(true);
    // Requests sent while the partition was in effect are attributed to it, and they failed.
    type Sec = { byFaults: Record<string, { sent: number; failed: number }> };
    const underF1 = res.timeline.reduce((n: number, s: Sec) => n + (s.byFaults.f1?.failed ?? 0), 0);
    const sentUnderF1 = res.timeline.reduce((n: number, s: Sec) => n + (s.byFaults.f1?.sent ?? 0), 0);
    expect(sentUnderF1).toBeGreaterThan(0);
    // Most of them; on a busy machine requests sent just before the revert may still get through.
    expect(underF1 / sentUnderF1).toBeGreaterThanOrEqual(0.25);
    expect(res.timeline[0].failed).toBe(0);
  });

  it('writes the reports asked for, and only those: the k6-format samples hold one duration per request', () => {
    expect(readdirSync(out).sort()).toEqual(['report.html', 'results.json', 'samples.ndjson']);
    const load = Date.parse(result.loadStartedAt!);
    const points = readFileSync(join(out, 'samples.ndjson'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{"type":"Point"') && l.includes('"metric":"http_req_duration"'))
      .map((l) => JSON.parse(l) as { data: { time: string; tags: Record<string, string> } });
    expect(points.length).toBe(result.totals.ok + result.totals.failed);
    const failedPoints = points.filter((p) => p.data.tags.expected_response === 'false');
    expect(failedPoints.length).toBe(result.totals.failed);
    expect(Math.min(...points.map((p) => Date.parse(p.data.time)))).toBeGreaterThanOrEqual(load);
  });

  it('Prometheus: a scrape taken while the fault was on passes promtool', () => {
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
  });

  it("Pushgateway: grouped by the scenario, PUT, the last push holds the run's totals", () => {
    expect(pushes.length).toBeGreaterThan(0);
    expect(pushes.every((p) => p.method === 'PUT')).toBe(true);
    expect(pushes[0]!.url).toBe('/metrics/job/chaoskit/scenario/spike-with-partition');
    const last = pushes.at(-1)!.body;
    expect(last).toMatch(
      new RegExp(`^chaoskit_arrivals_finished_total\\{outcome="ok"\\} ${result.totals.ok}$`, 'm'),
    );
    expect(last).toMatch(new RegExp(`^chaoskit_arrivals_total ${result.totals.requested}$`, 'm'));
    if (!PROMTOOL_MISSING) expect(promtoolCheck(last)).toEqual({ code: 0, output: '' });
  });

  it("OTLP: metrics during the run and at the end; the run's trace: run, phases, fault, requests", () => {
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
  });

  it('dashboard: mid-run it had the run, live seconds and finished seconds that match the result', () => {
    expect(dashMid).not.toBeNull();
    const snap = dashMid!;
    expect(snap.run?.runId).toBe(result.runId);
    expect(snap.live.length).toBeGreaterThanOrEqual(3);
    for (const f of snap.finals) expect(f.ok).toBe(result.timeline[f.t]!.ok);
  });
});
