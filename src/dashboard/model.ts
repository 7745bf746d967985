/**
 * What the live dashboard knows about a run, as plain JSON messages, built from run events only.
 * The server sends a `snapshot` to each page that connects, then every change as it happens.
 *
 *   `started`     ──> run (plan phases, duration)          `second`      ──> a live point
 *   `secondFinal` ──> a finished point (exact, late)       `faultApplied/Reverted` ──> a fault
 *   `stopping`    ──> state                                `warning`, `log` ──> a log line
 *   `finished`    ──> end: verdict, totals, per-profile breakdown, links to the reports
 *
 * Points carry optional `stream` and `profile` dimensions: absent means the whole run. The page
 * draws the whole run and tables any other dimension it receives: with several load streams each
 * stream's live and finished seconds come as points of that stream, each named request's or flow
 * step's last second as a point of that profile (sent, ended, latency of what ended); their totals
 * come at the end, from the result's `profiles` (each stream's, with several).
 */
import type { FaultRecord, RunResult } from '../result.ts';
import type { ProfileProgress, Progress, StreamProgress } from '../run.ts';
import type { StartedInfo } from '../run/events.ts';
import type { SecondStats } from '../metrics/store.ts';

export interface Dimensions {
  /** A stream of the workload (absent: the whole run). */
  stream?: string;
  /** A named request or flow step (absent: all of them). */
  profile?: string;
}

/** The live view of one wall second (src/run/live.ts): what ended in it plus what is outstanding. */
export interface LivePoint extends Dimensions {
  t: number;
  requested: number;
  achieved: number;
  ok: number;
  failed: number;
  dropped: number;
  outstanding: number;
  /** Milliseconds; null when nothing ended or waited. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  errors: Record<string, number>;
  activeFaults: string[];
  saturated: boolean;
  totalSent: number;
  totalFailed: number;
}

/** A finished second (by intended send second): the same figures results.json has for it. */
export interface FinalPoint extends Dimensions {
  t: number;
  requested: number;
  sent: number;
  ok: number;
  failed: number;
  dropped: number;
  cancelled: number;
  notSent: number;
  errors: Record<string, number>;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface PhaseView {
  index: number;
  name: string;
  kind: string;
  startS: number;
  endS: number;
  peakRate: number;
}

export interface RunView {
  runId: string;
  scenario: string;
  description: string;
  durationS: number;
  timeScale: number;
  seed: number;
  loadStartedAt: string;
  phases: PhaseView[];
}

export interface FaultView {
  id: string;
  type: string;
  target: string;
  description: string;
  plannedStartS: number;
  plannedEndS: number;
  appliedAtS: number | null;
  revertedAtS: number | null;
  status: string;
}

export interface BreakdownRow extends Dimensions {
  sent: number;
  ok: number;
  failed: number;
  p50: number | null;
  p99: number | null;
}

export interface EndView {
  status: RunResult['status'];
  verdict: { status: string; score: number; grade: string; reasons: string[] } | null;
  totals: {
    requested: number;
    sent: number;
    ok: number;
    failed: number;
    dropped: number;
    p99: number | null;
  };
  ranS: number;
  breakdown: BreakdownRow[];
  /** Served by the dashboard itself while it runs. */
  links: { report: string; results: string };
  /** Files written into --out, once they are. */
  files: string[];
}

export type RunState = 'starting' | 'running' | 'stopping' | 'finished';

export interface Snapshot {
  type: 'snapshot';
  run: RunView | null;
  scenario: string;
  runId: string;
  state: RunState;
  stopReason: string | null;
  live: LivePoint[];
  finals: FinalPoint[];
  faults: FaultView[];
  log: string[];
  end: EndView | null;
}

export type DashboardMessage =
  | Snapshot
  | { type: 'run'; run: RunView }
  | { type: 'second'; point: LivePoint }
  | { type: 'final'; point: FinalPoint }
  | { type: 'fault'; fault: FaultView }
  | { type: 'state'; state: RunState; reason: string | null }
  | { type: 'log'; line: string }
  | { type: 'end'; end: EndView };

const s3 = (ms: number) => Math.round(ms) / 1000;
const LOG_LINES = 50;

export function livePoint(p: Progress): LivePoint {
  const l = p.latencyMs;
  return {
    t: p.second,
    requested: p.requestedRate,
    achieved: p.achievedRate,
    ok: p.ok,
    failed: p.failed,
    dropped: p.dropped,
    outstanding: p.outstanding,
    p50: l?.p50 ?? null,
    p95: l?.p95 ?? null,
    p99: l?.p99 ?? null,
    max: l?.max ?? null,
    errors: { ...p.errors } as Record<string, number>,
    activeFaults: p.activeFaults,
    saturated: p.saturated,
    totalSent: p.totalSent,
    totalFailed: p.totalFailed,
  };
}

/** A stream's or a profile's last second: `figures` in place of the run's, no running totals. */
function dimPoint(p: Progress, dims: Dimensions, figures: Partial<Progress>): LivePoint {
  return { ...dims, ...livePoint({ ...p, ...figures, totalSent: 0, totalFailed: 0 }) };
}

/** One stream's part of the live view (several load streams), as a point of that stream. */
export function streamLivePoint(p: Progress, sp: StreamProgress): LivePoint {
  return dimPoint(p, { stream: sp.name }, sp);
}

/** A named request's or flow step's last second, as a point of that profile (and stream). */
export function profileLivePoint(p: Progress, pp: ProfileProgress): LivePoint {
  return dimPoint(
    p,
    pp.stream === undefined ? { profile: pp.name } : { stream: pp.stream, profile: pp.name },
    {
      requestedRate: 0,
      achievedRate: pp.sent,
      ok: pp.ok,
      failed: pp.failed,
      dropped: 0,
      outstanding: 0,
      latencyMs: pp.latencyMs,
      errors: {},
    },
  );
}

export function finalPoint(s: SecondStats): FinalPoint {
  return {
    t: s.t,
    requested: s.requested,
    sent: s.sent,
    ok: s.ok,
    failed: s.failed,
    dropped: s.dropped,
    cancelled: s.cancelled,
    notSent: s.notSent,
    errors: { ...s.errors } as Record<string, number>,
    p50: s.latencyMs?.p50 ?? null,
    p95: s.latencyMs?.p95 ?? null,
    p99: s.latencyMs?.p99 ?? null,
  };
}

export function faultView(f: FaultRecord): FaultView {
  return {
    id: f.id,
    type: f.type,
    target: f.target,
    description: f.description,
    plannedStartS: s3(f.plannedStartMs),
    plannedEndS: s3(f.plannedEndMs),
    appliedAtS: f.appliedAtMs === null ? null : s3(f.applyStartedAtMs ?? f.appliedAtMs),
    revertedAtS: f.revertedAtMs === null ? null : s3(f.revertedAtMs),
    status: f.status,
  };
}

export function runView(i: StartedInfo, scenario: string, description: string): RunView {
  return {
    runId: i.runId,
    scenario,
    description,
    durationS: s3(i.plan.durationMs),
    timeScale: i.plan.timeScale,
    seed: i.plan.seed,
    loadStartedAt: i.loadStartedAt,
    phases: i.plan.phases.map((p) => ({
      index: p.index,
      name: p.name,
      kind: p.kind,
      startS: s3(p.startMs),
      endS: s3(p.endMs),
      peakRate: p.peakRate,
    })),
  };
}

export function endView(r: RunResult): EndView {
  const v = r.verdict;
  return {
    status: r.status,
    verdict: v ? { status: v.status, score: v.score, grade: v.grade, reasons: v.reasons } : null,
    totals: {
      requested: r.totals.requested,
      sent: r.totals.sent,
      ok: r.totals.ok,
      failed: r.totals.failed,
      dropped: r.totals.dropped,
      p99: r.totals.latencyMs?.p99 ?? null,
    },
    ranS: s3(r.ranMs),
    breakdown: r.streams
      ? r.streams.flatMap((st) => [
          {
            stream: st.name,
            sent: st.totals.sent,
            ok: st.totals.ok,
            failed: st.totals.failed,
            p50: st.totals.latencyMs?.p50 ?? null,
            p99: st.totals.latencyMs?.p99 ?? null,
          },
          ...profileRows(st.profiles, st.name),
        ])
      : profileRows(r.profiles, undefined),
    links: { report: '/report.html', results: '/results.json' },
    files: [],
  };
}

function profileRows(profiles: RunResult['profiles'], stream: string | undefined): BreakdownRow[] {
  return Object.entries(profiles ?? {}).map(([profile, p]) => ({
    ...(stream === undefined ? {} : { stream }),
    profile,
    sent: p.sent,
    ok: p.ok,
    failed: p.failed,
    p50: p.latencyMs?.p50 ?? null,
    p99: p.latencyMs?.p99 ?? null,
  }));
}

/** '' for the whole run; else the point's stream and profile. */
function dimKey(p: Dimensions): string {
  return p.stream === undefined && p.profile === undefined ? '' : `${p.stream ?? ''}\u0000${p.profile ?? ''}`;
}

/** The state a newly connected page starts from; updated by apply() with every message sent. */
export class DashboardState {
  private s: Snapshot;
  /** Where each stream's or profile's latest live point is in `s.live`. */
  private readonly dims = new Map<string, number>();

