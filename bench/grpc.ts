/**
 * grpc: the gRPC engine against a grpc-js server on loopback (target on core 1, generators on core 0).
 *
 *   - unary throughput: chaoskit's GrpcLoad, open model at twice the rate the peer achieved (so it
 *     is saturated; arrivals beyond its backlog are dropped and counted), vs the peer: a tight
 *     grpc-js client loop (generated client, protobufjs messages) with the same concurrency.
 *     OK answers ending in the same window (warm-up excluded); rounds alternate who goes first.
 *   - time to first event: the server sends a stream's first message after a known delay and
 *     reports when it really did (timers fire late on a loaded machine); the engine's median time
 *     to first event (gRPC server stream, and SSE through the HTTP engine) minus that, beside what
 *     a plain grpc-js client measures for the same calls.
 *
 * `npx tsx bench/grpc.ts [--short]`; also `npm run bench -- grpc` where bench/run.ts lists it.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  GENERATOR_CORE,
  median,
  pinned,
  printReport,
  runWorker,
  SHORT,
  stopChild,
  TARGET_CORE,
  track,
  type BenchReport,
  type Row,
} from './lib/common.ts';

const CONCURRENCY = 32;
const WARMUP_MS = SHORT ? 1000 : 2000;
const MEASURE_MS = SHORT ? 3000 : 6000;
const END_MS = WARMUP_MS + MEASURE_MS;
const ROUNDS = SHORT ? 1 : 3;
const FIRST_DELAY_MS = 50;
const TSX_IMPORT = import.meta.resolve('tsx');

async function startTarget(): Promise<{ address: string; url: string; stop(): Promise<void> }> {
  const script = fileURLToPath(new URL('./workers/grpc-target.ts', import.meta.url));
  const [cmd, argv] = pinned(TARGET_CORE, process.execPath, ['--import', TSX_IMPORT, script]);
  const child = track(
    spawn(cmd, argv, {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, BENCH_ARGS: JSON.stringify({ lifetimeMs: 900_000 }) },
    }),
  );
  const ports = await new Promise<[number, number]>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error('the gRPC bench target did not start within 20 s')), 20_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /READY (\d+) (\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve([Number(m[1]), Number(m[2])]);
      }
    });
    child.once('exit', (c) => reject(new Error(`the gRPC bench target exited (${c})`)));
  });
  return {
    address: `127.0.0.1:${ports[0]}`,
    url: `http://127.0.0.1:${ports[1]}`,
    stop: () => stopChild(child),
  };
}

interface Throughput {
  windowOk: number;
  windowMs: number;
  errors: number;
  dropped?: number;
}
interface Ttfe {
  firstEventMs: { p50: number; p99: number; max: number } | null;
  streams: number;
}

const rps = (r: Throughput) => (r.windowOk / r.windowMs) * 1000;
const deadline = END_MS + 30_000;

export async function grpc(): Promise<BenchReport> {
  const target = await startTarget();
  const common = {
    address: target.address,
    url: target.url,
    durationMs: END_MS,
    concurrency: CONCURRENCY,
    window: [WARMUP_MS, END_MS],
    firstDelayMs: FIRST_DELAY_MS,
  };
  const peerRuns: number[] = [];
  const engineRuns: number[] = [];
  const ratios: number[] = [];
  const raw: unknown[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      let p = 0;
      let e = 0;
      for (const who of i % 2 === 0 ? ['peer', 'engine'] : ['engine', 'peer']) {
        if (who === 'peer') {
          const r = await runWorker<Throughput>(
            'grpc-loop',
            { ...common, mode: 'throughput', calls: 0 },
            { core: GENERATOR_CORE, deadlineMs: deadline },
          );
          p = rps(r);
          raw.push({ peer: r });
        } else {
          const rate = Math.max(2000, 2 * (peerRuns.at(-1) ?? p ?? 5000) || 10_000);
          const r = await runWorker<Throughput>(
            'grpc-engine',
            { ...common, mode: 'throughput', rate },
            { core: GENERATOR_CORE, deadlineMs: deadline },
          );
          e = rps(r);
          raw.push({ engine: r, rate });
        }
      }
      peerRuns.push(p);
      engineRuns.push(e);
      ratios.push(e / p);
    }
    const ttfeCommon = { ...common, rate: 20, durationMs: SHORT ? 2000 : 4000, window: [0, 0] };
    const stats = async () =>
      ((await (await fetch(`${target.url}/stats`)).json()) as { firstSendP50: number }).firstSendP50;
    await stats();
    const g = await runWorker<Ttfe>(
      'grpc-engine',
      { ...ttfeCommon, mode: 'ttfe' },
      { core: GENERATOR_CORE, deadlineMs: deadline },
    );
    const gSent = await stats();
    const s = await runWorker<Ttfe>(
      'grpc-engine',
      { ...ttfeCommon, mode: 'sse' },
      { core: GENERATOR_CORE, deadlineMs: deadline },
    );
    const sSent = await stats();
    const peer = await runWorker<{ p50: number; min: number; max: number }>(
      'grpc-loop',
      { ...common, mode: 'ttfe', calls: SHORT ? 20 : 50 },
      { core: GENERATOR_CORE, deadlineMs: deadline },
    );
    const pSent = await stats();
    const ratio = median(ratios);
    // Error = what the engine measured − when the server's first event actually went out.
    const err = (x: Ttfe, sent: number) => (x.firstEventMs ? x.firstEventMs.p50 - sent : Number.NaN);
    const ms = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)} ms`;
    const within = (x: number) => (Math.abs(x) <= 2 ? 'PASS' : 'MISS');
    const rows: Row[] = [
      {
        measure: `unary calls/s, ${CONCURRENCY} in flight`,
        ours: Math.round(median(engineRuns)).toLocaleString('en-US'),
        peer: `${Math.round(median(peerRuns)).toLocaleString('en-US')} (grpc-js loop)`,
        ratio: ratio.toFixed(2),
        target: '≥ 1.00',
        verdict: ratio >= 1 ? 'PASS' : 'MISS',
      },
      {
        measure: 'gRPC time to first event, error (p50)',
        ours: ms(err(g, gSent)),
        peer: `${ms(peer.p50 - pSent)} (grpc-js client)`,
        ratio: '',
        target: '±2 ms',
        verdict: within(err(g, gSent)),
      },
      {
        measure: 'SSE time to first event, error (p50)',
        ours: ms(err(s, sSent)),
        peer: '',
        ratio: '',
        target: '±2 ms',
        verdict: within(err(s, sSent)),
      },
    ];
    return {
      name: 'grpc',
      title: 'gRPC engine: unary throughput and time-to-first-event accuracy',
      notes: [
        `target: grpc-js server (Inference service) pinned to core ${TARGET_CORE}; generators pinned to core ${GENERATOR_CORE}`,
        `throughput: ${WARMUP_MS / 1000} s warm-up, ${MEASURE_MS / 1000} s window, ${ROUNDS} round(s), median of per-round ratios`,
        `time to first event: the server sends a stream's first message ${FIRST_DELAY_MS} ms after the call arrives (20 streams/s); error = the engine's p50 (from the intended send time) − the p50 delay after which the server actually sent it (its timers fire late on a busy machine: ${gSent.toFixed(2)} ms gRPC, ${sSent.toFixed(2)} ms SSE)`,
      ],
      rows,
      data: {
        peerRuns,
        engineRuns,
        ratios,
        raw,
        ttfe: { grpc: g, sse: s, peer, serverFirstSendP50: { grpc: gSent, sse: sSent, peer: pSent } },
      },
    };
  } finally {
    await target.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  printReport(await grpc());
  process.exit(0);
}
