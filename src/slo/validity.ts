/**
 * Did the experiment happen as planned? A run whose fault never applied, applied late, was left
 * out, or whose generator stalled measured something other than what was planned: its verdict is
 * `invalid`, never a pass, whatever the numbers say.
 */
import type { RunResult } from '../result.ts';
import { formatDuration } from '../core/units.ts';

/** Marks an observation written when --skip-unavailable left a fault out. */
export const SKIPPED_UNAVAILABLE = 'skipped (--skip-unavailable)';
/** Marks a result warning about broken accounting (a bug; the numbers cannot be trusted). */
export const ACCOUNTING_WARNING = 'accounting:';

/** Layers that revert a fault only when the runner did not. */
const OTHER_LAYERS: Partial<Record<NonNullable<RunResult['faults'][number]['revertedBy']>, string>> = {
  guard: 'the run’s guard',
  'emergency-stop': 'an emergency stop',
  timer: 'its self-reverting timer',
  expired: 'its own expiry',
  lease: 'its lease',
};

export function invalidReasons(r: RunResult): string[] {
  const out: string[] = [];
  const completed = r.status === 'completed';
  for (const f of r.faults) {
    const what = `${f.id} (${f.type} on ${f.target})`;
    if (f.status === 'apply-failed')
      out.push(
        `${what} was not applied (${f.error ?? 'apply failed'}): the experiment did not happen as planned`,
      );
    else if (f.late && f.applyLagMs !== null)
      out.push(
        `${what} was applied ${formatDuration(f.applyLagMs)} after its planned start (tolerance ${formatDuration(f.toleranceMs)}): the experiment did not happen as planned`,
      );
    const skipped = f.observations.find((o) => o.startsWith(SKIPPED_UNAVAILABLE));
    if (f.status === 'skipped' && skipped) out.push(`${what} was ${skipped}: the experiment did not test it`);
    if (completed && f.status === 'scheduled')
      out.push(`${what} never started although the run completed: the experiment did not happen as planned`);
    const layer = f.revertedBy ? OTHER_LAYERS[f.revertedBy] : undefined;
    if (completed && layer)
      out.push(`${what} was reverted by ${layer}, not by its schedule: the runner stopped responding`);
  }
  const stalled = r.totals.droppedStall ?? 0;
  if (stalled > 0)
    out.push(
      `the load generator stalled: ${stalled} arrival(s) were already overdue when it resumed and were not sent (counted as dropped, not blamed on the target)`,
    );
  const accounting = r.warnings.filter((x) => x.startsWith(ACCOUNTING_WARNING));
  if (accounting.length > 0)
    out.push(
      `the measurements are not trustworthy: ${accounting.length} accounting problem(s), first: ${accounting[0]!.slice(ACCOUNTING_WARNING.length).trim()}`,
    );
  return out;
}
