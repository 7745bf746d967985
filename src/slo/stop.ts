/**
 * Stop conditions (`abort:` in a scenario): `error-rate > 50%`, `p99 > 2s`, `availability < 90%`,
 * `dropped > 100`. Checked once a second on the live view (src/run/live.ts): what ended in the last
 * second plus what is still waiting or in flight, so a hung target is seen while it hangs. When
 * one has held for its `for:` duration, the run reverts every fault, stops the load and exits 3.
 */
import { parseDurationMs, parsePercent } from '../core/units.ts';
import { compare, type ThresholdOp } from './threshold.ts';

export type StopMetric = 'error-rate' | 'availability' | 'p50' | 'p90' | 'p95' | 'p99' | 'max' | 'dropped';

export interface StopCondition {
  source: string;
  metric: StopMetric;
  op: ThresholdOp;
  value: number;
  forMs: number;
}

export interface SecondSnapshot {
  ok: number;
  failed: number;
  dropped: number;
  latencyMs: Partial<Record<'p50' | 'p90' | 'p95' | 'p99' | 'max', number>> | null;
}

const RE = /^\s*(error-rate|availability|p50|p90|p95|p99|max|dropped)\s*(<=|>=|<|>)\s*(\S+)\s*$/;

export function parseStopCondition(when: string, forMs: number): StopCondition | string {
  const m = RE.exec(when);
  if (!m) {
    return `expected a condition like "error-rate > 50%", "p99 > 2s", "availability < 90%" or "dropped > 100", got ${JSON.stringify(when)}`;
  }
  const metric = m[1] as StopMetric;
  const raw = m[3]!;
  let value: number | undefined;
  if (metric === 'error-rate' || metric === 'availability') value = parsePercent(raw);
  else if (metric === 'dropped') value = /^\d+$/.test(raw) ? Number(raw) : undefined;
  else value = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : parseDurationMs(raw);
  if (value === undefined) {
    const hint =
      metric === 'dropped'
        ? 'a whole number'
        : metric === 'error-rate' || metric === 'availability'
          ? 'a percentage like 50%'
          : 'a duration like 2s';
    return `expected ${hint} after ${metric} ${m[2]}, got ${JSON.stringify(raw)}`;
  }
  return { source: when.trim(), metric, op: m[2] as ThresholdOp, value, forMs };
}

function valueOf(c: StopCondition, s: SecondSnapshot): number | null {
  const total = s.ok + s.failed;
  switch (c.metric) {
    case 'error-rate':
      return total ? s.failed / total : null;
    case 'availability':
      return total ? s.ok / total : null;
    case 'dropped':
      return s.dropped;
    default:
      return s.latencyMs?.[c.metric] ?? null;
  }
}

/** Tracks how long each condition has held; `check` returns the condition that fired, if any. */
export class StopWatch {
  private readonly heldS: number[];
  constructor(
    private readonly conditions: readonly StopCondition[],
    private readonly timeScale = 1,
  ) {
    this.heldS = conditions.map(() => 0);
  }

  check(s: SecondSnapshot): StopCondition | null {
    for (let i = 0; i < this.conditions.length; i++) {
      const c = this.conditions[i]!;
      const v = valueOf(c, s);
      // No evidence (nothing ended, nothing waiting) neither holds nor breaks a condition.
      if (v === null) continue;
      this.heldS[i] = compare(v, c.op, c.value) ? this.heldS[i]! + 1 : 0;
      const needS = Math.max(1, Math.ceil((c.forMs * this.timeScale) / 1000));
      if (this.heldS[i]! >= needS) return c;
    }
    return null;
  }
}
