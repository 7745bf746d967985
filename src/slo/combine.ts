/**
 * One verdict for a run of several load streams, from the verdicts of its streams (each scored
 * against its own service's objectives). Nothing is averaged away: the status is the worst of the
 * streams', the score the lowest, every objective row is kept (named `STREAM/objective`), and a
 * fault recovered only when every stream recovered from it.
 */
import type { Verdict } from '../result.ts';
import { GRADES } from './score.ts';

export interface StreamVerdict {
  name: string;
  verdict: Verdict;
}

/** Worst first: the combined status is the first of these any stream has. */
const PRECEDENCE: readonly Verdict['status'][] = [
  'aborted',
  'invalid',
  'not-scored',
  'inconclusive',
  'fail',
  'pass',
];

type Recovery = Verdict['recovery'][number];

function minOrNull(values: (number | null)[]): number | null {
  const xs = values.filter((v): v is number => v !== null);
  return xs.length ? Math.min(...xs) : null;
}

function combineRecovery(parts: StreamVerdict[]): Recovery[] {
  const byFault = new Map<string, { name: string; row: Recovery }[]>();
  for (const p of parts)
    for (const row of p.verdict.recovery) {
      const list = byFault.get(row.fault) ?? [];
      list.push({ name: p.name, row });
      byFault.set(row.fault, list);
    }
  return [...byFault.entries()].map(([fault, rows]) => {
    const judged = rows.filter((x) => x.row.pass !== null);
    const notRecovered = rows.some((x) => x.row.ttrMs === null);
    const notes = rows.filter((x) => x.row.note).map((x) => `${x.name}: ${x.row.note}`);
    return {
      fault,
      endMs: rows[0]!.row.endMs,
      ttrMs: notRecovered ? null : Math.max(...rows.map((x) => x.row.ttrMs!)),
      objectiveMs: minOrNull(rows.map((x) => x.row.objectiveMs)),
      pass: judged.length === 0 ? null : judged.every((x) => x.row.pass === true),
      note: notes.length ? notes.join('; ') : null,
    };
  });
}

/** Reasons every stream gives (an abort, a fault not applied) once; the rest under their stream. */
function combineReasons(parts: StreamVerdict[]): string[] {
  const shared = parts[0]!.verdict.reasons.filter((r) => parts.every((p) => p.verdict.reasons.includes(r)));
  return [
    ...shared,
    ...parts.flatMap((p) => {
      const own = p.verdict.reasons.filter((r) => !shared.includes(r));
      if (p.verdict.status === 'pass' && own.length === 0) return [];
      return [
        `stream ${p.name}: ${p.verdict.status.toUpperCase()}`,
        ...own.map((r) => `stream ${p.name}: ${r}`),
      ];
    }),
  ];
}

export function combineVerdicts(parts: StreamVerdict[]): Verdict {
  if (parts.length === 0) throw new Error('combineVerdicts: no streams');
  if (parts.length === 1) return parts[0]!.verdict;
  const status = PRECEDENCE.find((st) => parts.some((p) => p.verdict.status === st))!;
  const score = Math.min(...parts.map((p) => p.verdict.score));
  const first = parts[0]!.verdict;
  const sub = (k: keyof Verdict['subscores']): number | null =>
    minOrNull(parts.map((p) => p.verdict.subscores[k]));
  // The error budget and the degradation shown are the worst stream's.
  const budgets = parts
    .map((p) => p.verdict.budget)
    .filter((b): b is NonNullable<Verdict['budget']> => b !== null);
  const budget = budgets.length ? budgets.reduce((a, b) => (b.burned > a.burned ? b : a)) : null;
  const degradation = parts
    .map((p) => p.verdict.degradation)
    .reduce((a, b) => (b.robustness < a.robustness ? b : a));
  return {
    status,
    pass: status === 'pass',
    service: parts.map((p) => p.verdict.service).join(' + '),
    score,
    grade: GRADES.find(([, min]) => score >= min)![0],
    subscores: {
      budget: sub('budget'),
      recovery: sub('recovery'),
      loss: sub('loss'),
      robustness: sub('robustness'),
    },
    weights: first.weights,
    phases: first.phases.map((ph) => ({
      name: ph.name,
      seconds: [
        ...new Set(parts.flatMap((p) => p.verdict.phases.find((x) => x.name === ph.name)?.seconds ?? [])),
      ].sort((a, b) => a - b),
      requests: parts.reduce(
        (n, p) => n + (p.verdict.phases.find((x) => x.name === ph.name)?.requests ?? 0),
        0,
      ),
    })),
    objectives: parts.flatMap((p) =>
      p.verdict.objectives.map((o) => ({ ...o, name: `${p.name}/${o.name}` })),
    ),
    recovery: combineRecovery(parts),
    budget,
    degradation,
    reasons: combineReasons(parts),
  };
}
