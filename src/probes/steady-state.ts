/**
 * `steadyState: { require: true, for: 3s }`: before the first fault, every probe must have passed
 * in each of the last `for` seconds. If not, no fault is applied and the verdict is inconclusive.
 */
import type { Clock } from '../core/clock.ts';
import type { RunResult } from '../result.ts';
import type { SteadyStateSpec } from '../scenario/probe-schema.ts';
import type { ProbeRunner } from './runner.ts';

export type SteadyStateRecord = NonNullable<RunResult['steadyState']>;

/**
 * Calls `startFaults` at once, or (steady state required) just before the first fault starts,
 * if the probes held. Returns the record for the result and a cancel function for early exits.
 */
export function gateFaults(
  spec: SteadyStateSpec | undefined,
  probes: ProbeRunner,
  firstFaultMs: number | null,
  timeScale: number,
  clock: Clock,
  now: () => number,
  startFaults: () => void,
  log: (line: string) => void,
): { record: SteadyStateRecord | undefined; cancel(): void } {
  if (!spec?.require) {
    startFaults();
    return { record: undefined, cancel() {} };
  }
  const forMs = spec.for * timeScale;
  const record: SteadyStateRecord = {
    required: true,
    forMs,
    held: null,
    checkedAtMs: null,
    reason: 'not checked: the run has no fault',
  };
  if (firstFaultMs === null) return { record, cancel() {} };
  record.reason = 'not checked: the run ended before the first fault';
  const rounds = Math.max(1, Math.ceil(forMs / 1000));
  const timer = clock.setTimeout(
    () => {
      const v = probes.held(rounds);
      record.held = v.held;
      record.checkedAtMs = Math.round(now());
      record.reason = v.why;
      if (v.held) startFaults();
      else log(`${v.why}: no fault will be applied; the run is inconclusive`);
    },
    Math.max(0, firstFaultMs - 100 - now()),
  );
  return { record, cancel: () => clock.clearTimeout(timer) };
}

/** A run whose steady state did not hold: faults never applied are marked skipped (score() then says inconclusive). */
export function applySteadyState(result: RunResult): void {
  const ss = result.steadyState;
  if (!ss || ss.held !== false) return;
  for (const f of result.faults) {
    if (f.status !== 'scheduled') continue;
    f.status = 'skipped';
    f.observations.push(`not applied: ${ss.reason}`);
  }
}
