/** Before anything is applied: every planned fault's own checks (driver, device, privilege, capacity). */
import { faultDef } from '../../faults/index.ts';
import { InputError } from '../core/errors.ts';
import type { RunPlan } from '../scenario/plan.ts';
import type { EnvironmentFile } from '../scenario/schema.ts';
import { previewProcessTarget } from '../targets/process.ts';

/**
 * Throws (exit 2) when a fault cannot be applied; with `skipUnavailable`, returns those faults
 * instead (entry index → why), for the runner to leave out and record as skipped.
 */
export async function preflightFaults(
  plan: RunPlan,
  env: EnvironmentFile,
  scenarioFile: string,
  opts: {
    skipUnavailable?: boolean;
    /** Only process targets (checked once the run's own processes, the demo, are up), or only the others. */
    targets?: 'process' | 'others';
  } = {},
): Promise<Map<number, string>> {
  const problems: string[] = [];
  const unavailable = new Map<number, string>();
  const seen = new Set<number>();
  for (const f of plan.faults) {
    if (seen.has(f.index)) continue; // one check per fault entry, not per repeat
    seen.add(f.index);
    const def = faultDef(f.type);
    const target = env.targets[f.target];
    if (!target || (!def?.preflight && target.kind !== 'process')) continue;
    if (opts.targets && (target.kind === 'process') !== (opts.targets === 'process')) continue;
    // A process target is checked whole here (zero matches too): the run's own processes (the
    // demo system) are up by now, so "matches nothing" can be known before anything is applied.
    const problem =
      target.kind === 'process'
        ? previewProcessTarget(target, `target ${f.target}`).problem
        : ((await def?.preflight?.(target, f.parsed, env.targets)) ?? null);
    if (problem) {
      problems.push(`faults[${f.index}] (${f.type} on ${f.target}): ${problem}`);
      unavailable.set(f.index, problem);
    }
  }
  if (problems.length > 0 && !opts.skipUnavailable) {
    throw new InputError(
      `${scenarioFile}: cannot run: nothing was applied\n  ${problems.join('\n  ')}\n` +
        '(--skip-unavailable runs the scenario without these faults)',
    );
  }
  return unavailable;
}
