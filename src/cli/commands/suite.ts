import { resolve } from 'node:path';
import type { Command } from './index.ts';

/** Helpers for resilience-pipeline.sh: list a suite's scenarios; write the artifacts index. */
export const suiteCommand: Command = (cli) =>
  cli.command('suite <action>', 'suite helpers for resilience-pipeline.sh (list, index)', (y) =>
    y
      .command(
        'list <file>',
        'print the suite as tab-separated lines: name, scenario file, environment file, SLO file, minimum score',
        (z) => z.positional('file', { type: 'string', demandOption: true }),
        async (args) => {
          const { loadSuite } = await import('../../suite/suite.ts');
          const suite = loadSuite(resolve(args.file));
          for (const e of suite.entries) {
            process.stdout.write(
              [e.name, e.scenario, e.environment ?? '-', e.slo ?? '-', String(e.minScore)].join('\t') + '\n',
            );
          }
        },
      )
      .command(
        'index <dir>',
        'write index.html, summary.md and a merged junit.xml for a suite run',
        (z) =>
          z
            .positional('dir', { type: 'string', demandOption: true })
            .option('suite', { type: 'string', demandOption: true, describe: 'suite name' })
            .option('scenarios', { type: 'string', array: true, demandOption: true })
            .option('exit-code', { type: 'number', default: 0 }),
        async (args) => {
          const { writeSuiteIndex } = await import('../../suite/index-page.ts');
          writeSuiteIndex(resolve(args.dir), args.suite, args.scenarios, args.exitCode);
        },
      )
      .demandCommand(1),
  );
