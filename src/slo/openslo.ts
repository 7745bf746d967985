/**
 * OpenSLO v1 documents in an SLO file. Every kind is accepted (SLO, SLI, Service, DataSource,
 * AlertPolicy, AlertCondition, AlertNotificationTarget); SLOs are resolved against the SLIs and
 * DataSources of the same file and checked against the one metric source chaoskit has: its own
 * measurements (`type: chaoskit`, docs/slo-format.md "OpenSLO documents").
 *
 *   SLO ──indicatorRef──> SLI ──metricSource(Ref)──> DataSource
 *    └─ indicator (inline)       └─ type: chaoskit, spec.metric: good | bad | requests | latency | …
 *
 * The result is the SLO documents with every indicator inline (spec.indicator and each
 * objective's), so scoring never sees a reference.
 */
import { z } from 'zod';
import { zodProblems, type Problem, type SourceDoc } from '../core/yaml.ts';

export const OPENSLO_KINDS = [
  'SLO',
  'SLI',
  'Service',
  'DataSource',
  'AlertPolicy',
  'AlertCondition',
  'AlertNotificationTarget',
] as const;

/** chaoskit's measurements as OpenSLO metrics (`metricSource: { type: chaoskit, spec: { metric } }`). */
export const CHAOSKIT_METRICS = {
  good: 'requests that got a non-error answer (ratioMetric good)',
  bad: 'requests that failed (ratioMetric bad)',
  requests: 'requests answered, good + bad (ratioMetric total)',
  latency: 'latency of each request in ms, from its intended send time (thresholdMetric)',
  availability: 'good / requests, precomputed (ratioMetric raw, rawType success)',
  'error-rate': 'bad / requests, precomputed (ratioMetric raw, rawType failure)',
} as const;
type ChaoskitMetric = keyof typeof CHAOSKIT_METRICS;

const metadata = z.looseObject({
  name: z.string().min(1),
  displayName: z.string().optional(),
});

const metricSource = z.looseObject({
  metricSourceRef: z.string().min(1).optional(),
  type: z.string().min(1).optional(),
  spec: z.record(z.string(), z.unknown()).optional(),
});
const metricRef = z.looseObject({ metricSource: metricSource.optional() });

export const sliSpec = z.looseObject({
  description: z.string().optional(),
  thresholdMetric: metricRef.optional(),
  ratioMetric: z
    .looseObject({
      counter: z.boolean().optional(),
      good: metricRef.optional(),
      bad: metricRef.optional(),
      total: metricRef.optional(),
      rawType: z.enum(['success', 'failure']).optional(),
      raw: metricRef.optional(),
    })
    .optional(),
});
const inlineIndicator = z.looseObject({ metadata: metadata.optional(), spec: sliSpec });

const objective = z.looseObject({
  displayName: z.string().optional(),
  /** thresholdMetric only: good = latency `op` value (lt/lte: at or below, gt/gte: above). */
  op: z.enum(['lt', 'lte', 'gt', 'gte']).optional(),
  value: z.number().optional(),
  target: z.number().gt(0).lte(1).optional(),
  targetPercent: z.number().gt(0).lte(100).optional(),
  timeSliceTarget: z.number().gt(0).lte(1).optional(),
  timeSliceWindow: z.union([z.string(), z.number()]).optional(),
  indicator: inlineIndicator.optional(),
  indicatorRef: z.string().min(1).optional(),
  compositeWeight: z.number().positive().optional(),
});

/** OpenSLO v1 `kind: SLO`, as scored (indicators resolved inline by readOpenSlo). */
export const openSloDoc = z.looseObject({
  apiVersion: z.literal('openslo/v1'),
  kind: z.literal('SLO'),
  metadata,
  spec: z.looseObject({
    description: z.string().optional(),
    service: z.string().min(1),
    indicator: inlineIndicator.optional(),
    indicatorRef: z.string().min(1).optional(),
    timeWindow: z.array(z.looseObject({ duration: z.string().min(1).optional() })).optional(),
    budgetingMethod: z.enum(['Occurrences', 'Timeslices', 'RatioTimeslices']),
    objectives: z.array(objective).min(1),
  }),
});
export type OpenSloDoc = z.output<typeof openSloDoc>;

const sliDoc = z.looseObject({
  apiVersion: z.literal('openslo/v1'),
  kind: z.literal('SLI'),
  metadata,
  spec: sliSpec,
});
const dataSourceDoc = z.looseObject({
  apiVersion: z.literal('openslo/v1'),
  kind: z.literal('DataSource'),
  metadata,
  spec: z.looseObject({ type: z.string().min(1), connectionDetails: z.unknown().optional() }),
});
/** Kinds chaoskit reads but does not use (a run is scored, not alerted on). */
const otherDoc = z.looseObject({
  apiVersion: z.literal('openslo/v1'),
  kind: z.enum(['Service', 'AlertPolicy', 'AlertCondition', 'AlertNotificationTarget']),
  metadata,
  spec: z.looseObject({}).optional(),
});

