/**
 * Run-to-run regression: compares two RunResults (an older and a newer run of the same
 * scenario) and returns the deltas and the regressions beyond the tolerances, as plain data.
 * Pure: no I/O, no clock; `chaos compare` renders what this returns.
 */
import { mergeEncoded, percentileMs } from './metrics/hist.ts';
import type { RunResult, Verdict } from './result.ts';
import { MIN_CONFIDENT_REQUESTS, type PhaseName } from './slo/score.ts';
import { DEFAULT_TOLERANCES, type Tolerances } from './tolerances.ts';

export { DEFAULT_TOLERANCES, type Tolerances };

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
  regressed: boolean;
}

export interface P99Delta {
  scope: 'all' | PhaseName;
  oldMs: number | null;
  newMs: number | null;
  deltaMs: number | null;
  /** newMs / oldMs − 1. */
  change: number | null;
  /** Fewer than MIN_CONFIDENT_REQUESTS requests on either side: shown, never flagged. */
  lowConfidence: boolean;
  regressed: boolean;
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
  kind: 'score' | 'p99' | 'ttr' | 'objective' | 'verdict';
  message: string;
}

export interface Comparison {
  old: RunSide;
  new: RunSide;
  tolerances: Tolerances;
  score: { old: number | null; new: number | null; delta: number | null; regressed: boolean };
  p99: P99Delta[];
  objectives: ObjectiveDelta[];
  ttr: TtrDelta[];
  regressions: Regression[];
  warnings: string[];
  regressed: boolean;
}

const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;
const pct = (f: number) => `${round(f * 100, 1)}%`;
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

/** p99 and request count over the whole run and over each phase the verdict labelled. */
function p99s(r: RunResult): Map<'all' | PhaseName, { p99: number | null; requests: number }> {
  const out = new Map<'all' | PhaseName, { p99: number | null; requests: number }>();
  out.set('all', { p99: r.totals.latencyMs?.p99 ?? null, requests: r.totals.ok + r.totals.failed });
  for (const p of r.verdict?.phases ?? []) {
    const secs = new Set(p.seconds);
    const tl = r.timeline.filter((s) => secs.has(s.t));
    const h = mergeEncoded(tl.map((s) => s.hist ?? undefined));
    out.set(p.name, { p99: h.totalCount ? percentileMs(h, 99) : null, requests: p.requests });
  }
  return out;
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
      `${!a.verdict ? 'the old' : 'the new'} result has no verdict: objectives, score and recovery are not compared`,
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

  // Verdict.
  if (a.verdict?.status === 'pass' && b.verdict?.status === 'fail')
    regressions.push({
      kind: 'verdict',
      message: `the verdict went from pass to fail: ${b.verdict.reasons.join('; ')}`,
    });
  if (a.verdict?.status === 'pass' && b.verdict?.status === 'inconclusive')
    warnings.push(
      `the new run is inconclusive (its baseline missed an objective): ${b.verdict.reasons.join('; ')}`,
    );

  // p99, overall and per phase.
  const po = p99s(a),
    pn = p99s(b);
  const p99: P99Delta[] = [];
  for (const scope of ['all', 'baseline', 'fault', 'recovery'] as const) {
    const x = po.get(scope),
      y = pn.get(scope);
    if (!x && !y) continue;
    const oldMs = x?.p99 ?? null,
      newMs = y?.p99 ?? null;
    const lowConfidence =
      (x?.requests ?? 0) < MIN_CONFIDENT_REQUESTS || (y?.requests ?? 0) < MIN_CONFIDENT_REQUESTS;
    const change = oldMs !== null && newMs !== null && oldMs > 0 ? newMs / oldMs - 1 : null;
    const regressed = !lowConfidence && change !== null && change > tol.maxP99Increase;
    if (regressed) {
      const where = scope === 'all' ? 'over the whole run' : `in the ${scope} phase`;
      regressions.push({
        kind: 'p99',
        message: `p99 latency ${where} rose ${pct(change!)} (${ms(oldMs!)} → ${ms(newMs!)}), more than the ${pct(tol.maxP99Increase)} allowed`,
      });
    }
    p99.push({
      scope,
      oldMs,
      newMs,
      deltaMs: oldMs !== null && newMs !== null ? round(newMs - oldMs) : null,
      change: change === null ? null : round(change, 4),
      lowConfidence,
      regressed,
    });
  }

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
    const regressed = !!n?.gating && o?.pass === true && n.pass === false;
    if (regressed)
      regressions.push({
        kind: 'objective',
        message: `${n!.phase}: ${n!.name} is now missed (${o!.actual} → ${n!.actual}, target ${n!.target})`,
      });
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
      regressed,
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
    score: { old: so, new: sn, delta: sd, regressed: scoreRegressed },
    p99,
    objectives,
    ttr,
    regressions,
    warnings,
    regressed: regressions.length > 0,
  };
}
