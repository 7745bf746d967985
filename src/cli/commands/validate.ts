import { InputError } from '../../core/errors.ts';
import { resolveScenarioPath } from '../../core/paths.ts';
import { readSource } from '../../core/yaml.ts';
import { jsonOption, writeJson } from '../options.ts';
import type { Command } from './index.ts';

type Kind = 'scenario' | 'environment' | 'slo';

/** Guesses what a YAML file is from its top-level keys. */
function kindOf(file: string): Kind {
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

/** One problem of `chaos validate --json`; located ones carry file, line, col and the field path. */
export interface ValidationProblem {
  message: string;
  file?: string;
  line?: number;
  col?: number;
  path?: string;
}

/** `invalid scenario (2 problems)\n  f.yaml:6:45: load.rate: expected …` → one entry per problem line. */
export function problemsOf(message: string): ValidationProblem[] {
  const [head = '', ...rest] = message.split('\n');
  const lines = rest.map((l) => l.trim()).filter(Boolean);
  return (lines.length > 0 ? lines : [head]).map((line) => {
    const m = /^(.+?):(\d+):(\d+): (.+?): (.*)$/.exec(line);
    return m
      ? { file: m[1]!, line: Number(m[2]), col: Number(m[3]), path: m[4]!, message: m[5]! }
      : { message: line };
  });
}

export const validateCommand: Command = (cli, setCode) =>
  cli.command(
    'validate <files..>',
    'check scenario, environment and SLO files (exit 0 when all are valid, 2 otherwise)',
    (y) =>
      jsonOption(
        y
          .positional('files', {
            type: 'string',
            array: true,
            demandOption: true,
            describe: 'files or built-in scenario names',
          })
          .option('env', { type: 'string', describe: 'environment file to check scenarios against' }),
        'print {"ok", "files": [{input, file, kind, ok, problems}]} on stdout (docs/cli.md)',
      ),
    async (args) => {
      const { loadEnvironment, loadScenario, loadSlo } = await import('../../input/load.ts');
      const results = [];
      for (const f of args.files) {
        const file = resolveScenarioPath(f);
        const kind = kindOf(file);
        try {
          if (kind === 'environment') loadEnvironment(file);
          else if (kind === 'slo') loadSlo(file);
          else loadScenario(file, args.env ? { envFile: args.env } : {});
          results.push({ input: f, file, kind, ok: true, problems: [] });
          if (!args.json) process.stdout.write(`ok  ${f} (${kind})\n`);
        } catch (err) {
          if (!(err instanceof InputError)) throw err;
          results.push({ input: f, file, kind, ok: false, problems: problemsOf(err.message) });
          if (!args.json) process.stderr.write(`${err.message}\n`);
        }
      }
      const ok = results.every((r) => r.ok);
      if (args.json) writeJson({ ok, files: results });
      setCode(ok ? 0 : 2);
    },
  );
