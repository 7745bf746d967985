/**
 * Scoring: pure functions from a RunResult and the service's objectives to a Verdict.
 * Reporters only render the verdict; pass/fail is decided here and nowhere else.
 * Formulas, weights and bands are documented in docs/slo-format.md.
 */
import { mergeEncoded, type Histogram } from '../core/hist.ts';
import { PHASE_NAMES, type PhaseName } from '../metrics/store.ts';
import type { ObjectiveResult, RecoveryResult, RunResult, TimelineSecond, Verdict } from '../result.ts';
import { formatDuration } from '../core/units.ts';
import type { Objective, ServiceObjectives } from './objectives.ts';
import { compare } from './threshold.ts';
import { invalidReasons } from './validity.ts';

export type { PhaseName };
export const PHASES: readonly PhaseName[] = PHASE_NAMES;

/**
 * Time scale keeps its meaning: recovery objectives and holds shrink with `--time-scale`, but never
 * below the time a real restart or reconnection needs (documented in docs/slo-format.md).
 */
export const RECOVERY_FLOOR_MS = 5_000;
export const HOLD_FLOOR_MS = 2_000;
export function scaledFloor(ms: number, timeScale: number, floorMs: number): number {
  return Math.max(ms * timeScale, Math.min(ms, floorMs));
}

/** Below this many requests a phase's or window's figures are flagged low-confidence. */
export const MIN_CONFIDENT_REQUESTS = 100;
export const WEIGHTS = { budget: 0.3, recovery: 0.3, loss: 0.2, robustness: 0.2 } as const;
export const GRADES: readonly [string, number][] = [
  ['A', 90],
  ['B', 75],
  ['C', 60],
  ['D', 40],
  ['F', 0],
];
const BURN_WINDOW_S = 5;

export type { ObjectiveResult, RecoveryResult, Verdict };

// ---- phases ----------------------------------------------------------------------------------

export function faultWindows(r: RunResult): { id: string; startMs: number; endMs: number }[] {
  const endOfRun = r.ranMs ?? r.plan.durationMs;
  return r.faults
    .filter((f) => f.appliedAtMs !== null)
    .map((f) => ({
      id: f.id,
      startMs: f.applyStartedAtMs ?? f.appliedAtMs!,
      endMs: f.revertedAtMs ?? endOfRun,
    }));
}

/** Labels each second by wall time: overlapping a fault window → fault; before the first → baseline; else recovery. */
export function phaseOfSeconds(r: RunResult): PhaseName[] {
  const wins = faultWindows(r);
  const first = Math.min(...wins.map((w) => w.startMs));
  return r.timeline.map((s) => {
    const a = s.t * 1000,
      b = a + 1000;
    if (wins.some((w) => w.startMs < b && w.endMs > a)) return 'fault';
    return wins.length === 0 || b <= first ? 'baseline' : 'recovery';
  });
}

/** A second's share of one phase, shaped like a second (objectives measure either). */
interface Slice {
  t: number;
  ok: number;
  failed: number;
  dropped: number;
  hist: string | null;
}

/**
 * Each phase's requests as per-second slices. Requests are attributed by exposure (the faults in
 * effect at any moment of their life: src/run/exposure.ts); results of schema version 2 carry no
 * attribution, and are judged by second as they were then.
 */
export function phaseSlices(r: RunResult): Record<PhaseName, Slice[]> {
  const out: Record<PhaseName, Slice[]> = { baseline: [], fault: [], recovery: [] };
  const attributed = r.timeline.some((s) => s.phases && Object.keys(s.phases).length > 0);
  if (attributed) {
    for (const s of r.timeline)
      for (const p of PHASES) {
        const x = s.phases[p];
        if (x) out[p].push({ t: s.t, ok: x.ok, failed: x.failed, dropped: x.dropped, hist: x.hist });
      }
    return out;
  }
  const labels = phaseOfSeconds(r);
  r.timeline.forEach((s, i) =>
    out[labels[i]!].push({
      t: s.t,
      ok: s.ok,
      failed: s.failed,
      dropped: s.dropped - (s.droppedStall ?? 0),
      hist: s.hist,
    }),
  );
  return out;
}

// ---- aggregates ------------------------------------------------------------------------------

