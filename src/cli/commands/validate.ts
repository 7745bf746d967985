import { InputError } from '../../errors.ts';
import { resolveScenarioPath } from '../../scenario/paths.ts';
import { readSource } from '../../scenario/yaml.ts';
import type { Command } from './index.ts';

/** Guesses what a YAML file is from its top-level keys. */
function kindOf(file: string): 'scenario' | 'environment' | 'slo' {
  let text = '';
  try {
    text = readSource(file); // read once: a pipe (`<(cat f)`) is remembered for the loader
  } catch {
    return 'scenario'; // the scenario loader reports the read error
  }
  if (/^targets\s*:/m.test(text)) return 'environment';
  if (/^services\s*:/m.test(text) || /^apiVersion\s*:\s*openslo/m.test(text)) return 'slo';
  return 'scenario';
}

export const validateCommand: Command = (cli, setCode) =>
  cli.command(
    'validate <files..>',
    'check scenario, environment and SLO files (exit 0 when all are valid, 2 otherwise)',
    (y) =>
      y
        .positional('files', {
          type: 'string',
          array: true,
          demandOption: true,
          describe: 'files or built-in scenario names',
        })
        .option('env', { type: 'string', describe: 'environment file to check scenarios against' }),
    async (args) => {
      const { loadEnvironment, loadScenario, loadSlo } = await import('../../scenario/load.ts');
      let bad = 0;
      for (const f of args.files) {
        const file = resolveScenarioPath(f);
        try {
          const kind = kindOf(file);
          if (kind === 'environment') loadEnvironment(file);
          else if (kind === 'slo') loadSlo(file);
          else loadScenario(file, args.env ? { envFile: args.env } : {});
          process.stdout.write(`ok  ${f} (${kind})\n`);
        } catch (err) {
          if (!(err instanceof InputError)) throw err;
          bad++;
          process.stderr.write(`${err.message}\n`);
        }
      }
      setCode(bad > 0 ? 2 : 0);
    },
  );
