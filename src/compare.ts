/**
 * Run-to-run regression: compares two RunResults (an older and a newer run of the same
 * scenario) and returns the deltas and the regressions, as plain data. Pure: no I/O, no clock;
 * `chaos compare` renders what this returns.
 *
 * Latency and error rate are judged per phase against the runs' own second-to-second noise
 * (./compare-phases.ts), never on one whole-run percentile: the p99 of a whole run is a
 * handful of requests and moves severalfold between unchanged reruns on a busy machine, while
 * the typical second barely moves. Score and time to recover keep plain tolerances. The rule
 * and its parameters are in docs/ci.md "Regressions".
 */
import {
  ALPHA,
  HistogramError,
  judgePhases,
  MIN_ERROR_RATE_RATIO,
  MIN_REQUESTS,
  MIN_SECONDS,
  type ErrorRateCheck,
  type LatencyCheck,
  type LatencySample,
  type RateSummary,
  type Scope,
} from './compare-phases.ts';
import type { RunResult, Verdict } from './result.ts';
import type { PhaseName } from './slo/score.ts';
import { DEFAULT_TOLERANCES, type Tolerances } from './tolerances.ts';

export {
  ALPHA,
  DEFAULT_TOLERANCES,
  HistogramError,
  MIN_ERROR_RATE_RATIO,
  MIN_REQUESTS,
  MIN_SECONDS,
  type ErrorRateCheck,
  type LatencyCheck,
  type LatencySample,
  type RateSummary,
  type Scope,
  type Tolerances,
};

export interface RunSide {
  runId: string;
  scenario: string;
  startedAt: string;
  status: Verdict['status'] | 'unscored';
  score: number | null;
  grade: string | null;
}

export interface ObjectiveDelta {
  name: string;
  phase: PhaseName;
  target: string;
  gating: boolean;
  old: { actual: string | null; value: number | null; pass: boolean | null } | null;
  new: { actual: string | null; value: number | null; pass: boolean | null } | null;
  /** new − old of the measured value, in the objective's unit (fraction or ms). */
  delta: number | null;
  /** Whether the value moved the wrong way (down for ≥ targets, up for ≤ targets). */
  worse: boolean | null;
  /**
   * A gating objective met before and missed now. Said as a warning, not a regression: the new
   * run's own verdict already fails on it, and a flip at the edge of a target is no evidence of
   * a change; what changed beyond the noise is in `latency` and `errors`.
   */
  nowMissed: boolean;
}

export interface TtrDelta {
  fault: string;
  /** null: not recovered (or not in that run, see `present`). */
  oldMs: number | null;
  newMs: number | null;
  present: { old: boolean; new: boolean };
  deltaMs: number | null;
  regressed: boolean;
}

export interface Regression {
  kind: 'score' | 'latency' | 'errors' | 'ttr';
  message: string;
}

export interface Comparison {
  old: RunSide;
  new: RunSide;
  tolerances: Tolerances;
  /** The fixed parameters of the statistical rule (docs/ci.md "Regressions"). */
  rule: { alpha: number; minSeconds: number; minRequests: number; minErrorRateRatio: number };
  score: { old: number | null; new: number | null; delta: number | null; regressed: boolean };
  latency: LatencyCheck[];
  errors: ErrorRateCheck[];
  objectives: ObjectiveDelta[];
  ttr: TtrDelta[];
  regressions: Regression[];
  warnings: string[];
  regressed: boolean;
}

const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;
const ms = (v: number) => (Math.abs(v) >= 1000 ? `${round(v / 1000, 2)}s` : `${round(v, v < 10 ? 2 : 0)}ms`);

function side(r: RunResult): RunSide {
  const v = r.verdict;
  return {
    runId: r.runId,
    scenario: r.scenario.name,
    startedAt: r.startedAt,
    status: v?.status ?? 'unscored',
    score: v?.score ?? null,
    grade: v?.grade ?? null,
  };
}

