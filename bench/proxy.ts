/**
 * The fault proxy against a direct connection, in the same run:
 * - throughput with no toxics: autocannon (50 connections) direct vs through the proxy (target ≥ 0.8×);
 * - added p50 latency with no toxics: chaoskit's engine at 1,000/s, service time p50 through the
 *   proxy minus direct (target ≤ 0.2 ms);
 * - a 100 ms latency toxic: added p50 (target 100 ± 3 ms).
 * The target and the proxy (`chaos proxy`, its own process) share core 1; the generators have
 * core 0. On two cores the proxy must share with someone: sharing with the target charges the
 * proxy's cost to the proxied side only, which is what the ratio should show.
 */
import { realClock } from '../src/core/clock.ts';
import autocannon from 'autocannon';
import { HttpLoad } from '../src/load/http-engine.ts';
import { segmentOf } from '../src/scenario/patterns.ts';
import { createPrng } from '../src/load/prng.ts';
import { MetricsStore } from '../src/metrics/store.ts';
import { spawn } from 'node:child_process';
import { CLI_BIN } from '../src/core/paths.ts';
import {
  fmt,
  freePort,
  pinned,
  SHORT,
  sleep,
  stopChild,
  TARGET_CORE,
  track,
  type BenchReport,
} from './lib/common.ts';
import { startNodeTarget } from './lib/targets.ts';

const seconds = SHORT ? 3 : 10;

async function autocannonRps(url: string): Promise<number> {
  const r = await (autocannon as unknown as (o: object) => Promise<{ requests: { average: number } }>)({
    url,
    connections: 50,
    duration: seconds,
  });
  return r.requests.average;
}

async function serviceP50(url: string, rate: number, durationMs: number): Promise<number> {
  const store = new MetricsStore();
  const load = new HttpLoad({
    url,
    requests: [{ weight: 1, method: 'GET', path: '/', headers: {} }],
    segment: segmentOf({ kind: 'constant', rate, duration: durationMs }),
    arrivals: 'even',
    connections: 16,
    maxBacklog: 1000,
    timeoutMs: 5000,
    streamTimeoutMs: 5000,
    prng: createPrng(1),
    store,
    clock: realClock,
  });
  await load.warmUp();
  await load.start();
  return store.totalService.getValueAtPercentile(50) / 1000;
}

export async function proxy(): Promise<BenchReport> {
  const target = await startNodeTarget('ok');
  const apiPort = await freePort();
  const [cmd, args] = pinned(TARGET_CORE, process.execPath, [CLI_BIN, 'proxy', '--port', String(apiPort)]);
  const proxyProc = track(spawn(cmd, args, { stdio: 'ignore' }));
  const api = `http://127.0.0.1:${apiPort}`;
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`${api}/version`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await sleep(100);
  }
  const listen = await freePort();
  const post = (path: string, body: unknown) =>
    fetch(`${api}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  await post('/proxies', {
    name: 'bench',
    listen: `127.0.0.1:${listen}`,
    upstream: new URL(target.url).host,
    enabled: true,
  });
  const via = `http://127.0.0.1:${listen}`;
  try {
    // Warm both paths, then alternate so drift in machine load hits both sides alike.
    await serviceP50(target.url, 500, 1000);
    await serviceP50(via, 500, 1000);
    const directRps = await autocannonRps(target.url);
    const proxiedRps = await autocannonRps(via);
    const directP50 = await serviceP50(target.url, 1000, seconds * 1000);
    const proxiedP50 = await serviceP50(via, 1000, seconds * 1000);
    await post('/proxies/bench/toxics', {
      name: 'bench-latency',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 100, jitter: 0 },
    });
    const toxicP50 = await serviceP50(via, 200, seconds * 1000);
    await fetch(`${api}/proxies/bench/toxics/bench-latency`, { method: 'DELETE' });
    const added = proxiedP50 - directP50;
    const addedToxic = toxicP50 - proxiedP50;
    return {
      name: 'proxy',
      title: 'fault proxy vs a direct connection',
      notes: [
        `target: ${target.describe}; chaos proxy in its own process on the same core; generators on core 0; ${seconds}s per measurement`,
      ],
      rows: [
        {
          measure: 'req/s, no toxics (autocannon, 50 conns)',
          ours: fmt.int(proxiedRps),
          peer: `${fmt.int(directRps)} direct`,
          ratio: fmt.ratio(proxiedRps, directRps),
          target: '≥ 0.8×',
          verdict: proxiedRps / directRps >= 0.8 ? 'PASS' : 'MISS',
        },
        {
          measure: 'added p50, no toxics (1,000/s)',
          ours: `${added.toFixed(3)} ms`,
          peer: `${directP50.toFixed(3)} ms direct`,
          ratio: '—',
          target: '≤ 0.2 ms',
          verdict: added <= 0.2 ? 'PASS' : 'MISS',
        },
        {
          measure: 'added p50, latency toxic 100 ms',
          ours: `${addedToxic.toFixed(2)} ms`,
          peer: '100 ms',
          ratio: '—',
          target: '100 ± 3 ms',
          verdict: Math.abs(addedToxic - 100) <= 3 ? 'PASS' : 'MISS',
        },
      ],
      data: { directRps, proxiedRps, directP50, proxiedP50, toxicP50 },
    };
  } finally {
    await stopChild(proxyProc);
    await target.stop();
  }
}