/** Any OpenSLO v1 document chaoskit accepts (for the JSON Schema of SLO files). */
export const openSloAnyDoc = z.union([openSloDoc, sliDoc, dataSourceDoc, otherDoc]);

type Located = { src: SourceDoc; p: Problem };
type Sli = z.output<typeof sliSpec>;

/** Validates every OpenSLO document and resolves each SLO's indicators; problems are located. */
export function readOpenSlo(docs: readonly SourceDoc[]): { slos: OpenSloDoc[]; problems: Located[] } {
  const problems: Located[] = [];
  const add = (src: SourceDoc, path: PropertyKey[], message: string) =>
    problems.push({ src, p: { path, message } });
  const slis = new Map<string, { src: SourceDoc; spec: Sli }>();
  const sources = new Map<string, { src: SourceDoc; type: string }>();
  const slos: { src: SourceDoc; doc: OpenSloDoc }[] = [];

  for (const src of docs) {
    const v = src.value as { apiVersion?: unknown; kind?: unknown };
    if (v.apiVersion !== 'openslo/v1') {
      add(
        src,
        ['apiVersion'],
        `apiVersion ${JSON.stringify(v.apiVersion)} is not supported; chaoskit reads openslo/v1`,
      );
      continue;
    }
    if (!(OPENSLO_KINDS as readonly unknown[]).includes(v.kind)) {
      add(
        src,
        ['kind'],
        `kind ${JSON.stringify(v.kind)} is not an OpenSLO v1 kind (${OPENSLO_KINDS.join(', ')})`,
      );
      continue;
    }
    const schema =
      v.kind === 'SLO'
        ? openSloDoc
        : v.kind === 'SLI'
          ? sliDoc
          : v.kind === 'DataSource'
            ? dataSourceDoc
            : otherDoc;
    const r = schema.safeParse(v, { reportInput: true });
    if (!r.success) {
      for (const p of zodProblems(r.error)) problems.push({ src, p });
      continue;
    }
    const d = r.data as { kind: string; metadata: { name: string }; spec: unknown };
    const seen = d.kind === 'SLI' ? slis : d.kind === 'DataSource' ? sources : null;
    if (seen?.has(d.metadata.name)) {
      add(
        src,
        ['metadata', 'name'],
        `a second ${d.kind} named ${JSON.stringify(d.metadata.name)} in this file`,
      );
      continue;
    }
    if (d.kind === 'SLI') slis.set(d.metadata.name, { src, spec: d.spec as Sli });
    else if (d.kind === 'DataSource')
      sources.set(d.metadata.name, { src, type: (d.spec as { type: string }).type });
    else if (d.kind === 'SLO') slos.push({ src, doc: d as OpenSloDoc });
  }

  // Every SLI's metric sources, where the SLI is written (inline ones with their SLO below).
  const sliKind = new Map<string, 'ratio' | 'threshold' | null>();
  for (const [name, s] of slis) sliKind.set(name, checkSli(s.src, ['spec'], s.spec, sources, add));

  const out: OpenSloDoc[] = [];
  for (const { src, doc } of slos) {
    const before = problems.length;
    const resolve = (
      inline: { spec: Sli } | undefined,
      ref: string | undefined,
      at: PropertyKey[],
    ): { kind: 'ratio' | 'threshold' | null; indicator?: z.output<typeof inlineIndicator> } => {
      if (inline)
        return {
          kind: checkSli(src, [...at, 'indicator', 'spec'], inline.spec, sources, add),
          indicator: inline,
        };
      if (ref === undefined) return { kind: null };
      const sli = slis.get(ref);
      if (!sli) {
        const known = [...slis.keys()].join(', ') || 'none';
        add(
          src,
          [...at, 'indicatorRef'],
          `no SLI named ${JSON.stringify(ref)} in this file (SLIs: ${known})`,
        );
        return { kind: null };
      }
      return { kind: sliKind.get(ref) ?? null, indicator: { metadata: { name: ref }, spec: sli.spec } };
    };
    const top = resolve(doc.spec.indicator, doc.spec.indicatorRef, ['spec']);
    const hasTop = doc.spec.indicator !== undefined || doc.spec.indicatorRef !== undefined;
    if (!hasTop && doc.spec.objectives.some((o) => !o.indicator && !o.indicatorRef))
      add(
        src,
        ['spec'],
        'an SLO needs indicator (an SLI written inline) or indicatorRef (the name of an SLI in this file)',
      );
    const objectives = doc.spec.objectives.map((o, i) => {
      const at = ['spec', 'objectives', i];
      const own = o.indicator || o.indicatorRef ? resolve(o.indicator, o.indicatorRef, at) : null;
      checkObjective(src, at, o, (own ?? top).kind, doc.spec.budgetingMethod, add);
      const { indicatorRef: _ref, ...rest } = o;
      return own?.indicator ? { ...rest, indicator: own.indicator } : rest;
    });
    if (problems.length > before) continue;
    const { indicatorRef: _ref, ...spec } = doc.spec;
    out.push({
      ...doc,
      spec: { ...spec, ...(top.indicator ? { indicator: top.indicator } : {}), objectives },
    });
  }
  return { slos: out, problems };
}