  constructor(scenario: string, runId: string) {
    this.s = {
      type: 'snapshot',
      run: null,
      scenario,
      runId,
      state: 'starting',
      stopReason: null,
      live: [],
      finals: [],
      faults: [],
      log: [],
      end: null,
    };
  }

  snapshot(): Snapshot {
    return this.s;
  }

  apply(m: DashboardMessage): void {
    const s = this.s;
    switch (m.type) {
      case 'snapshot':
        this.s = m;
        this.dims.clear();
        m.live.forEach((p, i) => {
          if (dimKey(p) !== '') this.dims.set(dimKey(p), i);
        });
        return;
      case 'run':
        s.run = m.run;
        s.state = 'running';
        return;
      case 'second': {
        // The whole run's points all stay (the charts); a stream's or a profile's only its latest
        // (the table), so a long run with many steps keeps a snapshot of bounded size.
        const key = dimKey(m.point);
        if (key === '') s.live.push(m.point);
        else {
          const i = this.dims.get(key);
          if (i === undefined) this.dims.set(key, s.live.push(m.point) - 1);
          else s.live[i] = m.point;
        }
        return;
      }
      case 'final': {
        // Only the run's finished seconds are kept for pages that connect later (the table).
        if (dimKey(m.point) !== '') return;
        // Finished seconds arrive in any order; keep them sorted by second.
        const i = s.finals.findIndex((f) => f.t > m.point.t);
        if (i < 0) s.finals.push(m.point);
        else s.finals.splice(i, 0, m.point);
        return;
      }
      case 'fault': {
        const i = s.faults.findIndex((f) => f.id === m.fault.id);
        if (i < 0) s.faults.push(m.fault);
        else s.faults[i] = m.fault;
        return;
      }
      case 'state':
        s.state = m.state;
        s.stopReason = m.reason;
        return;
      case 'log':
        s.log.push(m.line);
        if (s.log.length > LOG_LINES) s.log.shift();
        return;
      case 'end':
        s.end = m.end;
        s.state = 'finished';
        return;
    }
  }
}
