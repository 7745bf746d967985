/**
 * Latency and error rate of each phase, old run against new, judged against the runs' own
 * second-to-second noise (docs/ci.md "Regressions"): part of `chaos compare` (src/compare.ts).
 *
 *   each run, each phase ──> per-second p50 and p99 (decoded HDR histograms), failed / total
 *        old vs new ──> Mann-Whitney U on the seconds' p50s and p99s; error-rate test
 *                   ──> a regression only when significant (p < ALPHA) AND large (tolerances)
 */
import { errorRateGreater, mannWhitneyGreater, median, rateOf, type RateSummary } from './compare-stats.ts';
import { InputError } from './core/errors.ts';
import { decode } from './core/hist.ts';
import type { RunResult } from './result.ts';
import type { PhaseName } from './slo/score.ts';
import type { Tolerances } from './tolerances.ts';

export type { RateSummary };

/**
 * Significance level of each latency and error-rate test (one-sided). Up to nine tests run per
 * comparison (three phases: p50, p99, errors), every week: 0.001 keeps chance findings rare.
 */
export const ALPHA = 0.001;
/**
 * Fewer seconds with requests than this on either side: latency is not judged (low
 * confidence). 8 against 8 is the least that can reach p < ALPHA at all.
 */
export const MIN_SECONDS = 8;
/** Fewer requests than this on either side: the error rate is not judged (low confidence). */
export const MIN_REQUESTS = 100;
/** A higher error rate is a regression only at this many times the old rate (as well as + points). */
export const MIN_ERROR_RATE_RATIO = 1.5;

/** A phase, or the whole run when a result has no phases (no verdict). */
export type Scope = PhaseName | 'run';

export interface LatencySample {
  /** Seconds with measured requests, the generator not saturated. */
  seconds: number;
  /** Median over those seconds of the second's p50 or p99. */
  medianMs: number | null;
}

/** One phase's per-second p50 or p99, old run against new. */
export interface LatencyCheck {
  phase: Scope;
  stat: 'p50' | 'p99';
  old: LatencySample;
  new: LatencySample;
  /** new median / old median. */
  ratio: number | null;
  deltaMs: number | null;
  /** One-sided Mann-Whitney p-value that the new seconds are slower; null when not judged. */
  pValue: number | null;
  /** Fewer than MIN_SECONDS seconds on a side: shown, never flagged. */
  lowConfidence: boolean;
  regressed: boolean;
}

/** One phase's error rate (failed / (ok + failed)), old run against new. */
export interface ErrorRateCheck {
  phase: Scope;
  old: RateSummary;
  new: RateSummary;
  /** new − old rate, as a fraction (0.01 = 1 point). */
  delta: number | null;
  /** One-sided p-value that the new rate is higher; null when not judged. */
  pValue: number | null;
  /** Fewer than MIN_REQUESTS requests on a side: shown, never flagged. */
  lowConfidence: boolean;
  regressed: boolean;
}

/** A latency or error-rate change beyond the noise and the tolerances. */
export interface PhaseRegression {
  kind: 'latency' | 'errors';
  message: string;
}

/** A latency histogram in a result that cannot be decoded; the CLI adds the file and line. */
export class HistogramError extends InputError {
  constructor(
    readonly side: 'old' | 'new',
    readonly path: readonly (string | number)[],
    readonly reason: string,
  ) {
    super(`the ${side} result's ${path.join('.')} is not a valid latency histogram: ${reason}`);
  }
}

const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;
const ms = (v: number) => (Math.abs(v) >= 1000 ? `${round(v / 1000, 2)}s` : `${round(v, v < 10 ? 2 : 0)}ms`);
const pct = (f: number) => `${round(f * 100, f < 0.1 ? 2 : 1)}%`;
const times = (r: number) => `${round(r, r < 10 ? 2 : 1)}x`;
const pText = (p: number) => (p < 0.001 ? 'p < 0.001' : `p = ${round(p, 3)}`);
/** `0.01` → `1 point`, `0.025` → `2.5 points`. */
export const points = (f: number) => `${round(f * 100, 2)} point${round(f * 100, 2) === 1 ? '' : 's'}`;

