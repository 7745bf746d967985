/**
 * Shared rendering for every reporter: number formats, the verdict table (objective × phase),
 * fault timeline rows, and the score, budget and recovery lines. Everything here reads the
 * RunResult and its verdict; nothing here decides pass or fail.
 */
import type { FaultRecord, ObjectiveResult, RunResult, Verdict } from '../src/result.ts';
import { GRADES, MIN_CONFIDENT_REQUESTS, type PhaseName } from '../src/slo/score.ts';
import { formatDuration } from '../src/core/units.ts';

/** A reporter renders one RunResult (with its verdict) to a string; it decides nothing. */
export interface Reporter {
  /** Default file name in `--out`; '' for the console, which is printed rather than written. */
  file: string;
  /** Renders the whole report; may throw, and writeReports reports that without failing the run. */
  render(result: RunResult): string;
  /** The same text in pieces, for reports too large to hold as one string (written in order). */
  chunks?(result: RunResult): Iterable<string>;
}

export const PHASE_NAMES: readonly PhaseName[] = ['baseline', 'fault', 'recovery'];

// ---- numbers -----------------------------------------------------------------------------------

export const dash = '–';

/** Milliseconds: `0.42ms`, `35ms`, `1.25s`. */
export function fmtMs(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return dash;
  if (v < 10) return `${+v.toFixed(2)}ms`;
  if (v < 1000) return `${Math.round(v)}ms`;
  return `${+(v / 1000).toFixed(2)}s`;
}

/** A fraction as a percentage with at most `digits` decimals: 0.27225 → `27.23%`. */
export function fmtPct(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return dash;
  return `${+(v * 100).toFixed(digits)}%`;
}

/** Whole numbers with thousands separators: 378432000 → `378,432,000`. */
export function fmtInt(v: number): string {
  return Math.round(v).toLocaleString('en-US');
}

export function fmtNum(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? dash : String(+v.toFixed(digits));
}

export const fmtDur = (ms: number | null | undefined): string =>
  ms === null || ms === undefined ? dash : formatDuration(Math.round(ms));

// ---- status ------------------------------------------------------------------------------------

export type StatusKey = Verdict['status'] | 'unscored';
export const statusOf = (r: RunResult): StatusKey => r.verdict?.status ?? 'unscored';
export const STATUS_LABEL: Record<StatusKey, string> = {
  pass: 'PASS',
  fail: 'FAIL',
  inconclusive: 'INCONCLUSIVE',
  invalid: 'INVALID',
  aborted: 'ABORTED',
  'not-scored': 'NOT SCORED',
  unscored: 'NOT SCORED',
};
export const STATUS_EMOJI: Record<StatusKey, string> = {
  pass: '✅',
  fail: '❌',
  inconclusive: '⚠️',
  invalid: '🚫',
  aborted: '⏹️',
  'not-scored': '➖',
  unscored: '➖',
};
export const STATUS_MEANING: Record<StatusKey, string> = {
  pass: 'every gating objective, recovery objective and the error budget held',
  fail: 'a gating objective, a recovery objective or the error budget was missed',
  inconclusive:
    'the baseline already missed an objective, so the faults were not tested against a healthy system',
  invalid:
    'the experiment did not happen as planned (a fault was not applied, applied late or left out, or the generator stalled): nothing it measured can pass',
  aborted:
    'the run was stopped before its end (signal, stop condition or emergency stop); only what ran was scored',
  'not-scored': 'the SLO file has no objectives for this service, so nothing was judged (exit 0)',
  unscored: 'the result carries no verdict',
};

export function runLine(r: RunResult): string {
  const scale = r.timeScale !== 1 ? ` at time scale ${r.timeScale}` : '';
  const ran =
    r.status === 'aborted' ? `${fmtDur(r.ranMs)} of ${fmtDur(r.plan.durationMs)}` : fmtDur(r.plan.durationMs);
  const lost = r.runners?.filter((x) => x.state === 'lost').length ?? 0;
  const gen = r.workers
    ? `, ${r.workers} workers`
    : r.runners
      ? `, ${r.runners.length} runners${lost ? ` (${lost} lost)` : ''}`
      : '';
  return `${r.status}${r.abort ? ` (${r.abort.reason})` : ''}, ${ran}${scale}${gen}, seed ${r.seed}, run ${r.runId}`;
}

// ---- the verdict table -------------------------------------------------------------------------

