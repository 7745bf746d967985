import type { Scenario } from '../../input/load.ts';
import type { RunPlan } from '../../scenario/plan.ts';
import {
  checkSeed,
  checkTimeScale,
  jsonOption,
  loadOptions,
  scenarioOptions,
  writeJson,
} from '../options.ts';
import type { Command } from './index.ts';

export const planCommand: Command = (cli) =>
  cli.command(
    'plan <scenario>',
    'print the timeline of a scenario: rate chart, phases, fault windows, totals',
    (y) => jsonOption(scenarioOptions(y), 'print the plan as one JSON object (docs/cli.md)'),
    async (args) => {
      const [{ loadScenario, planScenario }, { describePlan, describePicks }] = await Promise.all([
        import('../../input/load.ts'),
        import('../chart.ts'),
      ]);
      const s = loadScenario(args.scenario, loadOptions(args));
      const plan = planScenario(s, {
        seed: checkSeed(args.seed) ?? s.spec.seed ?? 0,
        timeScale: checkTimeScale(args.timeScale),
        force: args.force,
      });
      if (args.json) return writeJson(planJson(s, plan));
      const picks = await describePicks(s.environment.spec.targets, plan.faults, s.environment.spec.demo);
      process.stdout.write(
        `${s.spec.name}: ${s.spec.description.trim()}\n\n${describePlan(plan)}\n${picks ? `\n${picks}\n` : ''}`,
      );
    },
  );

/** The `chaos plan --json` document: a stable subset of RunPlan (docs/cli.md lists every field). */
export function planJson(s: Scenario, plan: RunPlan) {
  return {
    scenario: s.spec.name,
    description: s.spec.description.trim(),
    file: s.file,
    environment: s.environment.file,
    seed: plan.seed,
    timeScale: plan.timeScale,
    arrivals: plan.arrivals,
    durationMs: plan.durationMs,
    expectedRequests: plan.expectedRequests,
    peakRate: plan.peakRate,
    peakAtMs: plan.peakAtMs,
    phases: plan.phases.map((p) => ({
      index: p.index,
      name: p.name,
      kind: p.kind,
      startMs: p.startMs,
      endMs: p.endMs,
      peakRate: p.peakRate,
      expectedRequests: p.expectedRequests,
    })),
    faults: plan.faults.map((f) => ({
      id: f.id,
      type: f.type,
      target: f.target,
      startMs: f.startMs,
      endMs: f.endMs,
      probability: f.probability,
      params: f.params,
    })),
  };
}
