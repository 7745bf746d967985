/**
 * `--pushgateway` when the gateway is silent or gone: the load goes exactly as planned, the run's
 * end is not held, and what did not land is reported once. And when it answers: PUTs grouped by
 * the scenario that promtool accepts.
 */
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startLiveMetricsServer } from '../../src/metrics/prometheus.ts';
import { runScenario } from '../../src/run.ts';
import { loadScenario } from '../../src/input/load.ts';
import { expectAccounting } from '../helpers/accounting.ts';
import { tempDir } from '../helpers/files.ts';
import { closedPort, httpServer } from '../helpers/servers.ts';
import { PROMTOOL_MISSING, promtoolCheck } from './promtool.ts';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A gateway that records pushes, or (`silent`) accepts connections and never answers. */
async function gateway(silent: boolean) {
  const pushes: { method: string; url: string; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      pushes.push({ method: req.method!, url: req.url!, body });
      if (!silent) res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, pushes };
}

async function runWith(pushgateway: string) {
  const target = await httpServer((_req, res) => res.end('ok'));
  cleanup.push(() => target.close());
  const dir = tempDir();
  writeFileSync(join(dir, 'env.yaml'), `targets:\n  api: { kind: http, url: "${target.url}", health: / }\n`);
  writeFileSync(join(dir, 'slo.yaml'), 'services:\n  api:\n    availability: 99%\n');
  writeFileSync(
    join(dir, 'scenario.yaml'),
    'name: push-test\nenvironment: ./env.yaml\nslo: slo.yaml\nseed: 1\nload:\n  target: api\n  pattern: [{ kind: constant, rate: 200, duration: 3s }]\n',
  );
  const lines: string[] = [];
  const live = await startLiveMetricsServer({
    pushgateway,
    pushEveryMs: 100,
    pushTimeoutMs: 1000,
    report: (l) => lines.push(l),
  });
  const run = runScenario(loadScenario(join(dir, 'scenario.yaml')), {
    guard: false,
    hostSamples: false,
    warmUp: false,
    stateDir: tempDir('chaoskit-state-'),
  });
  live.attach(run);
  const result = await run.result;
  await run.closed;
  const t0 = performance.now();
  await live.stop();
  return { result, lines, stopMs: performance.now() - t0 };
}

describe('pushgateway', () => {
  it('a gateway that never answers, or none at all, does not slow or fail the load; reported once', async () => {
    const silent = await gateway(true);
    for (const url of [silent.url, `http://127.0.0.1:${await closedPort()}`]) {
      const { result, lines, stopMs } = await runWith(url);
      expectAccounting(result);
      expect(result.totals.sent).toBe(600);
      expect(result.totals.ok).toBe(600);
      expect(result.totals.dropped).toBe(0);
      for (const s of result.timeline.slice(0, 3)) expect(s.sent).toBe(200);
      expect(result.ranMs).toBeLessThan(3600);
      expect(stopMs).toBeLessThan(2600);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^pushgateway http:\/\/127\.0\.0\.1:\d+: \d+ of \d+ pushes did not land \(/);
      expect(lines[0]).toMatch(/the load was not affected$/);
    }
    // The silent one was reached, one push at a time (the others were skipped, not queued).
    expect(silent.pushes.length).toBeGreaterThan(0);
    expect(silent.pushes.length).toBeLessThanOrEqual(5);
  }, 60_000);

  it('pushes PUTs grouped by the scenario; the last one holds the totals and passes promtool', async () => {
    const gw = await gateway(false);
    const { result, lines } = await runWith(gw.url);
    // On a busy machine a push may still be in flight when the next is due (skipped); none fails.
    for (const l of lines) expect(l).toMatch(/\(0 failed; \d+ skipped while one was in flight\)/);
    expect(gw.pushes.length).toBeGreaterThan(5);
    expect(new Set(gw.pushes.map((p) => `${p.method} ${p.url}`))).toEqual(
      new Set(['PUT /metrics/job/chaoskit/scenario/push-test']),
    );
    const last = gw.pushes.at(-1)!.body;
    expect(last).toContain(`chaoskit_arrivals_finished_total{outcome="ok"} ${result.totals.ok}`);
    if (!PROMTOOL_MISSING) expect(promtoolCheck(last)).toEqual({ code: 0, output: '' });
  }, 60_000);
});
