/**
 * coordinated-omission: a target that stalls for 1 s out of every 10 s must show in the p99.
 *
 * The target (bench/workers/target.ts, stall mode, core 1) holds every response to a request
 * that arrives in the last second of each 10 s of wall clock until that second ends. Load is
 * 200/s for 30 s (short: 20 s), so a tenth of the intended sends land in a stall.
 *   - chaoskit: open model at 200/s, latency from the intended send time; its service time
 *     (from the actual send) is shown too, as what a tool that waits for a free connection sees.
 *   - autocannon -c 10 --overallRate 200: closed model. Its own p99 is shown, and the p99 of the
 *     raw response times it reports (its histogram adds a coordinated-omission "correction"
 *     when a rate is set, so both are shown).
 * The two run one after the other against the same target, each over whole 10 s periods.
 */
import { canPin, fmt, GENERATOR_CORE, runWorker, SHORT, sleep, type BenchReport } from './lib/common.ts';
import { startNodeTarget } from './lib/targets.ts';
import type { AutocannonArgs, AutocannonResult } from './workers/autocannon.ts';
import type { EngineArgs, EngineResult } from './workers/engine.ts';

const RATE = 200;
const DURATION_S = SHORT ? 20 : 30;
const P99_TARGET_MS = 500;

/** Waits until the wall clock is `phaseMs` into a 10 s period, so every run covers whole periods. */
async function alignTo(phaseMs: number): Promise<void> {
  const wait = (phaseMs - (Date.now() % 10_000) + 10_000) % 10_000;
  await sleep(wait);
}

export async function coordinatedOmission(): Promise<BenchReport> {
  const target = await startNodeTarget('stall');
  let ours: EngineResult, peer: AutocannonResult;
  try {
    // Start 0.5 s into a period (worker start-up takes a few hundred ms) so each run spans
    // DURATION_S / 10 whole stalls.
    await alignTo(9_500);
    const ea: EngineArgs = {
      url: target.url,
      phases: [{ kind: 'constant', rate: RATE, duration: DURATION_S * 1000 }],
      connections: 64,
      maxBacklog: 10_000,
      timeoutMs: 5000,
    };
    ours = await runWorker<EngineResult>('engine', ea, {
      core: GENERATOR_CORE,
      deadlineMs: DURATION_S * 1000 + 40_000,
    });
    await alignTo(9_500);
    const pa: AutocannonArgs = { url: target.url, connections: 10, durationS: DURATION_S, overallRate: RATE };
    peer = await runWorker<AutocannonResult>('autocannon', pa, {
      core: GENERATOR_CORE,
      deadlineMs: DURATION_S * 1000 + 40_000,
    });
  } finally {
    await target.stop();
  }
  const p99 = ours.latencyMs?.p99 ?? 0;
  const peerCount = peer.perSecond.reduce((a, b) => a + b, 0);
  return {
    name: 'coordinated-omission',
    title: 'p99 under a 1 s stall every 10 s, at 200/s',
    notes: [
      `target: ${target.describe}; generators on core ${GENERATOR_CORE}${canPin() ? '' : ' (NOT pinned)'}; ${DURATION_S} s each, ${DURATION_S / 10} stalls each`,
      `chaoskit: sent ${fmt.int(ours.outcome.sent)}, completed ${fmt.int(ours.outcome.completed)}; latency p50 ${fmt.ms(ours.latencyMs?.p50)}, p90 ${fmt.ms(ours.latencyMs?.p90)}, max ${fmt.ms(ours.latencyMs?.max)}`,
      `autocannon: ${fmt.int(peerCount)} responses; its report p50 ${fmt.ms(peer.latencyMs.p50)}, p90 ${fmt.ms(peer.latencyMs.p90)}, max ${fmt.ms(peer.latencyMs.max)}; raw response times p50 ${fmt.ms(peer.rawLatencyMs?.p50)}, p90 ${fmt.ms(peer.rawLatencyMs?.p90)}`,
      'ideal: ~10% of intended sends fall in a stall, waiting 0–1000 ms, so a true p99 is ~900 ms',
    ],
    rows: [
      {
        measure: 'latency p99 (chaoskit: from intended send)',
        ours: fmt.ms(p99),
        peer: `${fmt.ms(peer.latencyMs.p99)} (autocannon report)`,
        ratio: fmt.ratio(p99, peer.latencyMs.p99),
        target: `≥ ${P99_TARGET_MS} ms`,
        verdict: p99 >= P99_TARGET_MS ? 'PASS' : 'MISS',
      },
      {
        measure: 'service-time p99 (chaoskit) / raw response p99 (autocannon)',
        ours: fmt.ms(ours.serviceMs?.p99),
        peer: `${fmt.ms(peer.rawLatencyMs?.p99)} (autocannon raw)`,
        ratio: fmt.ratio(ours.serviceMs?.p99 ?? 0, peer.rawLatencyMs?.p99 ?? 0),
        target: 'report only',
        verdict: 'info',
      },
      {
        measure: 'requests completed',
        ours: fmt.int(ours.outcome.completed),
        peer: fmt.int(peerCount),
        ratio: fmt.ratio(ours.outcome.completed, peerCount),
        target: `${fmt.int(RATE * DURATION_S)} requested`,
        verdict: 'info',
      },
    ],
    data: { rate: RATE, durationS: DURATION_S, chaoskit: ours, autocannon: peer },
  };
}