interface Agg {
  ok: number;
  /** Failed requests plus dropped arrivals (demand the system did not serve): the bad events. */
  bad: number;
  total: number;
  hist: Histogram;
}

/** Anything with per-second counts: a timeline second or a phase slice. */
type Counts = Pick<Slice, 'ok' | 'failed' | 'hist'> & { dropped?: number; droppedStall?: number };

/** Dropped arrivals are bad events; those a stalled generator never sent are not the target's. */
const droppedOf = (s: Counts) => (s.dropped ?? 0) - (s.droppedStall ?? 0);

function aggregate(seconds: readonly Counts[]): Agg {
  let ok = 0,
    bad = 0;
  for (const s of seconds) {
    ok += s.ok;
    bad += s.failed + droppedOf(s);
  }
  return { ok, bad, total: ok + bad, hist: mergeEncoded(seconds.map((s) => s.hist ?? undefined)) };
}

const availabilityOf = (a: { ok: number; total: number }) => (a.total === 0 ? null : a.ok / a.total);

function latencyStat(h: Histogram, stat: 'avg' | 'med' | 'max' | number): number | null {
  if (h.totalCount === 0) return null;
  if (stat === 'avg') return h.mean / 1000;
  if (stat === 'max') return h.maxValue / 1000;
  return h.getValueAtPercentile(stat === 'med' ? 50 : stat) / 1000;
}

/** Fraction of recorded latencies ≤ ms (bisection on the percentile: 3 significant digits). */
export function fractionWithin(h: Histogram, ms: number): number | null {
  if (h.totalCount === 0) return null;
  // Values within the histogram's 3-significant-digit resolution of `ms` count as equal.
  const us = ms * 1000 * 1.001;
  if (h.maxValue <= us) return 1;
  let lo = 0,
    hi = 100;
  for (let i = 0; i < 30; i++) {
    const mid = (lo + hi) / 2;
    if (h.getValueAtPercentile(mid) <= us) lo = mid;
    else hi = mid;
  }
  return lo / 100;
}

interface Measured {
  value: number | null;
  pass: boolean | null;
  target: string;
  fmt: (v: number) => string;
  requests: number;
}

const fmtPct = (v: number) => `${+(v * 100).toFixed(3)}%`;
const fmtMs = (v: number) => `${+v.toFixed(v < 10 ? 2 : 0)}ms`;

/** Evaluates one objective over a run of consecutive seconds. */
function measure(o: Objective, secs: readonly Counts[], timeScale = 1): Measured {
  const a = aggregate(secs);
  const res = (
    value: number | null,
    ok: (v: number) => boolean,
    target: string,
    fmt: (v: number) => string,
  ): Measured => ({
    value,
    pass: value === null ? null : ok(value),
    target,
    fmt,
    requests: a.total,
  });
  switch (o.kind) {
    case 'availability':
      return res(availabilityOf(a), (v) => v >= o.min, `≥ ${fmtPct(o.min)}`, fmtPct);
    case 'error-rate':
      return res(a.total ? a.bad / a.total : null, (v) => v <= o.max, `≤ ${fmtPct(o.max)}`, fmtPct);
    case 'latency':
      return res(latencyStat(a.hist, o.stat), (v) => v <= o.maxMs, `≤ ${fmtMs(o.maxMs)}`, fmtMs);
    case 'latency-fraction': {
      const within = fractionWithin(a.hist, o.withinMs);
      const good = within === null ? null : o.above ? 1 - within : within;
      return res(
        good,
        (v) => v >= o.min,
        `≥ ${fmtPct(o.min)} ${o.above ? 'above' : 'within'} ${o.withinMs}ms`,
        fmtPct,
      );
    }
    case 'timeslices': {
      const slices = secs.filter((s) => s.ok + s.failed + droppedOf(s) > 0);
      const good = slices.filter((s) => s.ok / (s.ok + s.failed + droppedOf(s)) >= o.sliceMin).length;
      return res(
        slices.length ? good / slices.length : null,
        (v) => v >= o.min,
        `≥ ${fmtPct(o.min)} good slices`,
        fmtPct,
      );
    }
    case 'threshold': {
      const t = o.threshold;
      const stat = t.stat;
      const value = (ss: readonly Counts[]): number | null => {
        const g = aggregate(ss);
        if (stat.kind === 'rate') return g.total ? g.bad / g.total : null;
        return latencyStat(g.hist, stat.kind === 'percentile' ? stat.p : stat.kind);
      };
      const fmt = stat.kind === 'rate' ? fmtPct : fmtMs;
      const target = `${t.op} ${stat.kind === 'rate' ? fmtPct(t.value) : fmtMs(t.value)}${t.windowMs ? ` over every ${t.windowMs / 1000}s` : ''}`;
      if (!t.windowMs) return res(value(secs), (v) => compare(v, t.op, t.value), target, fmt);
      // Every full window must hold; the actual shown is the worst window. Windows are scenario
      // time, so they shrink with --time-scale like every other time.
      const w = Math.max(1, Math.round((t.windowMs * timeScale) / 1000));
      let worst: number | null = null;
      let allPass: boolean | null = null;
      for (let i = 0; i + w <= secs.length; i++) {
        const v = value(secs.slice(i, i + w));
        if (v === null) continue;
        const ok = compare(v, t.op, t.value);
        const lowerIsWorse = t.op === '>' || t.op === '>=';
        if (worst === null || (lowerIsWorse ? v < worst : v > worst)) worst = v;
        allPass = (allPass ?? true) && ok;
      }
      return { value: worst, pass: allPass, target, fmt, requests: a.total };
    }
  }
}