/** What one phase of one run contributes: per-second statistics and counts. */
interface PhaseSeconds {
  p50: number[];
  p99: number[];
  counts: { failed: number; total: number }[];
  saturated: number;
}

/**
 * Per-second p50, p99 and failed/total of each phase (the verdict's phases, or the whole run
 * when there is no verdict). Seconds where the generator was saturated give no latency sample:
 * a slow generator is never blamed on the target.
 */
function phaseSeconds(r: RunResult, which: 'old' | 'new'): Map<Scope, PhaseSeconds> {
  const byT = new Map(r.timeline.map((s, i) => [s.t, i]));
  const phases: { name: Scope; seconds: readonly number[] }[] = r.verdict
    ? r.verdict.phases
    : [{ name: 'run', seconds: r.timeline.map((s) => s.t) }];
  const out = new Map<Scope, PhaseSeconds>();
  for (const p of phases) {
    if (p.seconds.length === 0) continue;
    const ps: PhaseSeconds = { p50: [], p99: [], counts: [], saturated: 0 };
    for (const t of p.seconds) {
      const i = byT.get(t);
      if (i === undefined) continue;
      const s = r.timeline[i]!;
      ps.counts.push({ failed: s.failed, total: s.ok + s.failed });
      if (!s.hist) continue;
      let h;
      try {
        h = decode(s.hist);
      } catch (err) {
        throw new HistogramError(which, ['timeline', i, 'hist'], (err as Error).message);
      }
      if (h.totalCount === 0) continue;
      if (s.generator?.saturated) {
        ps.saturated++;
        continue;
      }
      ps.p50.push(h.getValueAtPercentile(50) / 1000);
      ps.p99.push(h.getValueAtPercentile(99) / 1000);
    }
    out.set(p.name, ps);
  }
  return out;
}

function latencyCheck(
  phase: Scope,
  stat: 'p50' | 'p99',
  x: readonly number[],
  y: readonly number[],
  tol: Tolerances,
): { check: LatencyCheck; regression: PhaseRegression | null } {
  const mo = median(x),
    mn = median(y);
  const lowConfidence = x.length < MIN_SECONDS || y.length < MIN_SECONDS;
  const ratio = mo !== null && mn !== null && mo > 0 ? mn / mo : null;
  const deltaMs = mo !== null && mn !== null ? mn - mo : null;
  const pValue = lowConfidence ? null : mannWhitneyGreater(x, y);
  const regressed =
    pValue !== null &&
    pValue < ALPHA &&
    ratio !== null &&
    ratio > 1 + tol.maxLatencyIncrease &&
    deltaMs! > tol.latencyFloorMs;
  const check: LatencyCheck = {
    phase,
    stat,
    old: { seconds: x.length, medianMs: mo === null ? null : round(mo) },
    new: { seconds: y.length, medianMs: mn === null ? null : round(mn) },
    ratio: ratio === null ? null : round(ratio, 4),
    deltaMs: deltaMs === null ? null : round(deltaMs),
    pValue: pValue === null ? null : round(pValue, 6),
    lowConfidence,
    regressed,
  };
  const regression: PhaseRegression | null = regressed
    ? {
        kind: 'latency',
        message:
          `${phase}: ${stat} latency rose ${times(ratio!)}, from ${ms(mo!)} to ${ms(mn!)} (median of the per-second ${stat}s ` +
          `over ${x.length} and ${y.length} seconds; ${pText(pValue!)}), more than the ${pct(tol.maxLatencyIncrease)} and ${ms(tol.latencyFloorMs)} allowed`,
      }
    : null;
  return { check, regression };
}

