import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { demoEnv, freePort, startCli } from '../helpers/cli.ts';

describe('live metrics for dashboards', () => {
  it('--prometheus serves the run on /metrics and --pushgateway pushes it', async () => {
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
    const port = await freePort();
    const { child, done } = startCli(
      [
        'run',
        'spike-with-partition',
        '--time-scale',
        '0.1',
        '--quiet',
        '--prometheus',
        String(port),
        '--pushgateway',
        `http://127.0.0.1:${gwPort}`,
      ],
      await demoEnv(),
    );
    let sawFault = false;
    let sample = '';
    // Poll /metrics while the run lasts (bounded: at most 60 polls).
    for (let i = 0; i < 60 && child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 500));
      try {
        sample = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        if (/chaoskit_fault_active\{[^}]*fault="f1"[^}]*\} 1/.test(sample)) sawFault = true;
      } catch {
        // not listening yet, or already closed
      }
    }
    const r = await done;
    gw.close();
    expect([0, 1], r.stderr).toContain(r.code);
    expect(sample).toMatch(/chaoskit_achieved_rate\{scenario="spike-with-partition",run="[^"]+"\} \d+/);
    expect(sample).toMatch(/chaoskit_latency_ms\{quantile="p99"/);
    expect(sawFault).toBe(true);
    expect(pushes.length).toBeGreaterThan(0);
    expect(pushes[0]!.url).toMatch(/^\/metrics\/job\/chaoskit\/scenario\/spike-with-partition\/run\//);
    expect(pushes.at(-1)!.body).toContain('chaoskit_requests_total');
  }, 90_000);
});