/** Whether a stretch of seconds meets every objective (capacity probes judge each step with it). */
export function meetsObjectives(
  so: ServiceObjectives,
  secs: readonly Counts[],
): { pass: boolean; failed: string[] } {
  const failed: string[] = [];
  for (const o of so.objectives) {
    if (o.profile !== undefined) continue; // judged per phase, not per step of a probe
    const m = measure(o, secs);
    if (m.pass === false) failed.push(`${o.name} (${m.value === null ? '–' : m.fmt(m.value)})`);
  }
  return { pass: failed.length === 0, failed };
}

// ---- the verdict -----------------------------------------------------------------------------

export interface ScoreOptions {
  /** Scales recovery and hold times like the run's `--time-scale` did. */
  timeScale?: number;
}

export function score(full: RunResult, so: ServiceObjectives, opts: ScoreOptions = {}): Verdict {
  const r = capacityScope(full);
  const ts = opts.timeScale ?? r.timeScale;
  const slices = phaseSlices(r);
  const reasons: string[] = [];

  const objectives: ObjectiveResult[] = [];
  for (const phase of PHASES) {
    const secs = slices[phase];
    if (secs.length === 0) continue;
    for (const o of so.objectives) {
      if (o.profile !== undefined) continue; // profileObjectiveResults below
      const m = measure(o, secs, ts);
      objectives.push({
        name: o.name,
        phase,
        target: m.target,
        actual: m.value === null ? null : m.fmt(m.value),
        actualValue: m.value,
        pass: m.pass,
        // A miss decides the verdict only here: baseline rows (a miss makes the run inconclusive),
        // and recovery rows for services with neither a recovery objective nor a budget. Fault
        // rows never do: degradation under a fault is what the budget and recovery judge.
        gating:
          phase === 'baseline' || (phase === 'recovery' && so.recoveryMs === null && so.budget === null),
        lowConfidence: m.requests < MIN_CONFIDENT_REQUESTS,
        requests: m.requests,
      });
    }
  }

  objectives.push(...profileObjectiveResults(r, so, slices, reasons));

  // Degradation relative to the baseline's availability.
  const base = aggregate(slices.baseline);
  const baselineAvailability = availabilityOf(base) ?? 1;
  const labels = phaseOfSeconds(r);
  const q = r.timeline.map((s) => {
    const t = s.ok + s.failed + droppedOf(s);
    return t === 0 ? null : Math.min(1, baselineAvailability > 0 ? s.ok / t / baselineAvailability : 1);
  });
  let robustness = 1;
  let lossS = 0;
  let disturbedS = 0;
  labels.forEach((p, i) => {
    if (p === 'baseline') return;
    disturbedS++;
    const v = q[i];
    if (v === null || v === undefined) return;
    robustness = Math.min(robustness, v);
    lossS += 1 - v;
  });

  const scored = so.objectives.length > 0 || so.recoveryMs !== null || so.budget !== null;
  const recovery = scored ? recoveryTimes(r, so, ts) : [];
  const budget = budgetOf(r, so);

  const subscores = {
    budget: budget && budget.maxSpend !== null ? 100 * clamp01(1 - budget.burned / budget.maxSpend) : null,
    recovery: recovery.length ? mean(recovery.map((x) => recoveryScore(x))) : null,
    loss: disturbedS ? 100 * clamp01(1 - lossS / disturbedS) : null,
    robustness: disturbedS ? 100 * robustness : null,
  };
  let wsum = 0,
    acc = 0;
  for (const k of Object.keys(WEIGHTS) as (keyof typeof WEIGHTS)[]) {
    const v = subscores[k];
    if (v === null) continue;
    wsum += WEIGHTS[k];
    acc += WEIGHTS[k] * v;
  }
  const judged = objectives.filter((o) => o.pass !== null);
  const total =
    wsum > 0 ? acc / wsum : judged.length ? (100 * judged.filter((o) => o.pass).length) / judged.length : 100;
  const scoreValue = Math.round(total * 10) / 10;

  // Without faults the baseline is the experiment: its misses fail the run instead of making it inconclusive.
  const noFaults = r.faults.length === 0;
  const baselineMiss = noFaults ? [] : objectives.filter((o) => o.phase === 'baseline' && o.pass === false);
  const gatingMiss = objectives.filter(
    (o) => o.gating && (noFaults || o.phase !== 'baseline') && o.pass === false,
  );
  for (const o of baselineMiss)
    reasons.push(
      `baseline already misses ${o.name} (${o.actual} vs ${o.target}): the system was not healthy before any fault`,
    );
  for (const o of gatingMiss) reasons.push(`${o.phase}: ${o.name} missed (${o.actual} vs ${o.target})`);
  for (const x of recovery.filter((x) => x.pass === false)) {
    const got = x.ttrMs === null ? 'did not recover' : `recovered in ${formatDuration(x.ttrMs)}`;
    reasons.push(
      `${x.fault}: ${got}${x.objectiveMs === null ? '' : `, objective ${formatDuration(x.objectiveMs)}`}${x.note ? ` (${x.note})` : ''}`,
    );
  }
  if (budget?.pass === false)
    reasons.push(
      `error budget: burned ${fmtPct(budget.burned)} of the period's budget, allowed ${fmtPct(budget.maxSpend!)}`,
    );

  const invalid = invalidReasons(r);
  reasons.push(...invalid);
  if (!scored)
    reasons.push(
      `not scored: the SLO file has no objectives for service ${so.service}, so nothing was judged against targets`,
    );
  const firstStep = full.capacity?.steps[0];
  const noCapacity = firstStep !== undefined && !firstStep.pass;
  if (noCapacity)
    reasons.push(
      `capacity: even the first step (${firstStep.connections} connections) missed ${firstStep.failed.join(', ')}`,
    );
  if (judged.length === 0 && scored && r.status !== 'aborted' && firstStep === undefined)
    reasons.push('nothing could be judged: no request ended in any phase');
  if (r.status === 'aborted')
    reasons.unshift(
      `aborted after ${formatDuration(r.ranMs ?? 0)} of ${formatDuration(r.plan.durationMs)} (${r.abort?.reason ?? 'stopped'}): only what ran was scored`,
    );

  const unsteady = r.steadyState?.held === false;
  if (unsteady) reasons.push(`steady state: ${r.steadyState!.reason}; no fault was applied`);
  const judgedPerStep = firstStep !== undefined; // a capacity probe's steps are judged one by one
  const inconclusive =
    unsteady || baselineMiss.length > 0 || (scored && judged.length === 0 && !judgedPerStep);
  const fail =
    noCapacity || gatingMiss.length > 0 || recovery.some((x) => x.pass === false) || budget?.pass === false;
  const status: Verdict['status'] =
    r.status === 'aborted'
      ? 'aborted'
      : invalid.length > 0
        ? 'invalid'
        : !scored
          ? 'not-scored'
          : inconclusive
            ? 'inconclusive'
            : fail
              ? 'fail'
              : 'pass';
  return {
    status,
    pass: status === 'pass',
    service: so.service,
    score: scoreValue,
    grade: GRADES.find(([, min]) => scoreValue >= min)![0],
    subscores: mapValues(subscores, (v) => (v === null ? null : Math.round(v * 10) / 10)),
    weights: WEIGHTS,
    phases: PHASES.map((name) => ({
      name,
      seconds: slices[name].filter((x) => x.ok + x.failed + x.dropped > 0).map((x) => x.t),
      requests: aggregate(slices[name]).total,
    })),
    objectives,
    recovery,
    budget,
    degradation: { baselineAvailability, robustness, lossS: Math.round(lossS * 1000) / 1000, q },
    reasons,
  };
}

