/**
 * rate-accuracy: does the engine send what was asked, when it was asked?
 *
 * Engine (pinned to core 0) against the fast target (core 1), 60 s each (short: 15 s):
 *   constant 5,000/s, and sine 3,000 ± 2,000/s with a 20 s period.
 * Per second: requested = arrivals whose intended time falls in that second (the plan's own
 * schedule); sent = requests actually dispatched in that second. A second is "within ±1%" when
 * |sent − requested| ≤ 1% of requested. Send lag = dispatch time − intended time, over every
 * request of the run in one histogram (the p99 is exact, not a mean of per-second p99s).
 * Peer: autocannon -c 50 with its rate cap at 5,000/s for 10 s (responses per second; it has no
 * intended send times, so no lag, and no way to follow a sine).
 *
 * On a shared machine other processes' bursts show up as late sends. The bench meters other
 * processes' CPU second by second and also reports both figures over "quiet" seconds only (that
 * second and the one before it < 10% of a core used by others); the PASS/MISS verdicts are over
 * every second.
 */
import {
  canPin,
  startLoadMeter,
  type LoadSummary,
  fmt,
  GENERATOR_CORE,
  median,
  runWorker,
  SHORT,
  type BenchReport,
  type Row,
} from './lib/common.ts';
import { startFastTarget } from './lib/targets.ts';
import { decode, newHistogram } from '../src/core/hist.ts';
import type { Phase } from '../src/scenario/schema.ts';
import type { AutocannonArgs, AutocannonResult } from './workers/autocannon.ts';
import type { EngineArgs, EngineResult, EngineSecond } from './workers/engine.ts';

const DURATION_MS = SHORT ? 15_000 : 60_000;
const PEER_S = SHORT ? 5 : 10;
const TOLERANCE = 0.01;
const WITHIN_TARGET = 95;
const LAG_TARGET_MS = 2;

function warmText(r: EngineResult): string {
  const w = r.outcome.warmUp;
  if (!w) return 'no warm-up';
  return `${w.requests} requests in ${fmt.ms(w.durationMs)}, ${w.failed} failed${w.cutShort ? ` (${w.cutShort})` : ''}`;
}

function within(requested: number, sent: number): boolean {
  return requested > 0 && Math.abs(sent - requested) <= requested * TOLERANCE;
}

function accuracy(tl: readonly EngineSecond[]): {
  pct: number;
  n: number;
  of: number;
  worst: EngineSecond | null;
} {
  const secs = tl.filter((s) => s.requested > 0);
  const ok = secs.filter((s) => within(s.requested, s.sent));
  let worst: EngineSecond | null = null;
  for (const s of secs) {
    const off = Math.abs(s.sent - s.requested) / s.requested;
    if (!worst || off > Math.abs(worst.sent - worst.requested) / worst.requested) worst = s;
  }
  return { pct: (ok.length / Math.max(1, secs.length)) * 100, n: ok.length, of: secs.length, worst };
}

const QUIET_PCT = 10;

interface Metered {
  r: EngineResult;
  /** Per second of the run: other processes' CPU (% of a core), or NaN when unknown. */
  foreign: number[];
}

async function engine(url: string, phase: Phase): Promise<Metered> {
  const args: EngineArgs = {
    url,
    phases: [phase],
    connections: 64,
    maxBacklog: 10_000,
    timeoutMs: 5000,
    lagPerSecond: true,
  };
  const meter = startLoadMeter();
  const r = await runWorker<EngineResult>('engine', args, {
    core: GENERATOR_CORE,
    deadlineMs: DURATION_MS + 40_000,
  });
  const m: LoadSummary | null = meter.stop();
  const foreign = r.timeline.map((s) =>
    m ? m.foreignPctBetween(r.startEpochMs + s.t * 1000, r.startEpochMs + (s.t + 1) * 1000) : Number.NaN,
  );
  return { r, foreign };
}

/** Accuracy and lag over the seconds in which other processes were quiet (this and the last). */
function quiet(m: Metered): { seconds: number; within: number; lagP99: number } {
  const secs = m.r.timeline.filter(
    (s) => s.requested > 0 && m.foreign[s.t]! < QUIET_PCT && (s.t === 0 || m.foreign[s.t - 1]! < QUIET_PCT),
  );
  const h = newHistogram();
  for (const s of secs) {
    const enc = m.r.lagBySecond[s.t];
    if (enc) h.add(decode(enc));
  }
  return {
    seconds: secs.length,
    within: secs.filter((s) => within(s.requested, s.sent)).length,
    lagP99: h.totalCount > 0 ? h.getValueAtPercentile(99) / 1000 : Number.NaN,
  };
}

