/**
 * Objectives: the native SLO format and OpenSLO documents, mapped onto the load generator's
 * own measurements (requests that got a non-error answer are good; latency is from the
 * intended send time).
 */
import type { SloConfig } from './load.ts';
import type { NativeService } from './schema.ts';
import { parseThreshold, type Threshold } from './threshold.ts';

export type Objective = (
  | { name: string; kind: 'availability'; min: number }
  | { name: string; kind: 'error-rate'; max: number }
  | { name: string; kind: 'latency'; stat: 'avg' | 'med' | 'max' | number; maxMs: number }
  | { name: string; kind: 'threshold'; threshold: Threshold }
  /** OpenSLO thresholdMetric: at least `min` of requests are good, good meaning latency below (or above, for gt/gte) `withinMs`. */
  | { name: string; kind: 'latency-fraction'; withinMs: number; min: number; above?: boolean }
  /** OpenSLO Timeslices: at least `min` of 1 s slices are good (their good ratio ≥ sliceMin). */
  | { name: string; kind: 'timeslices'; sliceMin: number; min: number }
) & {
  /**
   * The request profile, flow step (`FLOW.STEP`) or flow whose outcomes it judges; absent: the
   * whole service. Profile objectives are judged per phase only (src/slo/score.ts profileObjectiveResults).
   */
  profile?: string;
};

/** OpenSLO documents name their profile in metadata: `annotations: { chaoskit.io/profile: chat.answer }` (or labels). */
export const PROFILE_ANNOTATION = 'chaoskit.io/profile';

export interface ServiceObjectives {
  service: string;
  objectives: Objective[];
  recoveryMs: number | null;
  holdForMs: number;
  budget: { periodMs: number; maxSpend: number } | null;
  /** The allowed bad fraction that the error budget is based on. */
  allowedBad: number | null;
}

const pct = (f: number) => `${+(f * 100).toFixed(4)}%`;

export function nativeObjectives(s: NativeService): Objective[] {
  const out: Objective[] = [];
  if (s.availability !== undefined)
    out.push({ name: `availability ≥ ${pct(s.availability)}`, kind: 'availability', min: s.availability });
  if (s.errorRate !== undefined)
    out.push({ name: `error rate ≤ ${pct(s.errorRate)}`, kind: 'error-rate', max: s.errorRate });
  for (const [k, ms] of Object.entries(s.latency ?? {})) {
    const stat = k === 'avg' || k === 'med' || k === 'max' ? k : Number(k.slice(1));
    out.push({ name: `latency ${k} ≤ ${ms}ms`, kind: 'latency', stat, maxMs: ms });
  }
  for (const t of s.thresholds) {
    const parsed = parseThreshold(t);
    if (typeof parsed !== 'string')
      out.push({ name: `threshold ${parsed.source}`, kind: 'threshold', threshold: parsed });
  }
  return out;
}

type OpenSlo = SloConfig['openslo'][number];
type Indicator = { spec?: Record<string, unknown> } | undefined;

/**
 * One OpenSLO SLO's objectives (indicators already resolved inline by the loader):
 *   thresholdMetric + value: the share of requests whose latency is `op` value (lt/lte: at or
 *     below, gt/gte: above; lt and lte are alike at the histogram's 3 significant digits);
 *   Timeslices/RatioTimeslices + timeSliceTarget: the share of good 1-second slices;
 *   otherwise (ratioMetric): good / total.
 */
function openSloObjectives(d: OpenSlo): { objectives: Objective[]; allowedBad: number | null } {
  const objectives: Objective[] = [];
  let allowedBad: number | null = null;
  const top = (d.spec as { indicator?: Indicator }).indicator?.spec ?? {};
  d.spec.objectives.forEach((o, i) => {
    const target = o.target ?? (o.targetPercent !== undefined ? o.targetPercent / 100 : undefined);
    if (target === undefined) return;
    const label = `${d.metadata.name}${d.spec.objectives.length > 1 ? `[${i}]` : ''}`;
    allowedBad = Math.min(allowedBad ?? 1, 1 - target);
    const indicator = (o as { indicator?: Indicator }).indicator?.spec ?? top;
    const sliceMin = (o as { timeSliceTarget?: number }).timeSliceTarget;
    if ('thresholdMetric' in indicator && o.value !== undefined) {
      const above = o.op === 'gt' || o.op === 'gte';
      objectives.push({
        name: `${label}: ${pct(target)} of requests ${above ? 'above' : 'within'} ${o.value}ms`,
        kind: 'latency-fraction',
        withinMs: o.value,
        min: target,
        ...(above ? { above } : {}),
      });
    } else if (d.spec.budgetingMethod !== 'Occurrences' && sliceMin !== undefined) {
      objectives.push({
        name: `${label}: ${pct(target)} of 1s slices good (≥ ${pct(sliceMin)})`,
        kind: 'timeslices',
        sliceMin,
        min: target,
      });
    } else {
      objectives.push({ name: `${label}: good/total ≥ ${pct(target)}`, kind: 'availability', min: target });
    }
  });
  return { objectives, allowedBad };
}

/** A service's `profiles:` objectives, each named `… of PROFILE …` and tagged with its profile. */
export function profileObjectives(s: NativeService): Objective[] {
  const out: Objective[] = [];
  for (const [profile, p] of Object.entries(s.profiles ?? {})) {
    for (const o of nativeObjectives({ ...p, holdFor: 0 } as NativeService)) {
      const name = o.name.replace(/^(availability|error rate|latency \S+|threshold)/, `$1 of ${profile}`);
      out.push({ ...o, name, profile });
    }
  }
  return out;
}

/** The profile an OpenSLO document's metadata names (annotation or label), if any. */
function openSloProfile(d: OpenSlo): string | undefined {
  const m = d.metadata as { annotations?: Record<string, unknown>; labels?: Record<string, unknown> };
  const v = m.annotations?.[PROFILE_ANNOTATION] ?? m.labels?.[PROFILE_ANNOTATION];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function objectivesFor(slo: SloConfig, service: string): ServiceObjectives {
  const native = slo.services[service];
  const objectives = native ? [...nativeObjectives(native), ...profileObjectives(native)] : [];
  let allowedBad: number | null =
    native?.availability !== undefined ? 1 - native.availability : (native?.errorRate ?? null);
  for (const d of slo.openslo.filter((x) => x.spec.service === service)) {
    const o = openSloObjectives(d);
    const profile = openSloProfile(d);
    if (profile !== undefined) {
      // A profile's SLO judges that profile only: it does not set the service's error budget.
      objectives.push(...o.objectives.map((x) => ({ ...x, name: `${x.name} (${profile})`, profile })));
      continue;
    }
    objectives.push(...o.objectives);
    if (o.allowedBad !== null) allowedBad = Math.min(allowedBad ?? 1, o.allowedBad);
  }
  return {
    service,
    objectives,
    recoveryMs: native?.recovery ?? null,
    holdForMs: native?.holdFor ?? 10_000,
    budget: native?.budget ? { periodMs: native.budget.period, maxSpend: native.budget.maxSpend } : null,
    allowedBad,
  };
}