export function compareResults(a: RunResult, b: RunResult, tolerances: Partial<Tolerances> = {}): Comparison {
  const tol = { ...DEFAULT_TOLERANCES, ...tolerances };
  const regressions: Regression[] = [];
  const warnings: string[] = [];
  if (a.scenario.name !== b.scenario.name)
    warnings.push(`the runs are of different scenarios: ${a.scenario.name} and ${b.scenario.name}`);
  if (a.timeScale !== b.timeScale)
    warnings.push(
      `the runs used different time scales (${a.timeScale} and ${b.timeScale}): times and rates are not comparable one to one`,
    );
  if (!a.verdict || !b.verdict)
    warnings.push(
      `${!a.verdict ? 'the old' : 'the new'} result has no verdict: objectives, score and recovery are not compared, latency and errors over the whole run`,
    );

  // Score.
  const so = a.verdict?.score ?? null,
    sn = b.verdict?.score ?? null;
  const sd = so !== null && sn !== null ? round(sn - so, 1) : null;
  const scoreRegressed = sd !== null && -sd > tol.maxScoreDrop;
  if (scoreRegressed)
    regressions.push({
      kind: 'score',
      message: `resilience score fell ${round(-sd!, 1)} points (${round(so!, 1)} → ${round(sn!, 1)}), more than the ${tol.maxScoreDrop} allowed`,
    });

  // Verdict: the new run's own exit code fails on it; here it is context.
  if (a.verdict?.status === 'pass' && b.verdict?.status === 'fail')
    warnings.push(`the verdict went from pass to fail: ${b.verdict.reasons.join('; ')}`);
  if (a.verdict?.status === 'pass' && b.verdict?.status === 'inconclusive')
    warnings.push(
      `the new run is inconclusive (its baseline missed an objective): ${b.verdict.reasons.join('; ')}`,
    );

  // Latency and error rate, per phase, against the runs' own second-to-second noise.
  const phases = judgePhases(a, b, tol);
  regressions.push(...phases.regressions);
  warnings.push(...phases.warnings);

  // Objectives, matched by name and phase.
  const key = (o: { name: string; phase: string }) => `${o.phase}\u0000${o.name}`;
  const olds = new Map((a.verdict?.objectives ?? []).map((o) => [key(o), o]));
  const news = new Map((b.verdict?.objectives ?? []).map((o) => [key(o), o]));
  const objectives: ObjectiveDelta[] = [];
  for (const k of new Set([...olds.keys(), ...news.keys()])) {
    const o = olds.get(k),
      n = news.get(k);
    const ref = (n ?? o)!;
    const higherIsBetter = /^[≥>]/.test(ref.target);
    const delta = o?.actualValue != null && n?.actualValue != null ? n.actualValue - o.actualValue : null;
    const worse = delta === null ? null : higherIsBetter ? delta < 0 : delta > 0;
    const nowMissed = !!n?.gating && o?.pass === true && n.pass === false;
    if (nowMissed)
      warnings.push(
        `${n!.phase}: ${n!.name} is now missed (${o!.actual} → ${n!.actual}, target ${n!.target})`,
      );
    const view = (x: typeof o) => (x ? { actual: x.actual, value: x.actualValue, pass: x.pass } : null);
    objectives.push({
      name: ref.name,
      phase: ref.phase,
      target: ref.target,
      gating: ref.gating,
      old: view(o),
      new: view(n),
      delta: delta === null ? null : round(delta, 6),
      worse,
      nowMissed,
    });
  }

  // Time to recover, matched by fault id.
  const ro = new Map((a.verdict?.recovery ?? []).map((x) => [x.fault, x]));
  const rn = new Map((b.verdict?.recovery ?? []).map((x) => [x.fault, x]));
  const ttr: TtrDelta[] = [];
  for (const id of new Set([...ro.keys(), ...rn.keys()])) {
    const o = ro.get(id),
      n = rn.get(id);
    if (!o || !n)
      warnings.push(
        `fault ${id} recovered in only ${o ? 'the old' : 'the new'} run's result: its time to recover is not compared`,
      );
    const oldMs = o?.ttrMs ?? null,
      newMs = n?.ttrMs ?? null;
    const deltaMs = oldMs !== null && newMs !== null ? round(newMs - oldMs) : null;
    let regressed = false;
    if (o && n && oldMs !== null && newMs === null) {
      regressed = true;
      regressions.push({
        kind: 'ttr',
        message: `${id}: recovered in ${ms(oldMs)} before, did not recover now`,
      });
    } else if (deltaMs !== null && deltaMs > tol.maxTtrIncreaseMs) {
      regressed = true;
      regressions.push({
        kind: 'ttr',
        message: `${id}: time to recover grew ${ms(deltaMs)} (${ms(oldMs!)} → ${ms(newMs!)}), more than the ${ms(tol.maxTtrIncreaseMs)} allowed`,
      });
    }
    ttr.push({ fault: id, oldMs, newMs, present: { old: !!o, new: !!n }, deltaMs, regressed });
  }

  return {
    old: side(a),
    new: side(b),
    tolerances: tol,
    rule: {
      alpha: ALPHA,
      minSeconds: MIN_SECONDS,
      minRequests: MIN_REQUESTS,
      minErrorRateRatio: MIN_ERROR_RATE_RATIO,
    },
    score: { old: so, new: sn, delta: sd, regressed: scoreRegressed },
    latency: phases.latency,
    errors: phases.errors,
    objectives,
    ttr,
    regressions,
    warnings,
    regressed: regressions.length > 0,
  };
}
