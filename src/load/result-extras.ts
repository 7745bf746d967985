/** Result parts the runner adds besides the measurements. */
import type { FaultRecord } from '../result.ts';
import type { RunPlan } from '../scenario/plan.ts';
import { SKIPPED_UNAVAILABLE } from '../slo/validity.ts';

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