// ---- objectives per profile ------------------------------------------------------------------

/**
 * Objectives that name a request profile, a flow step (`FLOW.STEP`) or a flow (its sessions: ok =
 * completed, failed = failed; latency = session duration), judged per phase on that profile's own
 * outcomes, attributed by exposure like the timeline's. Gating follows the service's rows. A
 * profile the run does not have is not judged, and the reasons say so.
 */
export function profileObjectiveResults(
  r: RunResult,
  so: ServiceObjectives,
  slices: Record<PhaseName, Slice[]>,
  reasons: string[],
): ObjectiveResult[] {
  const out: ObjectiveResult[] = [];
  const missing = new Set<string>();
  for (const o of so.objectives) {
    if (o.profile === undefined) continue;
    const phases = r.profiles?.[o.profile]?.phases ?? r.sessions?.flows[o.profile]?.phases;
    if (!phases) missing.add(o.profile);
    for (const phase of PHASES) {
      if (slices[phase].length === 0) continue;
      const x = phases?.[phase];
      const slice: Slice = {
        t: 0,
        ok: x?.ok ?? 0,
        failed: x?.failed ?? 0,
        dropped: x?.dropped ?? 0,
        hist: x?.hist ?? null,
      };
      // A time slice is a second of the service: a profile has none of its own.
      const m = o.kind === 'timeslices' ? null : measure(o, [slice]);
      out.push({
        name: o.name,
        phase,
        target: m?.target ?? (o.kind === 'timeslices' ? `≥ ${fmtPct(o.min)} good slices` : ''),
        actual: m && m.value !== null ? m.fmt(m.value) : null,
        actualValue: m?.value ?? null,
        pass: phases ? (m?.pass ?? null) : null,
        gating:
          phase === 'baseline' || (phase === 'recovery' && so.recoveryMs === null && so.budget === null),
        lowConfidence: (m?.requests ?? 0) < MIN_CONFIDENT_REQUESTS,
        requests: m?.requests ?? 0,
        profile: o.profile,
      });
    }
  }
  for (const p of missing) {
    const has = [...Object.keys(r.profiles ?? {}), ...Object.keys(r.sessions?.flows ?? {})];
    reasons.push(
      `the SLO names profile ${JSON.stringify(p)}, which this run does not have (it has: ${has.join(', ') || 'none'}): its objectives were not judged`,
    );
  }
  return out;
}

