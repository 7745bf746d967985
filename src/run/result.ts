/**
 * buildResult: everything the runner measured (plain data) → one RunResult. Pure: no clock, no
 * I/O, so every field can be tested without running anything. Scoring is separate (src/slo/).
 */
import { encode, newHistogram, summarize, type Histogram } from '../core/hist.ts';
import type { SecondStats } from '../metrics/store.ts';
import type { ProbeResult } from '../probes/runner.ts';
import type { SteadyStateRecord } from '../probes/steady-state.ts';
import {
  SCHEMA_VERSION,
  type FaultRecord,
  type RunResult,
  type StreamResult,
  type TimelineSecond,
} from '../result.ts';
import type { Scenario } from '../input/load.ts';
import type { RunPlan } from '../scenario/plan.ts';
import type { Target } from '../scenario/schema.ts';
import type { StreamTotals } from '../metrics/stream-metrics.ts';
import type { ProfileStats } from '../metrics/profiles.ts';
import { ACCOUNTING_WARNING } from '../slo/validity.ts';
import { VERSION } from '../version.ts';

export interface Measured {
  runId: string;
  seed: number;
  scenario: Scenario;
  plan: RunPlan;
  engine: string;
  /** The load target's address (URL or grpc://host:port). */
  address: string;
  startedAt: string;
  loadStartedAt: string | null;
  endedAt: string;
  /** How long the load ran. */
  ranMs: number;
  abort: { reason: string; atMs: number } | null;
  /** Every second the timeline covers, finalised. */
  timeline: readonly SecondStats[];
  totalLatency: Histogram;
  totalService: Histogram;
  streams: StreamTotals | null;
  profiles: Record<string, ProfileStats> | null;
  faults: readonly FaultRecord[];
  host: RunResult['host'];
  probes: readonly ProbeResult[];
  steadyState: SteadyStateRecord | undefined;
  /** What the engine and the runner want said (in addition to what the timeline shows). */
  warnings: readonly string[];
  /** Accounting invariants that did not hold (bugs). */
  violations: readonly string[];
  extras: Partial<Pick<RunResult, 'capacity' | 'workers' | 'runners'>>;
}

export function buildResult(m: Measured): RunResult {
  const s = m.scenario;
  const timeline = m.timeline.map((x) => x as TimelineSecond);
  const totals = sumTimeline(timeline);
  const warnings = [
    ...rateWarnings(timeline, m.engine),
    ...m.warnings,
    ...m.violations.map((v) => `${ACCOUNTING_WARNING} ${v}`),
  ];
  const result: RunResult = {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'chaoskit', version: VERSION },
    runId: m.runId,
    seed: m.seed,
    scenario: { name: s.spec.name, description: s.spec.description, file: s.file },
    environment: {
      file: s.environment.file,
      demo: s.environment.spec.demo,
      targets: Object.fromEntries(
        Object.entries(s.environment.spec.targets).map(([name, t]) => [
          name,
          { kind: t.kind, ...redactedAddress(t) },
        ]),
      ),
    },
    timeScale: m.plan.timeScale,
    startedAt: m.startedAt,
    ...(m.loadStartedAt !== null ? { loadStartedAt: m.loadStartedAt } : {}),
    endedAt: m.endedAt,
    ranMs: Math.round(m.ranMs),
    status: m.abort ? 'aborted' : 'completed',
    abort: m.abort ? { reason: m.abort.reason, atMs: Math.round(m.abort.atMs) } : null,
    plan: {
      durationMs: m.plan.durationMs,
      expectedRequests: Math.round(m.plan.expectedRequests),
      peakRate: m.plan.peakRate,
      arrivals: m.plan.arrivals,
      phases: m.plan.phases.map(({ index, name, kind, startMs, endMs, peakRate }) => ({
        index,
        name,
        kind,
        startMs,
        endMs,
        peakRate,
      })),
    },
    load: {
      target: s.spec.load.target,
      url: m.address,
      connections: s.spec.load.connections,
      timeoutMs: s.spec.load.timeout,
      streamTimeoutMs: s.spec.load.streamTimeout,
      engine: m.engine,
    },
    totals: {
      ...totals,
      latencyMs: summarize(m.totalLatency),
      serviceMs: summarize(m.totalService),
      hist: m.totalLatency.totalCount > 0 ? encode(m.totalLatency) : null,
      ...(m.streams ? { stream: m.streams } : {}),
    },
    timeline,
    faults: m.faults.map((f) => ({ ...f, observations: [...f.observations] })),
    host: m.host,
    warnings,
    ...(m.profiles ? { profiles: m.profiles } : {}),
    ...(m.probes.length > 0 ? { probes: [...m.probes] } : {}),
    ...(m.steadyState ? { steadyState: m.steadyState } : {}),
    ...m.extras,
  };
  return result;
}

