import { realClock } from '../../src/core/clock.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { ProbeRunner } from '../../src/probes/runner.ts';
import { applySteadyState, gateFaults } from '../../src/probes/steady-state.ts';
import type { RunResult } from '../../src/result.ts';
import { closedPort, httpServer, type TestServer } from '../helpers/servers.ts';
import { grpcServer, type TestGrpcServer } from '../load/grpc-helpers.ts';

let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.map((c) => c()));
  closers = [];
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function healthServer(status: () => number): Promise<TestServer> {
  const s = await httpServer((_req, res) => {
    res.statusCode = status();
    res.end();
  });
  closers.push(() => s.close());
  return s;
}

async function grpcHealth(): Promise<TestGrpcServer> {
  const s = await grpcServer();
  closers.push(() => s.close());
  return s;
}

describe('steady-state probes', () => {
  it('runs http and grpc.health.v1 probes once a second and records every sample', async () => {
    const web = await healthServer(() => 200);
    const g = await grpcHealth();
    const t0 = performance.now();
    const p = new ProbeRunner(
      {
        web: { kind: 'http', url: `${web.url}/health`, timeout: 500 },
        grpc: { kind: 'grpc', address: g.address, service: 'chaoskit.demo.v1.Inference', timeout: 500 },
        server: { kind: 'grpc', address: g.address, service: '', timeout: 500 },
      },
      () => performance.now() - t0,
    );
    p.start();
    await sleep(2300);
    const res = await p.stop();
    expect(res.map((r) => [r.name, r.kind, r.ok, r.failed])).toEqual([
      ['web', 'http', 3, 0],
      ['grpc', 'grpc', 3, 0],
      ['server', 'grpc', 3, 0],
    ]);
    expect(res[0]!.samples.map((s) => s.t)).toEqual([0, 1, 2]);
    expect(res[0]!.samples[0]).toMatchObject({ ok: true, detail: '200' });
    expect(res[1]!.samples[0]).toMatchObject({ ok: true, detail: 'SERVING' });
    expect(res[1]!.samples[0]!.latencyMs).toBeGreaterThan(0);
    expect(p.held(3)).toEqual({ held: true, why: 'every probe passed in each of the last 3 second(s)' });
  });

  it('fails on NOT_SERVING, an unknown service, a wrong status and a closed port, saying why', async () => {
    const web = await healthServer(() => 503);
    const g = await grpcHealth();
    g.health.status = 'NOT_SERVING';
    const port = await closedPort();
    const t0 = performance.now();
    const p = new ProbeRunner(
      {
        web: { kind: 'http', url: web.url, timeout: 500 },
        grpc: { kind: 'grpc', address: g.address, service: '', timeout: 500 },
        unknown: { kind: 'grpc', address: g.address, service: 'no.Such', timeout: 500 },
        closed: { kind: 'http', url: `http://127.0.0.1:${port}/`, timeout: 500 },
      },
      () => performance.now() - t0,
    );
    p.start();
    await sleep(300);
    const res = await p.stop();
    expect(res.map((r) => [r.name, r.samples[0]!.ok, r.samples[0]!.detail.split(':')[0]])).toEqual([
      ['web', false, '503'],
      ['grpc', false, 'NOT_SERVING'],
      ['unknown', false, 'NOT_FOUND'],
      ['closed', false, 'ECONNREFUSED'],
    ]);
    const v = p.held(1);
    expect(v.held).toBe(false);
    expect(v.why).toMatch(
      /^the steady state did not hold at t=0s \(web: 503; grpc: NOT_SERVING; unknown: NOT_FOUND: .*; closed: ECONNREFUSED\)$/,
    );
  });

  it('prepare() checks every probe once before t = 0 without recording it, bounded in time', async () => {
    let hits = 0;
    const web = await healthServer(() => (hits++, 200));
    const g = await grpcHealth();
    const p = new ProbeRunner(
      {
        web: { kind: 'http', url: `${web.url}/health`, timeout: 500 },
        grpc: { kind: 'grpc', address: g.address, service: '', timeout: 500 },
      },
      () => 0,
    );
    await p.prepare();
    expect(hits).toBe(1);
    const res = await p.stop();
    expect(res.map((r) => r.samples.length)).toEqual([0, 0]);
    // A probe that never answers holds prepare() up for maxMs at most.
    const hang = await httpServer(() => {});
    closers.push(() => hang.close());
    const slow = new ProbeRunner({ hang: { kind: 'http', url: hang.url, timeout: 5000 } }, () => 0);
    const t = performance.now();
    await slow.prepare(300);
    expect(performance.now() - t).toBeLessThan(2000);
    expect(performance.now() - t).toBeGreaterThanOrEqual(290);
  });

  it('needs as many finished rounds as the steady state asks for', async () => {
    const web = await healthServer(() => 200);
    const t0 = performance.now();
    const p = new ProbeRunner(
      { web: { kind: 'http', url: web.url, timeout: 500 } },
      () => performance.now() - t0,
    );
    p.start();
    await sleep(200);
    expect(p.held(3)).toEqual({
      held: false,
      why: 'the steady state needs 3 probe round(s) before the first fault; only 1 had finished',
    });
    await p.stop();
  });

  it('gates faults: they start only when the probes held; otherwise the run is inconclusive and faults are skipped', async () => {
    let status = 200;
    const web = await healthServer(() => status);
    for (const healthy of [true, false]) {
      status = healthy ? 200 : 500;
      const t0 = performance.now();
      const now = () => performance.now() - t0;
      const p = new ProbeRunner({ web: { kind: 'http', url: web.url, timeout: 500 } }, now);
      p.start();
      let started = false;
      const logs: string[] = [];
      const gate = gateFaults(
        { require: true, for: 1000 },
        p,
        600,
        1,
        realClock,
        now,
        () => (started = true),
        (l) => logs.push(l),
      );
      await sleep(700);
      await p.stop();
      gate.cancel();
      expect(started).toBe(healthy);
      expect(gate.record).toMatchObject({ required: true, forMs: 1000, held: healthy });
      if (!healthy) {
        expect(logs[0]).toMatch(/steady state did not hold at t=0s \(web: 500\): no fault will be applied/);
        const result = {
          steadyState: gate.record,
          faults: [{ status: 'scheduled', observations: [] as string[] }],
          verdict: { status: 'pass', pass: true, reasons: [] as string[] },
        } as unknown as RunResult;
        applySteadyState(result);
        expect(result.faults[0]!.status).toBe('skipped');
        expect(result.faults[0]!.observations[0]).toMatch(/^not applied: the steady state did not hold/);
        // score() reads steadyState.held and makes the verdict inconclusive (test/slo/score.test.ts).
      }
    }
  });

  it('without steadyState.require, faults start at once', () => {
    let started = false;
    const p = new ProbeRunner({}, () => 0);
    const gate = gateFaults(
      undefined,
      p,
      5000,
      1,
      realClock,
      () => 0,
      () => (started = true),
      () => {},
    );
    expect(started).toBe(true);
    expect(gate.record).toBeUndefined();
  });
});