/**
 * A capacity probe steps load up until an objective breaks: the steps past the knee miss by
 * design. Its objectives are judged on the steps up to the knee (what the service sustains);
 * the run fails when even its first step missed.
 */
function capacityScope(r: RunResult): RunResult {
  const steps = r.capacity?.steps;
  const firstBad = steps?.findIndex((x) => !x.pass) ?? -1;
  if (!steps || firstBad < 0) return r;
  if (firstBad === 0) return { ...r, timeline: [] };
  const endMs = steps[firstBad - 1]!.endMs;
  // Whole seconds inside the sustained steps; each step was also judged on its own requests.
  return { ...r, timeline: r.timeline.filter((s) => (s.t + 1) * 1000 <= endMs) };
}

function recoveryScore(x: RecoveryResult): number {
  if (x.ttrMs === null) return 0;
  if (x.objectiveMs === null || x.ttrMs <= x.objectiveMs) return 100;
  return (100 * x.objectiveMs) / x.ttrMs;
}

/**
 * A second is healthy when every objective that can be judged on one second holds in it
 * (windowed thresholds judge windows, not seconds; a Timeslices objective's slice is the second).
 * Without objectives, a second is healthy when nothing failed in it.
 */
function healthySecond(s: TimelineSecond, so: ServiceObjectives): boolean {
  if (s.ok + s.failed + droppedOf(s) === 0) return true;
  const perSecond = so.objectives.filter(
    (o) => o.profile === undefined && !(o.kind === 'threshold' && o.threshold.windowMs),
  );
  if (perSecond.length === 0) return s.failed + droppedOf(s) === 0;
  return perSecond.every((o) => measure(o.kind === 'timeslices' ? { ...o, min: 1 } : o, [s]).pass !== false);
}

