/**
 * Stray UNAVAILABLE under a pure latency fault (issue 12): the demo inference service recycles
 * its connections every 2 s (GOAWAY), as servers behind load balancers do. A latency toxic slows
 * the GOAWAY down, so the client keeps opening streams on a connection the server has already
 * stopped accepting; those calls were never seen by the server. A gRPC client re-sends such calls
 * (grpc-js transparent retry); chaoskit had retries off, so they surfaced as grpc_unavailable and
 * were blamed on the latency fault.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_INFERENCE,
  INFERENCE_PROTO,
  INFERENCE_SERVICE,
  startInference,
} from '../../src/demo/inference.ts';
import { compileMessage, findMethod, loadProto, messageEncoder } from '../../src/load/grpc-proto.ts';
import { startProxyServer } from '../../src/proxy/server.ts';
import { freePort } from '../helpers/cli.ts';
import { runGrpc } from './grpc-helpers.ts';

let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.map((c) => c()));
  closers = [];
});

describe('gRPC load through a latency fault while the server recycles connections', () => {
  it('a pure latency fault yields latency, not UNAVAILABLE errors', async () => {
    const svc = await startInference({
      grpcPort: await freePort(),
      httpPort: await freePort(),
      ...DEFAULT_INFERENCE,
    });
    const proxy = await startProxyServer({ host: '127.0.0.1', port: 0 });
    closers.push(
      () => proxy.close(),
      () => svc.close(),
    );
    const p = (await proxy.registry.createProxy({
      name: 'g',
      listen: '127.0.0.1:0',
      upstream: svc.grpcAddress,
      enabled: true,
    })) as { listen: string };
    const added = await fetch(`${proxy.url}/proxies/g/toxics`, {
      method: 'POST',
      body: JSON.stringify({ type: 'latency', attributes: { latency: 150 } }),
    });
    expect(added.status).toBe(200);
    const m = findMethod(loadProto(INFERENCE_PROTO), INFERENCE_SERVICE, 'Generate');
    if (typeof m === 'string') throw new Error(m);
    const generate = {
      name: 'generate',
      weight: 1,
      path: m.path,
      serverStreaming: true,
      encode: messageEncoder(
        m.requestType,
        compileMessage({ prompt: 'x', max_tokens: 8 }, m.requestType, []),
      ),
      metadata: {},
    };
    // 8 s: four connection recycles at the service's 2 s connection age.
    const r = await runGrpc({
      address: p.listen,
      calls: [generate],
      rate: 40,
      durationMs: 8000,
      deadlineMs: 5000,
      concurrency: 256,
    });
    expect(r.outcome.sent).toBe(320);
    expect(r.errors).toEqual({});
    expect(r.sum((s) => s.ok)).toBe(320);
    // The fault is visible where it belongs: time to first token includes the added 150 ms.
    expect(r.store.streams.summary()!.firstEventMs!.p50).toBeGreaterThan(150);
  });
});
