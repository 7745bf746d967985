import { writeFileSync } from 'node:fs';
import { checkTimeScale, loadOptions, scenarioOptions } from '../options.ts';
import type { Command } from './index.ts';

export const exportCommand: Command = (cli) =>
  cli.command(
    'export <format> <scenario>',
    'write the scenario as another tool’s script (k6: a TypeScript k6 script with stages and thresholds)',
    (y) =>
      scenarioOptions(y.positional('format', { choices: ['k6', 'kubernetes'] as const, demandOption: true }))
        .option('out', {
          type: 'string',
          describe: 'file to write (stdout when absent)',
        })
        .option('runners', { type: 'number', describe: 'kubernetes: runners in the Indexed Job' })
        .option('image', { type: 'string', describe: 'kubernetes: the chaoskit image (see the Dockerfile)' })
        .option('namespace', { type: 'string', describe: 'kubernetes: the namespace of every object' }),
    async (args) => {
      if (args.format === 'kubernetes') {
        const { exportKubernetes } = await import('../../k8s/cli.ts');
        return exportKubernetes(args);
      }
      const [{ exportK6 }, { loadScenario, planScenario }] = await Promise.all([
        import('../../k6/export.ts'),
        import('../../input/load.ts'),
      ]);
      const s = loadScenario(args.scenario, loadOptions(args));
      const plan = planScenario(s, {
        seed: args.seed ?? 0,
        timeScale: checkTimeScale(args.timeScale),
        force: args.force,
      });
      const script = exportK6(s, plan);
      if (args.out) {
        writeFileSync(args.out, script);
        process.stderr.write(`wrote ${args.out}\n`);
      } else process.stdout.write(script);
    },
  );
