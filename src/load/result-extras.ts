/** Adds the streaming, per-profile and probe parts to a RunResult (the runner calls this once). */
import type { MetricsStore } from '../metrics/store.ts';
import type { ProbeResult } from '../probes/runner.ts';
import type { SteadyStateRecord } from '../probes/steady-state.ts';
import type { FaultRecord, RunResult } from '../result.ts';
import type { RunPlan } from '../scenario/plan.ts';
import { SKIPPED_UNAVAILABLE } from '../slo/validity.ts';

export function addStreamingResults(
  result: RunResult,
  store: MetricsStore,
  probes: readonly ProbeResult[],
  steadyState: SteadyStateRecord | undefined,
): void {
  const stream = store.streams.summary();
  if (stream) result.totals.stream = stream;
  const profiles = store.profiles.summary();
  if (profiles) result.profiles = profiles;
  if (probes.length > 0) result.probes = [...probes];
  if (steadyState) result.steadyState = steadyState;
}

/** Records for faults left out by --skip-unavailable: skipped, with the preflight's reason. */
export function unavailableFaultRecords(
  plan: RunPlan,
  unavailable: ReadonlyMap<number, string>,
): FaultRecord[] {
  return plan.faults
    .filter((f) => unavailable.has(f.index))
    .map((f) => ({
      id: f.id,
      type: f.type,
      target: f.target,
      plannedStartMs: f.startMs,
      plannedEndMs: f.endMs,
      status: 'skipped' as const,
      applyStartedAtMs: null,
      appliedAtMs: null,
      applyLagMs: null,
      toleranceMs: 0,
      late: false,
      revertedAtMs: null,
      revertedBy: null,
      description: '',
      error: null,
      manualRevert: null,
      observations: [`${SKIPPED_UNAVAILABLE}: ${unavailable.get(f.index)}`],
      params: f.params,
    }));
}
