/** Options shared by commands that load a scenario. */
import type { Argv } from 'yargs';
import { InputError } from '../errors.ts';
import type { LoadOptions } from '../scenario/load.ts';

export function scenarioOptions<T>(y: Argv<T>) {
  return y
    .positional('scenario', {
      type: 'string',
      demandOption: true,
      describe: 'a built-in scenario name or a path to a scenario file',
    })
    .option('time-scale', {
      type: 'number',
      default: 1,
      describe: 'compress every time in the scenario by this factor (0.1 runs 90 s in 9 s)',
    })
    .option('seed', {
      type: 'number',
      describe: 'PRNG seed; the same seed replays the same arrivals and picks',
    })
    .option('env', { type: 'string', describe: 'environment file (overrides the scenario’s environment:)' })
    .option('slo', { type: 'string', describe: 'SLO file (overrides the scenario’s slo:)' })
    .option('force', {
      type: 'boolean',
      default: false,
      describe: 'allow rates above the 50,000/s safety cap',
    });
}

export function checkTimeScale(v: number): number {
  if (!(Number.isFinite(v) && v > 0 && v <= 100)) {
    throw new InputError(`--time-scale must be a number greater than 0 and at most 100, got ${v}`);
  }
  return v;
}

export function checkSeed(v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < 0 || v > 2 ** 32)
    throw new InputError(`--seed must be a whole number from 0 to 2^32, got ${v}`);
  return v;
}

export function loadOptions(args: { env?: string | undefined; slo?: string | undefined }): LoadOptions {
  return { ...(args.env ? { envFile: args.env } : {}), ...(args.slo ? { sloFile: args.slo } : {}) };
}

/** `--json`: machine-readable output on stdout (shapes in docs/cli.md). */
export function jsonOption<T>(y: Argv<T>, describe: string) {
  return y.option('json', { type: 'boolean', default: false, describe });
}

/** Writes one JSON document (pretty, newline-terminated) to stdout. */
export function writeJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
