/**
 * A whole run through the runner with the gRPC engine: real gRPC server, real fault proxy in
 * front of it, probes, steady state, a grpc-error fault, and the result document.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { INFERENCE_PROTO } from '../../src/demo/inference.ts';
import { startProxyServer, type ProxyServer } from '../../src/proxy/server.ts';
import { runResultSchema } from '../../src/result.ts';
import { runScenario } from '../../src/run.ts';
import { loadScenario } from '../../src/input/load.ts';
import { tempDir } from '../helpers/files.ts';
import { grpcServer, type TestGrpcServer } from './grpc-helpers.ts';

let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.map((c) => c()));
  closers = [];
});

async function world(healthy = true) {
  const upstream: TestGrpcServer = await grpcServer();
  upstream.health.status = healthy ? 'SERVING' : 'NOT_SERVING';
  const proxy: ProxyServer = await startProxyServer({ host: '127.0.0.1', port: 0 });
  closers.push(
    () => upstream.close(),
    () => proxy.close(),
  );
  const p = await proxy.registry.createProxy({
    name: 'llm',
    listen: '127.0.0.1:0',
    upstream: upstream.address,
    enabled: true,
  });
  const hop = (p as { listen: string }).listen;
  const apiUrl = proxy.url;
  const dir = tempDir();
  writeFileSync(
    join(dir, 'env.yaml'),
    `targets:
  llm: { kind: grpc, address: "${hop}"${healthy ? ', health: chaoskit.demo.v1.Inference' : ''} }
  load->llm: { kind: proxy, proxy: llm, api: "${apiUrl}" }
probes:
  llm: { kind: grpc, address: "${upstream.address}", service: chaoskit.demo.v1.Inference, timeout: 500ms }
`,
  );
  writeFileSync(join(dir, 'slo.yaml'), 'services:\n  llm: { availability: 50%, latency: { p99: 2s } }\n');
  writeFileSync(
    join(dir, 'scenario.yaml'),
    `name: grpc-run
environment: ./env.yaml
engine: grpc
seed: 7
slo: slo.yaml
load:
  target: llm
  connections: 32
  grpc:
    proto: ${INFERENCE_PROTO}
    service: Inference
    calls:
      - { name: stream, weight: 1, method: Generate, message: { prompt: "p{{randInt 1 9}}", max_tokens: 3, token_delay_ms: 5 } }
      - { name: unary, weight: 1, method: Complete, message: { prompt: "u" } }
  pattern:
    - { kind: constant, rate: 40, duration: 4s }
faults:
  - { type: grpc-error, target: load->llm, at: 2s, duration: 1500ms, status: UNAVAILABLE, method: Complete }
steadyState: { require: true, for: 1s }
`,
  );
  return {
    scenario: loadScenario(join(dir, 'scenario.yaml')),
    upstream,
    stateDir: tempDir('chaoskit-state-'),
  };
}

describe('a gRPC run end to end (runner, probes, steady state, proxy fault)', () => {
  it('loads, streams, applies the fault to new connections and records everything in results.json', async () => {
    const { scenario, stateDir } = await world();
    const result = await runScenario(scenario, { guard: false, stateDir }).result;
    expect(() => runResultSchema.parse(result)).not.toThrow();
    expect(result.load).toMatchObject({
      engine: 'grpc',
      url: expect.stringMatching(/^grpc:\/\/127\.0\.0\.1:\d+$/),
    });
    expect(result.totals.requested).toBe(160);
    expect(result.totals.sent).toBe(160); // sends after 4 s count in the totals, though in no second
    expect(result.steadyState).toMatchObject({ required: true, held: true });
    expect(result.faults[0]).toMatchObject({ type: 'grpc-error', status: 'reverted' });
    expect(result.probes![0]).toMatchObject({ name: 'llm', kind: 'grpc', failed: 0 });
    expect(result.probes![0]!.ok).toBeGreaterThanOrEqual(3);
    expect(result.profiles!.stream!.failed).toBe(0);
    expect(result.profiles!.stream!.sent + result.profiles!.unary!.sent).toBe(160);
    expect(result.totals.stream!.completed).toBe(result.profiles!.stream!.sent);
    expect(result.timeline[0]!.stream!.firstEventMs!.p50).toBeGreaterThan(4);
    // The proxy stage sees connections opened after the fault started; this test server never
    // recycles its connection, so the fault is applied but the open connection is untouched.
    expect(result.totals.errors).toEqual({});
  });

  it('a steady state that does not hold: no fault is applied and the verdict is inconclusive', async () => {
    const { scenario, stateDir } = await world(false);
    const result = await runScenario(scenario, { guard: false, stateDir }).result;
    expect(result.steadyState).toMatchObject({ held: false });
    // On a loaded machine the first round may not have finished yet; either way it did not hold.
    expect(result.steadyState!.reason).toMatch(
      /^the steady state (did not hold at t=\d+s \(llm: NOT_SERVING\)|needs 1 probe round\(s\) before the first fault; only 0 had finished)$/,
    );
    expect(result.faults[0]).toMatchObject({ status: 'skipped', appliedAtMs: null });
    expect(result.faults[0]!.observations[0]).toMatch(/^not applied: the steady state did not hold/);
    expect(result.verdict).toMatchObject({ status: 'inconclusive', pass: false });
    expect(result.verdict!.reasons.at(-1)).toMatch(/^steady state: .*; no fault was applied$/);
  });
});