export const MARK = { pass: '✓', miss: '✗', none: dash, nonGating: '†', lowConfidence: '~' } as const;
export const LEGEND =
  `${MARK.pass} met · ${MARK.miss} missed · ${MARK.none} not judged (no data) · ` +
  `${MARK.nonGating} not gating: shown for information, the fault phase is judged through the error budget and recovery · ` +
  `${MARK.lowConfidence} low confidence: fewer than ${MIN_CONFIDENT_REQUESTS} requests`;

/** The legend in a line that fits a terminal. */
export const LEGEND_SHORT = `${MARK.pass} met  ${MARK.miss} missed  ${MARK.none} not judged  ${MARK.nonGating} not gating (information)  ${MARK.lowConfidence} < ${MIN_CONFIDENT_REQUESTS} requests`;

export interface VerdictCell {
  actual: string;
  pass: boolean | null;
  gating: boolean;
  lowConfidence: boolean;
  requests: number;
  /** ✓, ✗ or – followed by † (not gating) and ~ (low confidence) where they apply. */
  mark: string;
}

export interface VerdictRow {
  name: string;
  target: string;
  /** The name, plus the target when the name does not already say it. */
  label: string;
  cells: Partial<Record<PhaseName, VerdictCell>>;
}

export function markOf(o: Pick<ObjectiveResult, 'pass' | 'gating' | 'lowConfidence'>): string {
  const base = o.pass === null ? MARK.none : o.pass ? MARK.pass : MARK.miss;
  return `${base}${o.gating ? '' : MARK.nonGating}${o.lowConfidence ? MARK.lowConfidence : ''}`;
}

/** One row per objective (in verdict order), one cell per phase the run had. */
export function verdictRows(v: Verdict): VerdictRow[] {
  const rows = new Map<string, VerdictRow>();
  for (const o of v.objectives) {
    let row = rows.get(o.name);
    if (!row) {
      const label = o.name.includes(o.target) ? o.name : `${o.name} (${o.target})`;
      row = { name: o.name, target: o.target, label, cells: {} };
      rows.set(o.name, row);
    }
    row.cells[o.phase] = {
      actual: o.actual ?? dash,
      pass: o.pass,
      gating: o.gating,
      lowConfidence: o.lowConfidence,
      requests: o.requests,
      mark: markOf(o),
    };
  }
  return [...rows.values()];
}

/** The phases that have seconds, in order (a run without faults has only a baseline). */
export function phasesIn(v: Verdict): PhaseName[] {
  return PHASE_NAMES.filter((p) => v.phases.some((x) => x.name === p && x.seconds.length > 0));
}

/** Contiguous stretches of each phase, in seconds since the start: [start, end). */
export function phaseSegments(v: Verdict): { name: PhaseName; start: number; end: number }[] {
  const secs = v.phases.flatMap((p) => p.seconds.map((t) => ({ t, name: p.name }))).sort((a, b) => a.t - b.t);
  const out: { name: PhaseName; start: number; end: number }[] = [];
  for (const { t, name } of secs) {
    const last = out[out.length - 1];
    if (last && last.name === name && last.end === t) last.end = t + 1;
    else out.push({ name, start: t, end: t + 1 });
  }
  return out;
}

// ---- faults and recovery -----------------------------------------------------------------------

export interface FaultRow {
  id: string;
  what: string;
  planned: string;
  actual: string;
  status: FaultRecord['status'];
  revertedBy: string;
  ttr: string;
  ttrMark: string;
  fault: FaultRecord;
}

export function ttrText(x: Verdict['recovery'][number]): string {
  const t = x.ttrMs === null ? 'not recovered' : `recovered in ${fmtDur(x.ttrMs)}`;
  const obj = x.objectiveMs === null ? 'no recovery objective' : `objective ${fmtDur(x.objectiveMs)}`;
  return `${t} (${obj})${x.note ? `: ${x.note}` : ''}`;
}

export function faultRows(r: RunResult): FaultRow[] {
  return r.faults.map((f) => {
    const rec = r.verdict?.recovery.find((x) => x.fault === f.id);
    const actual =
      f.appliedAtMs === null
        ? 'not applied'
        : `${fmtDur(f.appliedAtMs)} → ${f.revertedAtMs === null ? 'NOT REVERTED' : fmtDur(f.revertedAtMs)}`;
    return {
      id: f.id,
      what: `${f.type} on ${f.target}`,
      planned: `${fmtDur(f.plannedStartMs)} → ${fmtDur(f.plannedEndMs)}`,
      actual,
      status: f.status,
      revertedBy: f.revertedBy ?? dash,
      ttr: rec ? (rec.ttrMs === null ? 'not recovered' : fmtDur(rec.ttrMs)) : dash,
      ttrMark: rec ? (rec.pass === null ? dash : rec.pass ? MARK.pass : MARK.miss) : dash,
      fault: f,
    };
  });
}

