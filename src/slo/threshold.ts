/**
 * k6's threshold grammar plus windows: `p(95)<500`, `p(99.9)<=1s`, `rate<0.01`, `avg<200`,
 * `med<150`, `max<2000`, and `p(95)<500 over 10s` (every 10 s window must hold, where k6 only
 * checks the whole run: k6#1737). Values without a unit are milliseconds (rate: a fraction).
 */
import { parseDurationMs } from '../core/units.ts';

export type ThresholdStat =
  { kind: 'percentile'; p: number } | { kind: 'avg' } | { kind: 'med' } | { kind: 'max' } | { kind: 'rate' };
export type ThresholdOp = '<' | '<=' | '>' | '>=' | '==';

export interface Threshold {
  source: string;
  stat: ThresholdStat;
  op: ThresholdOp;
  value: number;
  /** Sliding window length; undefined = the whole phase. */
  windowMs?: number;
}

const RE =
  /^\s*(p\(\s*(\d+(?:\.\d+)?)\s*\)|avg|med|max|rate)\s*(<=|>=|==|<|>)\s*([0-9.]+(?:ms|s|m)?)\s*(?:over\s+(\S+))?\s*$/;

export function parseThreshold(text: string): Threshold | string {
  const m = RE.exec(text);
  if (!m)
    return `expected a threshold like p(95)<500, rate<0.01, avg<200, max<2s or p(99)<300 over 10s, got ${JSON.stringify(text)}`;
  let stat: ThresholdStat;
  if (m[2] !== undefined) {
    const p = Number(m[2]);
    if (!(p > 0 && p <= 100)) return `percentile ${p} is outside (0, 100]`;
    stat = { kind: 'percentile', p };
  } else stat = { kind: m[1] as 'avg' | 'med' | 'max' | 'rate' };
  const raw = m[4]!;
  let value: number;
  if (stat.kind === 'rate') {
    value = Number(raw);
    if (!(value >= 0 && value <= 1)) return `rate thresholds compare a fraction 0..1, got ${raw}`;
  } else {
    const d = /[a-z]$/.test(raw) ? parseDurationMs(raw) : Number(raw);
    if (d === undefined || !Number.isFinite(d)) return `expected milliseconds or a duration, got ${raw}`;
    value = d;
  }
  const t: Threshold = { source: text.trim(), stat, op: m[3] as ThresholdOp, value };
  if (m[5] !== undefined) {
    const w = parseDurationMs(m[5]);
    if (!w || w < 1000) return `expected a window of at least 1s after "over", got ${JSON.stringify(m[5])}`;
    t.windowMs = w;
  }
  return t;
}

export function compare(actual: number, op: ThresholdOp, value: number): boolean {
  switch (op) {
    case '<':
      return actual < value;
    case '<=':
      return actual <= value;
    case '>':
      return actual > value;
    case '>=':
      return actual >= value;
    case '==':
      return actual === value;
  }
}
