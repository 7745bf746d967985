/**
 * The `chaos` CLI: one file per command in ./commands. Every command returns its exit code;
 * errors are printed as one paragraph (never a stack trace unless CHAOSKIT_DEBUG is set).
 */
import { readdirSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import { ChaosError, ExitCode, exitCodeOf, InputError } from '../core/errors.ts';
import { BUILTIN_SCENARIOS } from '../core/paths.ts';
import { VERSION } from '../version.ts';
import { commands } from './commands/index.ts';

const EPILOG = `Exit codes:
  0  all objectives met
  1  an SLO objective was missed (or the score fell below --min-score)
  2  invalid input: usage, scenario, SLO or environment file
  3  aborted: stop condition, signal or emergency stop; everything was reverted
  4  a fault could not be reverted: the message says what to run by hand
  5  internal error`;

export async function main(argv: string[]): Promise<number> {
  let code: number = ExitCode.ok;
  const setCode = (c: number) => {
    code = c;
  };
  let cli: Argv = yargs(argv)
    .scriptName('chaos')
    .version(VERSION)
    .strict()
    .demandCommand(1, 'name a command (see chaos --help)')
    .recommendCommands()
    .completion(
      'completion',
      'print a shell completion script for bash, zsh or fish (chaos completion >> ~/.bashrc)',
      completeScenarioNames,
    )
    .wrap(Math.min(110, process.stdout.columns || 100))
    .epilog(EPILOG)
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new InputError(dashValue(argv, msg) ?? msg);
    });
  for (const c of commands) cli = c(cli, setCode);
  try {
    await cli.parseAsync();
  } catch (err) {
    return report(err);
  }
  return code;
}

/** Commands whose first positional is a scenario: their completions add the built-in names. */
const TAKES_SCENARIO = new Set(['run', 'plan', 'validate', 'export']);

/** yargs' own completions (commands, options), plus built-in scenario names where one is expected. */
function completeScenarioNames(
  current: string,
  argv: { _: (string | number)[] },
  defaults: (done: (err: Error | null, list: string[] | undefined) => void) => void,
  done: (list: string[]) => void,
): void {
  defaults((_err, list) => {
    const words = argv._.map(String);
    if (current.startsWith('-') || !words.some((w) => TAKES_SCENARIO.has(w))) return done(list ?? []);
    let names: string[] = [];
    try {
      names = readdirSync(BUILTIN_SCENARIOS)
        .filter((f) => f.endsWith('.yaml') && f !== 'slo.yaml')
        .map((f) => f.slice(0, -'.yaml'.length));
    } catch {
      // no built-in scenarios to offer
    }
    done([...(list ?? []), ...names.sort()]);
  });
}

/**
 * `--time-scale -5s`: yargs reads `-5s` as the flags -5 and -s and reports "Unknown arguments: 5, s",
 * which names neither the flag nor the value. Say which flag got a value starting with a dash.
 */
function dashValue(argv: readonly string[], msg: string): string | null {
  if (!/^Unknown argument/.test(msg)) return null;
  for (let i = 1; i < argv.length; i++) {
    const flag = argv[i - 1]!;
    const value = argv[i]!;
    if (/^--[a-z]/.test(flag) && !flag.includes('=') && /^-[^-]/.test(value))
      return `${flag} got ${JSON.stringify(value)}, which starts with a dash and was read as flags; write ${flag}=${value} if that is the value you mean`;
  }
  return null;
}

export function report(err: unknown): number {
  const code = exitCodeOf(err);
  if (err instanceof ChaosError) {
    process.stderr.write(`chaos: ${err.message}\n`);
  } else {
    process.stderr.write(`chaos: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  if (process.env.CHAOSKIT_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  return code;
}