function sumTimeline(tl: readonly TimelineSecond[]) {
  const errors: Record<string, number> = {};
  const t = {
    requested: 0,
    sent: 0,
    achieved: 0,
    ok: 0,
    failed: 0,
    dropped: 0,
    droppedStall: 0,
    notSent: 0,
    cancelled: 0,
    saturatedSeconds: 0,
  };
  for (const s of tl) {
    t.requested += s.requested;
    t.sent += s.sent;
    t.achieved += s.achieved;
    t.ok += s.ok;
    t.failed += s.failed;
    t.dropped += s.dropped;
    t.droppedStall += s.droppedStall;
    t.notSent += s.notSent;
    t.cancelled += s.cancelled;
    if (s.generator?.saturated) t.saturatedSeconds++;
    for (const [k, v] of Object.entries(s.errors)) errors[k] = (errors[k] ?? 0) + (v ?? 0);
  }
  return { ...t, errors };
}

/** Seconds where the achieved rate missed the requested one, saturation, drops: said out loud. */
function rateWarnings(tl: readonly TimelineSecond[], engine: string): string[] {
  const out: string[] = [];
  if (engine !== 'autocannon') {
    const off = tl.filter(
      (s) => s.requested > 0 && Math.abs(s.achieved - s.requested) > Math.max(1, s.requested * 0.01),
    );
    if (off.length > 0) {
      out.push(
        `achieved rate differed from requested by more than 1% in ${off.length} of ${tl.length} seconds (first at t=${off[0]!.t}s: requested ${off[0]!.requested}, sent ${off[0]!.achieved})`,
      );
    }
  }
  const sat = tl.filter((s) => s.generator?.saturated);
  if (sat.length > 0) {
    out.push(
      `the load generator was saturated in ${sat.length} second(s) (${sat[0]!.generator!.reasons.join(', ')} at t=${sat[0]!.t}s): latency there may be the generator's, not the target's`,
    );
  }
  const dropped = tl.reduce((n, s) => n + s.dropped - s.droppedStall, 0);
  if (dropped > 0)
    out.push(
      `${dropped} arrivals were dropped: the backlog was full (raise load.connections or load.maxBacklog); they count as bad events`,
    );
  const notSent = tl.reduce((n, s) => n + s.notSent, 0);
  if (notSent > 0)
    out.push(`${notSent} arrivals were still waiting for a connection when the load stopped (not sent)`);
  return out;
}

function redactedAddress(t: Target): { address?: string } {
  const strip = (u: string) => {
    const x = new URL(u);
    x.username = '';
    x.password = '';
    x.search = '';
    return x.toString().replace(/\/$/, '');
  };
  if (t.kind === 'http') return { address: strip(t.url) };
  if (t.kind === 'proxy') return { address: `${strip(t.api)} proxy ${t.proxy}` };
  if (t.kind === 'docker') return { address: t.container ?? JSON.stringify(t.labels) };
  if (t.kind === 'process') return { address: t.match ?? t.pidFile };
  if (t.kind === 'grpc') return { address: t.address };
  return {};
}

/** Several streams' histograms as one (exact: HDR histograms add). */
export function mergedHistogram(hists: readonly Histogram[]): Histogram {
  if (hists.length === 1) return hists[0]!;
  const h = newHistogram();
  for (const x of hists) h.add(x);
  return h;
}

/**
 * The run's per-profile table: one stream's as it is; with several, every stream's under
 * `STREAM/` (two streams may both have a request named `chat`; they are not the same request).
 */
export function mergedProfiles(
  units: readonly {
    name: string | null;
    store: { profiles: { summary(): Record<string, ProfileStats> | null } };
  }[],
): Record<string, ProfileStats> | null {
  if (units.length === 1) return units[0]!.store.profiles.summary();
  const out: Record<string, ProfileStats> = {};
  for (const u of units)
    for (const [k, v] of Object.entries(u.store.profiles.summary() ?? {})) out[`${u.name}/${k}`] = v;
  return Object.keys(out).length > 0 ? out : null;
}

/** One stream's part of a multi-stream result (results.json `streams[]`). */
export function streamResult(
  name: string,
  service: string,
  part: RunResult,
  verdict: NonNullable<RunResult['verdict']>,
): StreamResult {
  return {
    name,
    target: part.load.target,
    service,
    engine: part.load.engine,
    load: part.load,
    plan: part.plan,
    totals: part.totals,
    timeline: part.timeline,
    ...(part.profiles ? { profiles: part.profiles } : {}),
    ...(part.sessions ? { sessions: part.sessions } : {}),
    warnings: part.warnings,
    verdict,
  };
}

/** One stream of a multi-stream result as a result of its own (to score it again, or to report it). */
export function streamAsResult(r: RunResult, st: StreamResult): RunResult {
  const { streams: _streams, verdict: _verdict, profiles: _profiles, sessions: _sessions, ...rest } = r;
  return {
    ...rest,
    load: st.load,
    plan: st.plan,
    totals: st.totals,
    timeline: st.timeline,
    ...(st.profiles ? { profiles: st.profiles } : {}),
    ...(st.sessions ? { sessions: st.sessions } : {}),
  };
}