export async function rateAccuracy(): Promise<BenchReport> {
  const target = await startFastTarget();
  let cm: Metered, sm: Metered, peer: AutocannonResult;
  try {
    cm = await engine(target.url, { kind: 'constant', rate: 5000, duration: DURATION_MS });
    sm = await engine(target.url, {
      kind: 'sine',
      mean: 3000,
      amplitude: 2000,
      period: 20_000,
      duration: DURATION_MS,
    });
    const pa: AutocannonArgs = { url: target.url, connections: 50, durationS: PEER_S, overallRate: 5000 };
    peer = await runWorker<AutocannonResult>('autocannon', pa, {
      core: GENERATOR_CORE,
      deadlineMs: PEER_S * 1000 + 30_000,
    });
  } finally {
    await target.stop();
  }
  const constant = cm.r;
  const sine = sm.r;
  const c = accuracy(constant.timeline);
  const s = accuracy(sine.timeline);
  const cq = quiet(cm);
  const sq = quiet(sm);
  const quietRow = (name: string, q: ReturnType<typeof quiet>): Row => ({
    measure: `${name}: quiet seconds only (${q.seconds})`,
    ours: q.seconds
      ? `${fmt.pct((q.within / q.seconds) * 100)} within; lag p99 ${fmt.ms(q.lagP99)}`
      : 'no quiet second',
    peer: '—',
    ratio: '—',
    target: 'report only',
    verdict: 'info',
  });
  // autocannon: whole seconds only (its last partial second is cut by its own stop).
  const peerSecs = peer.perSecond.slice(0, PEER_S);
  const peerWithin = peerSecs.filter((n) => within(5000, n)).length;
  const peerPct = (peerWithin / Math.max(1, peerSecs.length)) * 100;
  const worstText = (w: EngineSecond | null) =>
    w ? `worst t=${w.t}s: requested ${w.requested}, sent ${w.sent}` : '';
  const satSecs = (r: EngineResult) => r.generator.filter((g) => g.saturated).length;
  const rows: Row[] = [
    {
      measure: 'constant 5,000/s: seconds within ±1%',
      ours: `${fmt.pct(c.pct)} (${c.n}/${c.of})`,
      peer: `${fmt.pct(peerPct)} (${peerWithin}/${peerSecs.length}, autocannon)`,
      ratio: '—',
      target: `≥ ${WITHIN_TARGET}%`,
      verdict: c.pct >= WITHIN_TARGET ? 'PASS' : 'MISS',
    },
    {
      measure: 'constant 5,000/s: send lag p99',
      ours: fmt.ms(constant.sendLagMs.p99),
      peer: 'n/a (no intended times)',
      ratio: '—',
      target: `≤ ${LAG_TARGET_MS} ms`,
      verdict: constant.sendLagMs.p99 <= LAG_TARGET_MS ? 'PASS' : 'MISS',
    },
    {
      measure: 'sine 3,000±2,000/s: seconds within ±1%',
      ours: `${fmt.pct(s.pct)} (${s.n}/${s.of})`,
      peer: 'n/a (no rate pattern)',
      ratio: '—',
      target: `≥ ${WITHIN_TARGET}%`,
      verdict: s.pct >= WITHIN_TARGET ? 'PASS' : 'MISS',
    },
    {
      measure: 'sine 3,000±2,000/s: send lag p99',
      ours: fmt.ms(sine.sendLagMs.p99),
      peer: 'n/a',
      ratio: '—',
      target: `≤ ${LAG_TARGET_MS} ms`,
      verdict: sine.sendLagMs.p99 <= LAG_TARGET_MS ? 'PASS' : 'MISS',
    },
    {
      measure: 'generator CPU median (constant / sine)',
      ours: `${fmt.pct(median(constant.generator.map((g) => g.cpuPct)))} / ${fmt.pct(median(sine.generator.map((g) => g.cpuPct)))}`,
      peer: `${fmt.pct((peer.cpuMs / (PEER_S * 1000)) * 100)} (autocannon)`,
      ratio: '—',
      target: 'report only',
      verdict: 'info',
    },
    {
      measure: 'seconds the self-monitor flagged saturated',
      ours: `${satSecs(constant)}/${constant.generator.length} / ${satSecs(sine)}/${sine.generator.length}`,
      peer: '—',
      ratio: '—',
      target: 'report only',
      verdict: 'info',
    },
    quietRow('constant', cq),
    quietRow('sine', sq),
  ];
  return {
    name: 'rate-accuracy',
    title: 'achieved vs requested rate per second, and send lag',
    notes: [
      `target: ${target.describe}; engine on core ${GENERATOR_CORE}${canPin() ? '' : ' (NOT pinned)'}; ${DURATION_MS / 1000} s per pattern, even arrivals, 64 connections`,
      `constant: ${worstText(c.worst)}; lag p50 ${fmt.ms(constant.sendLagMs.p50)}, p99.9 ${fmt.ms(constant.sendLagMs.p999)}, max ${fmt.ms(constant.sendLagMs.max)}`,
      `sine: ${worstText(s.worst)}; lag p50 ${fmt.ms(sine.sendLagMs.p50)}, p99.9 ${fmt.ms(sine.sendLagMs.p999)}, max ${fmt.ms(sine.sendLagMs.max)}`,
      `autocannon at 5,000/s, responses per second: ${peerSecs.join(', ')}`,
      `before t = 0 each engine run warmed up as chaos run does: ${warmText(constant)} (constant), ${warmText(sine)} (sine); first-second lag p99 ${fmt.ms(constant.timeline[0]?.sendLagP99Ms)} / ${fmt.ms(sine.timeline[0]?.sendLagP99Ms)}`,
    ],
    rows,
    data: {
      constant: { ...constant, foreign: cm.foreign },
      sine: { ...sine, foreign: sm.foreign },
      quiet: { constant: cq, sine: sq },
      autocannon: peer,
    },
  };
}