function checkObjective(
  src: SourceDoc,
  at: PropertyKey[],
  o: z.output<typeof objective>,
  kind: 'ratio' | 'threshold' | null,
  method: OpenSloDoc['spec']['budgetingMethod'],
  add: (src: SourceDoc, path: PropertyKey[], message: string) => void,
): void {
  if (o.target === undefined && o.targetPercent === undefined)
    add(src, at, 'an objective needs target (0 to 1) or targetPercent (0 to 100)');
  else if (o.target !== undefined && o.targetPercent !== undefined)
    add(src, [...at, 'targetPercent'], 'give target or targetPercent, not both');
  if (kind === 'threshold') {
    if (o.op === undefined) add(src, at, 'a thresholdMetric objective needs op (lt, lte, gt or gte)');
    if (o.value === undefined)
      add(src, at, 'a thresholdMetric objective needs value (milliseconds of latency)');
  }
  if (method === 'Timeslices' && o.timeSliceTarget === undefined)
    add(
      src,
      at,
      'budgetingMethod Timeslices needs timeSliceTarget (the good fraction that makes a slice good)',
    );
}

/** Checks one SLI's metric sources; returns its kind, or null after adding problems. */
function checkSli(
  src: SourceDoc,
  at: PropertyKey[],
  sli: Sli,
  sources: Map<string, { src: SourceDoc; type: string }>,
  add: (src: SourceDoc, path: PropertyKey[], message: string) => void,
): 'ratio' | 'threshold' | null {
  let ok = true;
  const metric = (
    ref: z.output<typeof metricRef> | undefined,
    path: PropertyKey[],
    allowed: ChaoskitMetric[],
  ) => {
    const ms = ref?.metricSource;
    if (!ms) {
      ok = false;
      add(src, path, 'needs metricSource: { type: chaoskit, spec: { metric: ... } }');
      return;
    }
    const p = [...path, 'metricSource'];
    let type = ms.type;
    if (ms.metricSourceRef !== undefined) {
      const ds = sources.get(ms.metricSourceRef);
      if (!ds) {
        ok = false;
        const known = [...sources.keys()].join(', ') || 'none';
        add(
          src,
          [...p, 'metricSourceRef'],
          `no DataSource named ${JSON.stringify(ms.metricSourceRef)} in this file (DataSources: ${known})`,
        );
        return;
      }
      type ??= ds.type;
    }
    if (type === undefined) {
      ok = false;
      add(src, p, 'a metric source needs type: chaoskit (or metricSourceRef to a DataSource of that type)');
      return;
    }
    if (type.toLowerCase() !== 'chaoskit') {
      ok = false;
      add(
        src,
        [...p, ms.type !== undefined ? 'type' : 'metricSourceRef'],
        `metric source type ${JSON.stringify(type)} is not supported: chaoskit scores OpenSLO objectives on its own measurements and runs no queries; use type: chaoskit with spec.metric ${allowed.join(' or ')} (docs/slo-format.md)`,
      );
      return;
    }
    const m = ms.spec?.metric;
    if (!allowed.includes(m as ChaoskitMetric)) {
      ok = false;
      add(
        src,
        [...p, 'spec', 'metric'],
        `${m === undefined ? 'spec.metric is missing' : `metric ${JSON.stringify(m)} cannot be used here`}: expected ${allowed.join(' or ')} (chaoskit's metrics: ${Object.keys(CHAOSKIT_METRICS).join(', ')})`,
      );
    }
  };
  const r = sli.ratioMetric;
  const t = sli.thresholdMetric;
  if (r && t) {
    add(src, [...at, 'thresholdMetric'], 'an SLI has ratioMetric or thresholdMetric, not both');
    return null;
  }
  if (t) {
    metric(t, [...at, 'thresholdMetric'], ['latency']);
    return ok ? 'threshold' : null;
  }
  if (!r) {
    add(src, at, 'an SLI needs ratioMetric or thresholdMetric');
    return null;
  }
  const rp = [...at, 'ratioMetric'];
  if (r.raw) {
    if (r.good || r.bad || r.total) {
      add(src, rp, 'ratioMetric raw cannot be used with good, bad or total');
      return null;
    }
    if (!r.rawType) {
      add(src, rp, 'ratioMetric raw needs rawType: success or failure');
      return null;
    }
    metric(r.raw, [...rp, 'raw'], [r.rawType === 'success' ? 'availability' : 'error-rate']);
    return ok ? 'ratio' : null;
  }
  if (r.good && r.bad) {
    add(src, [...rp, 'bad'], 'ratioMetric has good or bad, not both');
    return null;
  }
  if (!r.good && !r.bad) {
    add(src, rp, 'ratioMetric needs good (or bad) and total, or raw');
    return null;
  }
  if (r.good) metric(r.good, [...rp, 'good'], ['good']);
  else metric(r.bad, [...rp, 'bad'], ['bad']);
  if (!r.total) {
    ok = false;
    add(src, rp, 'ratioMetric needs total (metric: requests)');
  } else metric(r.total, [...rp, 'total'], ['requests']);
  return ok ? 'ratio' : null;
}