function errorCheck(
  phase: Scope,
  x: PhaseSeconds['counts'],
  y: PhaseSeconds['counts'],
  tol: Tolerances,
): { check: ErrorRateCheck; regression: PhaseRegression | null } {
  const o = rateOf(x),
    n = rateOf(y);
  const lowConfidence = o.requests < MIN_REQUESTS || n.requests < MIN_REQUESTS;
  const delta = o.rate !== null && n.rate !== null ? n.rate - o.rate : null;
  const pValue = lowConfidence ? null : errorRateGreater(x, y);
  const regressed =
    pValue !== null &&
    pValue < ALPHA &&
    delta! > tol.maxErrorRateIncrease &&
    n.rate! >= MIN_ERROR_RATE_RATIO * o.rate!;
  const check: ErrorRateCheck = {
    phase,
    old: { ...o, rate: o.rate === null ? null : round(o.rate, 6) },
    new: { ...n, rate: n.rate === null ? null : round(n.rate, 6) },
    delta: delta === null ? null : round(delta, 6),
    pValue: pValue === null ? null : round(pValue, 6),
    lowConfidence,
    regressed,
  };
  const regression: PhaseRegression | null = regressed
    ? {
        kind: 'errors',
        message:
          `${phase}: error rate rose from ${pct(o.rate!)} to ${pct(n.rate!)}, ${points(delta!)} more ` +
          `(${o.failed} of ${o.requests} and ${n.failed} of ${n.requests} requests failed; ${pText(pValue!)}), ` +
          `more than the ${points(tol.maxErrorRateIncrease)} and ${times(MIN_ERROR_RATE_RATIO)} allowed`,
      }
    : null;
  return { check, regression };
}

/** Latency and error-rate checks of every phase both runs have, with what they found and what they could not judge. */
export function judgePhases(
  a: RunResult,
  b: RunResult,
  tol: Tolerances,
): { latency: LatencyCheck[]; errors: ErrorRateCheck[]; regressions: PhaseRegression[]; warnings: string[] } {
  const regressions: PhaseRegression[] = [];
  const warnings: string[] = [];
  const po = phaseSeconds(a, 'old'),
    pn = phaseSeconds(b, 'new');
  const wholeRun = !a.verdict || !b.verdict;
  const latency: LatencyCheck[] = [];
  const errors: ErrorRateCheck[] = [];
  for (const phase of ['baseline', 'fault', 'recovery', 'run'] as const) {
    const x = wholeRun ? merged(po) : po.get(phase),
      y = wholeRun ? merged(pn) : pn.get(phase);
    if (wholeRun !== (phase === 'run') || (!x && !y)) continue;
    if (!x || !y) {
      warnings.push(`the ${phase} phase is only in the ${x ? 'old' : 'new'} run: it is not compared`);
      continue;
    }
    for (const [who, ps] of [
      ['old', x],
      ['new', y],
    ] as const)
      if (ps.saturated)
        warnings.push(
          `${phase}: the ${who} run's load generator was saturated in ${ps.saturated} second${ps.saturated > 1 ? 's' : ''}: ${ps.saturated > 1 ? 'their' : 'its'} latency is left out`,
        );
    if (x.p50.length < MIN_SECONDS || y.p50.length < MIN_SECONDS)
      warnings.push(
        `${phase}: latency not judged (low confidence): ${x.p50.length} and ${y.p50.length} seconds with requests, at least ${MIN_SECONDS} on each side are needed`,
      );
    for (const stat of ['p50', 'p99'] as const) {
      const { check, regression } = latencyCheck(phase, stat, x[stat], y[stat], tol);
      latency.push(check);
      if (regression) regressions.push(regression);
    }
    const { check, regression } = errorCheck(phase, x.counts, y.counts, tol);
    if (check.lowConfidence)
      warnings.push(
        `${phase}: error rate not judged (low confidence): ${check.old.requests} and ${check.new.requests} requests, at least ${MIN_REQUESTS} on each side are needed`,
      );
    errors.push(check);
    if (regression) regressions.push(regression);
  }

  return { latency, errors, regressions, warnings };
}

/** One run's phases as one, for results without a verdict. */
function merged(m: Map<Scope, PhaseSeconds>): PhaseSeconds | undefined {
  const all = [...m.values()];
  if (all.length === 0) return undefined;
  return {
    p50: all.flatMap((p) => p.p50),
    p99: all.flatMap((p) => p.p99),
    counts: all.flatMap((p) => p.counts),
    saturated: all.reduce((n, p) => n + p.saturated, 0),
  };
}
