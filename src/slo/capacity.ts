/**
 * Capacity probes (engine autocannon, `load.capacity`): each step of connections is judged against
 * the service's objectives on exactly the requests that ended inside the step, however short the
 * step (a step shorter than a second is judged too: whole seconds would miss it).
 */
import { encode, type Histogram } from '../core/hist.ts';
import type { RunResult, TimelineSecond } from '../result.ts';
import type { ServiceObjectives } from './objectives.ts';
import { meetsObjectives } from './score.ts';

export type CapacityStep = NonNullable<RunResult['capacity']>['steps'][number];

export interface StepMeasure {
  connections: number;
  startMs: number;
  endMs: number;
  ok: number;
  failed: number;
  /** Latency of the step's requests. */
  hist: Histogram;
}

export function judgeCapacityStep(so: ServiceObjectives, m: StepMeasure): CapacityStep {
  const total = m.ok + m.failed;
  const asSecond = {
    t: 0,
    ok: m.ok,
    failed: m.failed,
    hist: total > 0 ? encode(m.hist) : null,
  } as unknown as TimelineSecond;
  const judged = meetsObjectives(so, total > 0 ? [asSecond] : []);
  const durS = Math.max(0.001, (m.endMs - m.startMs) / 1000);
  return {
    connections: m.connections,
    startMs: Math.round(m.startMs),
    endMs: Math.round(m.endMs),
    requests: total,
    throughput: Math.round((total / durS) * 10) / 10,
    p99Ms: total > 0 ? Math.round(m.hist.getValueAtPercentile(99)) / 1000 : null,
    availability: total > 0 ? m.ok / total : null,
    pass: total > 0 && judged.pass,
    failed: total > 0 ? judged.failed : ['no request completed in the step'],
  };
}

/** The last step before the first one that missed an objective (null when none, or the first, missed). */
export function kneeOf(steps: readonly CapacityStep[]): { connections: number; throughput: number } | null {
  const firstFail = steps.findIndex((x) => !x.pass);
  const k = firstFail > 0 ? steps[firstFail - 1] : undefined;
  return k ? { connections: k.connections, throughput: k.throughput } : null;
}

export function peakOf(steps: readonly CapacityStep[]): { connections: number; throughput: number } | null {
  const k = [...steps].sort((a, b) => b.throughput - a.throughput)[0];
  return k ? { connections: k.connections, throughput: k.throughput } : null;
}

export function capacityResult(steps: readonly CapacityStep[]): NonNullable<RunResult['capacity']> {
  return { steps: [...steps], knee: kneeOf(steps), peak: peakOf(steps) };
}

export function capacityWarnings(steps: readonly CapacityStep[]): string[] {
  const out = [
    'closed model (autocannon): latency is service time; a slow server slows the load down, so latency can hide coordinated omission',
  ];
  if (steps.length && steps.every((x) => x.pass))
    out.push(
      `no objective failed up to ${steps.at(-1)!.connections} connections: the knee is higher (throughput peaked at ${peakOf(steps)!.throughput} req/s)`,
    );
  return out;
}
