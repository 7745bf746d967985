/**
 * flows: a flow costs little more than its requests. Sessions of 3 requests (a body capture feeding
 * the next request's header, 50 ms think between steps) at 1,000 sessions/s against the same 3
 * requests as independent arrivals at 3,000/s: the generator's CPU (its own process, pinned to
 * core 0, measured with process.cpuUsage from 1 s into the load to its end) per request sent.
 * Five back-to-back pairs (short: three), alternating who goes first; the verdict is the median of
 * the pair ratios. Target: nginx (or the Node target) on core 1. 20 s per run (short: 8 s).
 */
import { canPin, fmt, GENERATOR_CORE, median, runWorker, SHORT, type BenchReport } from './lib/common.ts';
import { startFastTarget } from './lib/targets.ts';
import type { FlowsArgs, FlowsResult } from './workers/flows.ts';

const SESSIONS = 1000;
const DURATION_MS = SHORT ? 8_000 : 20_000;
const PAIRS = SHORT ? 3 : 5;
const LIMIT = 1.3;

const perRequest = (r: FlowsResult) => r.cpuMs / Math.max(1, r.sent);

export async function flows(): Promise<BenchReport> {
  const target = await startFastTarget();
  const pairs: { flow: FlowsResult; requests: FlowsResult }[] = [];
  try {
    for (let i = 0; i < PAIRS; i++) {
      const order: FlowsArgs['mode'][] = i % 2 === 0 ? ['flow', 'requests'] : ['requests', 'flow'];
      const got: Partial<Record<FlowsArgs['mode'], FlowsResult>> = {};
      for (const mode of order) {
        const args: FlowsArgs = {
          url: target.url,
          mode,
          sessions: SESSIONS,
          durationMs: DURATION_MS,
          connections: 64,
        };
        got[mode] = await runWorker<FlowsResult>('flows', args, {
          core: GENERATOR_CORE,
          deadlineMs: DURATION_MS + 60_000,
        });
      }
      pairs.push({ flow: got.flow!, requests: got.requests! });
    }
  } finally {
    await target.stop();
  }
  const ratios = pairs.map((p) => perRequest(p.flow) / perRequest(p.requests));
  const ratio = median(ratios);
  const cpuPct = (r: FlowsResult) => (100 * r.cpuMs) / r.measuredMs;
  const f = pairs.map((p) => p.flow);
  const q = pairs.map((p) => p.requests);
  return {
    name: 'flows',
    title: `sessions of 3 requests at ${fmt.int(SESSIONS)}/s vs ${fmt.int(3 * SESSIONS)} independent requests/s`,
    notes: [
      `target: ${target.describe}; generator on core ${GENERATOR_CORE}${canPin() ? '' : ' (NOT pinned)'}; ${PAIRS} pairs of ${DURATION_MS / 1000} s runs`,
      `pair ratios (CPU per request sent, flow / requests): ${ratios.map((x) => x.toFixed(2)).join(', ')}`,
      ...pairs.map(
        (p, i) =>
          `pair ${i + 1}: flow sent ${fmt.int(p.flow.sent)} (ok ${fmt.int(p.flow.ok)}, sessions ${p.flow.sessions?.completed ?? 0}/${p.flow.sessions?.started ?? 0} completed), ${fmt.pct(cpuPct(p.flow))} CPU; requests sent ${fmt.int(p.requests.sent)} (ok ${fmt.int(p.requests.ok)}), ${fmt.pct(cpuPct(p.requests))} CPU`,
      ),
    ],
    rows: [
      {
        measure: 'generator CPU per request, flow / independent requests (median of pairs)',
        ours: `${(median(f.map(perRequest)) * 1000).toFixed(1)} µs/request`,
        peer: `${(median(q.map(perRequest)) * 1000).toFixed(1)} µs/request`,
        ratio: `${ratio.toFixed(2)}×`,
        target: `≤ ${LIMIT}×`,
        verdict: ratio <= LIMIT ? 'PASS' : 'MISS',
      },
      {
        measure: 'generator CPU, % of a core (median)',
        ours: fmt.pct(median(f.map(cpuPct))),
        peer: fmt.pct(median(q.map(cpuPct))),
        ratio: fmt.ratio(median(f.map(cpuPct)), median(q.map(cpuPct))),
        target: 'report only',
        verdict: 'info',
      },
      {
        measure: 'latency p99 from intended (median)',
        ours: fmt.ms(median(f.map((x) => x.latencyP99Ms ?? Number.NaN))),
        peer: fmt.ms(median(q.map((x) => x.latencyP99Ms ?? Number.NaN))),
        ratio: '—',
        target: 'report only',
        verdict: 'info',
      },
    ],
    data: { sessions: SESSIONS, durationMs: DURATION_MS, ratios, pairs },
  };
}
