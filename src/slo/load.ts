/**
 * Loading an SLO file: one or more YAML documents, each either the native format (`services:`)
 * or an OpenSLO v1 document of any kind (./openslo.ts). Every problem is located
 * (file:line:col: field) and all are reported together as one InputError.
 */
import type { z } from 'zod';
import { InputError } from '../core/errors.ts';
import { sloSchema, type NativeService } from './schema.ts';
import {
  parseYamlDocs,
  problemLine,
  readSource,
  zodProblems,
  type Problem,
  type SourceDoc,
} from '../core/yaml.ts';
import { readOpenSlo, type OpenSloDoc } from './openslo.ts';
import { parseThreshold } from './threshold.ts';

export type { OpenSloDoc } from './openslo.ts';

export interface SloConfig {
  file: string;
  services: Record<string, NativeService>;
  /** OpenSLO `kind: SLO` documents, their indicators resolved inline. */
  openslo: OpenSloDoc[];
}

export function loadSlo(file: string): SloConfig {
  const docs = parseYamlDocs(file, readSource(file, 'SLO file'));
  const services: Record<string, NativeService> = {};
  const problems: { src: SourceDoc; p: Problem }[] = [];
  const openSloDocs: SourceDoc[] = [];
  for (const src of docs) {
    const v = src.value;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      problems.push({
        src,
        p: {
          path: [],
          message: 'expected a mapping: services: ... or an OpenSLO document (apiVersion: openslo/v1)',
        },
      });
      continue;
    }
    if ('apiVersion' in v || 'kind' in v) {
      openSloDocs.push(src);
      continue;
    }
    const r = sloSchema.safeParse(v, { reportInput: true });
    if (!r.success) {
      for (const p of zodProblems(r.error)) problems.push({ src, p });
      continue;
    }
    const parsed = (r.data as z.output<typeof sloSchema>).services;
    for (const [name, svc] of Object.entries(parsed)) {
      for (const p of serviceProblems(svc))
        problems.push({ src, p: { ...p, path: ['services', name, ...p.path] } });
    }
    Object.assign(services, parsed);
  }
  const openslo = readOpenSlo(openSloDocs);
  problems.push(...openslo.problems);
  if (problems.length > 0) {
    const lines = problems.map(({ src, p }) => problemLine(src, p));
    throw new InputError(
      `invalid SLO file (${lines.length} problem${lines.length > 1 ? 's' : ''})\n  ${lines.join('\n  ')}`,
    );
  }
  return { file, services, openslo: openslo.slos };
}

/** Threshold grammar and contradictions (a lower bound at or above an upper bound on one statistic). */
export function serviceProblems(svc: NativeService): Problem[] {
  const out: Problem[] = [];
  const bounds = new Map<string, { lo?: number; hi?: number; loAt?: number; hiAt?: number }>();
  const bound = (key: string, kind: 'lo' | 'hi', v: number, at: number) => {
    const b = bounds.get(key) ?? {};
    if (kind === 'hi' && (b.hi === undefined || v < b.hi)) Object.assign(b, { hi: v, hiAt: at });
    if (kind === 'lo' && (b.lo === undefined || v > b.lo)) Object.assign(b, { lo: v, loAt: at });
    bounds.set(key, b);
  };
  if (svc.errorRate !== undefined) bound('rate', 'hi', svc.errorRate, -1);
  if (svc.availability !== undefined) bound('rate', 'hi', 1 - svc.availability, -1);
  for (const [k, ms] of Object.entries(svc.latency ?? {})) bound(k === 'med' ? 'p50' : k, 'hi', ms, -1);
  svc.thresholds.forEach((text, i) => {
    const t = parseThreshold(text);
    if (typeof t === 'string') {
      out.push({ path: ['thresholds', i], message: t });
      return;
    }
    const key = t.stat.kind === 'percentile' ? `p${t.stat.p}` : t.stat.kind === 'med' ? 'p50' : t.stat.kind;
    if (t.op === '<' || t.op === '<=') bound(key, 'hi', t.value, i);
    else if (t.op === '>' || t.op === '>=') bound(key, 'lo', t.value, i);
  });
  for (const [key, b] of bounds) {
    if (b.lo !== undefined && b.hi !== undefined && b.lo >= b.hi) {
      out.push({
        path: ['thresholds', b.loAt!],
        message: `contradictory objectives: ${key} must be above ${b.lo} and below ${b.hi} at once`,
      });
    }
  }
  return out;
}
