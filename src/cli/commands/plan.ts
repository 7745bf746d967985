import { checkSeed, checkTimeScale, loadOptions, scenarioOptions } from '../options.ts';
import type { Command } from './index.ts';

export const planCommand: Command = (cli) =>
  cli.command(
    'plan <scenario>',
    'print the timeline of a scenario: rate chart, phases, fault windows, totals',
    (y) => scenarioOptions(y),
    async (args) => {
      const [{ loadScenario, planScenario }, { describePlan }] = await Promise.all([
        import('../../scenario/load.ts'),
        import('../chart.ts'),
      ]);
      const s = loadScenario(args.scenario, loadOptions(args));
      const plan = planScenario(s, {
        seed: checkSeed(args.seed) ?? s.spec.seed ?? 0,
        timeScale: checkTimeScale(args.timeScale),
        force: args.force,
      });
      process.stdout.write(`${s.spec.name}: ${s.spec.description.trim()}\n\n${describePlan(plan)}\n`);
    },
  );
