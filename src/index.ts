/**
 * chaoskit as a library.
 *
 *   const scenario = loadScenario('spike-with-partition');        // validate (throws InputError)
 *   const timeline = plan(scenario, { seed: 1 });                   // pure RunPlan
 *   const run = runScenario(scenario, { timeScale: 0.1 });          // an event emitter you can await
 *   run.on('second', (p) => console.log(p.achievedRate));  // the live view, once a second
 *   const result = await run.result;                                // RunResult with verdict
 *   console.log(render(result, 'markdown'));
 */
import { loadScenario as load, planScenario, type LoadOptions, type Scenario } from './input/load.ts';
import type { RunPlan } from './scenario/plan.ts';
import { objectivesFor } from './slo/objectives.ts';
import { score as scoreWith } from './slo/score.ts';
import { combineVerdicts } from './slo/combine.ts';
import { streamAsResult } from './run/result.ts';
import type { RunResult, Verdict } from './result.ts';

export { runScenario, RunHandle, type RunOptions, type Progress } from './run.ts';
export { ChaosError, InputError, AbortedError, RevertError, InternalError, ExitCode } from './core/errors.ts';
export type { RunResult, Verdict, TimelineSecond, FaultRecord } from './result.ts';
export type { Scenario, LoadOptions } from './input/load.ts';
export type { RunPlan, PlannedFault, PlannedPhase } from './scenario/plan.ts';
export { faultTypes } from '../faults/index.ts';
export { render, reporters, reporterNames, writeReports, type ReporterName } from '../reporters/index.ts';
export { compareResults, type Comparison } from './compare.ts';
export { startProxyServer, type ProxyServer, type ProxyServerOptions } from './proxy/server.ts';

/** Reads and validates a scenario (a built-in name or a path) with its environment and SLO file. */
export function loadScenario(nameOrPath: string, opts: LoadOptions = {}): Scenario {
  return load(nameOrPath, opts);
}

/** The run's timeline as plain data: phases, fault windows, totals. Pure. */
export function plan(
  scenario: Scenario,
  opts: { seed?: number; timeScale?: number; force?: boolean } = {},
): RunPlan {
  return planScenario(scenario, {
    seed: opts.seed ?? scenario.spec.seed ?? 0,
    timeScale: opts.timeScale ?? 1,
    force: opts.force ?? false,
  });
}

/** Scores a result against a scenario's SLOs (the runner already does this; use it to re-score). */
export function score(result: RunResult, scenario: Scenario): Verdict {
  // Several streams: each against its own service's objectives, combined as the runner does.
  if (result.streams && result.streams.length > 0)
    return combineVerdicts(
      result.streams.map((st) => ({
        name: st.name,
        verdict: scoreWith(streamAsResult(result, st), objectivesFor(scenario.slo, st.service)),
      })),
    );
  return scoreWith(
    result,
    objectivesFor(scenario.slo, scenario.spec.load.service ?? scenario.spec.load.target),
  );
}