/** Time-to-recover: from a fault's end to the first second from which the SLI holds for holdFor. */
export function recoveryTimes(r: RunResult, so: ServiceObjectives, timeScale: number): RecoveryResult[] {
  const hold = Math.max(1, Math.round(scaledFloor(so.holdForMs, timeScale, HOLD_FLOOR_MS) / 1000));
  const objectiveMs =
    so.recoveryMs === null ? null : scaledFloor(so.recoveryMs, timeScale, RECOVERY_FLOOR_MS);
  const good = r.timeline.map((s) => healthySecond(s, so));
  return faultWindows(r).map((w) => {
    const from = Math.ceil(w.endMs / 1000);
    let ttr: number | null = null;
    let note: string | null = null;
    for (let s = from; s < r.timeline.length; s++) {
      if (s + hold > r.timeline.length) {
        // Only worth saying when the tail was healthy and merely too short to confirm.
        if (good.slice(s).every(Boolean))
          note = `the run ended before ${hold}s of healthy seconds could confirm recovery`;
        break;
      }
      if (good.slice(s, s + hold).every(Boolean)) {
        ttr = Math.max(0, s * 1000 - w.endMs);
        break;
      }
    }
    const endedWithRun = from >= r.timeline.length || (ttr === null && note !== null);
    if (from >= r.timeline.length) note = 'the fault ended with the run: no time left to recover';
    // An aborted run, or one too short to confirm recovery, has no verdict on it: not a failure.
    const unjudgeable = ttr === null && (r.status === 'aborted' || endedWithRun);
    return {
      fault: w.id,
      endMs: w.endMs,
      ttrMs: ttr,
      objectiveMs,
      pass: unjudgeable
        ? null
        : objectiveMs === null
          ? ttr === null
            ? false
            : null
          : ttr !== null && ttr <= objectiveMs,
      note,
    };
  });
}

function budgetOf(r: RunResult, so: ServiceObjectives): Verdict['budget'] {
  if (so.allowedBad === null || so.allowedBad <= 0) return null;
  const tl = r.timeline;
  const total = tl.reduce((n, s) => n + s.ok + s.failed + droppedOf(s), 0);
  const bad = tl.reduce((n, s) => n + s.failed + droppedOf(s), 0);
  const runS = Math.max(1, tl.length);
  const periodMs = so.budget?.periodMs ?? 30 * 86_400_000;
  const expected = (total / runS) * (periodMs / 1000);
  const burned = expected > 0 ? bad / (so.allowedBad * expected) : 0;
  let peak = 0;
  for (let i = 0; i < tl.length; i++) {
    const win = tl.slice(Math.max(0, i - BURN_WINDOW_S + 1), i + 1);
    const t = win.reduce((n, s) => n + s.ok + s.failed + droppedOf(s), 0);
    const b = win.reduce((n, s) => n + s.failed + droppedOf(s), 0);
    if (t > 0) peak = Math.max(peak, b / t / so.allowedBad);
  }
  const maxSpend = so.budget?.maxSpend ?? null;
  return {
    allowedBad: so.allowedBad,
    badEvents: bad,
    expectedEventsInPeriod: Math.round(expected),
    burned,
    maxSpend,
    peakBurnRate: Math.round(peak * 100) / 100,
    burnWindowS: BURN_WINDOW_S,
    pass: maxSpend === null ? null : burned <= maxSpend,
  };
}

const clamp01 = (v: number) => Math.max(0, Math.min(1, v));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
function mapValues<T extends object, V>(o: T, f: (v: T[keyof T]) => V): { [K in keyof T]: V } {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v as T[keyof T])])) as {
    [K in keyof T]: V;
  };
}