// ---- budget, degradation and score -------------------------------------------------------------

export function budgetLine(v: Verdict): string | null {
  const b = v.budget;
  if (!b) return null;
  const mark = b.pass === null ? '' : ` ${b.pass ? MARK.pass : MARK.miss}`;
  const max = b.maxSpend === null ? 'no maxSpend set' : `allowed ${fmtPct(b.maxSpend, 3)}`;
  return (
    `burned ${fmtPct(b.burned, 4)} of the period's error budget (${max})${mark}: ${fmtInt(b.badEvents)} bad events, where the ` +
    `budget allows ${fmtPct(b.allowedBad, 3)} of ~${fmtInt(b.expectedEventsInPeriod)} events expected in the period; ` +
    `peak burn rate ${fmtNum(b.peakBurnRate, 2)}× (${b.burnWindowS}s window)`
  );
}

export function degradationLine(v: Verdict): string {
  const d = v.degradation;
  return `robustness ${fmtPct(d.robustness, 1)} (worst second's Q), resilience loss ${fmtNum(d.lossS, 2)}s of full-outage equivalent, baseline availability ${fmtPct(d.baselineAvailability, 3)}`;
}

export const SUBSCORES = ['budget', 'recovery', 'loss', 'robustness'] as const;
export const SUBSCORE_MEANING: Record<(typeof SUBSCORES)[number], string> = {
  budget: '100 × (1 − burned / maxSpend)',
  recovery: 'mean over faults: 100 if TTR ≤ objective, else 100 × objective / TTR; 0 if not recovered',
  loss: '100 × (1 − resilience loss / disturbed seconds)',
  robustness: '100 × min Q(t) over fault and recovery',
};

export function gradeBands(): string {
  return GRADES.map(([g, min], i) =>
    i === GRADES.length - 1 ? `${g} < ${GRADES[i - 1]?.[1] ?? 0}` : `${g} ≥ ${min}`,
  ).join(', ');
}

/** `score = (0.3×99.6 + 0.3×100 + 0.2×79 + 0.2×11.9) / 1 = 78.1`, with absent sub-scores left out. */
export function scoreFormula(v: Verdict): string {
  const used = SUBSCORES.filter((k) => v.subscores[k] !== null);
  if (used.length === 0) return `score = share of judged objectives met = ${v.score} (no sub-score applies)`;
  const terms = used.map((k) => `${v.weights[k]}×${k} ${v.subscores[k]}`).join(' + ');
  const wsum = +used.reduce((n, k) => n + v.weights[k], 0).toFixed(3);
  const skipped = SUBSCORES.filter((k) => v.subscores[k] === null);
  return `score = (${terms}) / ${wsum} = ${v.score}${skipped.length ? ` (${skipped.join(', ')}: not applicable)` : ''}`;
}

export const SCORE_RULE = 'score = Σ wᵢ·sᵢ / Σ wᵢ over the sub-scores that apply';

export function weightsLine(v: Verdict): string {
  return SUBSCORES.map((k) => `${k} ${v.weights[k]}`).join(', ');
}

// ---- several load streams ----------------------------------------------------------------------

/** One row per load stream of a multi-stream run (none for a run with one load). */
export interface StreamRow {
  name: string;
  target: string;
  service: string;
  engine: string;
  status: StatusKey;
  score: string;
  sent: string;
  ok: string;
  failed: string;
  dropped: string;
  p99: string;
}

export const STREAM_HEAD = [
  'stream',
  'target',
  'service',
  'verdict',
  'score',
  'sent',
  'ok',
  'failed',
  'dropped',
  'p99',
];

export function streamRows(r: RunResult): StreamRow[] {
  return (r.streams ?? []).map((s) => ({
    name: s.name,
    target: s.target,
    service: s.service,
    engine: s.engine,
    status: s.verdict?.status ?? 'unscored',
    score: s.verdict ? `${s.verdict.score} (${s.verdict.grade})` : dash,
    sent: fmtInt(s.totals.sent),
    ok: fmtInt(s.totals.ok),
    failed: fmtInt(s.totals.failed),
    dropped: fmtInt(s.totals.dropped),
    p99: fmtMs(s.totals.latencyMs?.p99),
  }));
}

export function streamCells(s: StreamRow): string[] {
  return [
    s.name,
    s.target,
    s.service,
    STATUS_LABEL[s.status],
    s.score,
    s.sent,
    s.ok,
    s.failed,
    s.dropped,
    s.p99,
  ];
}
