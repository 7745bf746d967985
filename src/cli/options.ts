/** Options shared by commands that load a scenario. */
import type { Argv } from 'yargs';
import { InputError } from '../core/errors.ts';
import type { LoadOptions } from '../input/load.ts';

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

/** Below this a scenario's times shrink past what timers, connections and faults can honour. */
export const MIN_TIME_SCALE = 0.01;

export function checkTimeScale(v: number): number {
  if (!(Number.isFinite(v) && v >= MIN_TIME_SCALE && v <= 100)) {
    throw new InputError(`--time-scale must be a number from ${MIN_TIME_SCALE} to 100, got ${String(v)}`);
  }
  return v;
}

/** `--min-score`: a number from 0 to 100 (yargs turns `abc` into NaN; that is refused, not ignored). */
export function checkMinScore(v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!(Number.isFinite(v) && v >= 0 && v <= 100))
    throw new InputError(`--min-score must be a number from 0 to 100, got ${String(v)}`);
  return v;
}

/** A TCP port flag (`--prometheus`, `--dashboard`): a whole number from 0 (any free port) to 65535. */
export function checkPort(flag: string, v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!(Number.isInteger(v) && v >= 0 && v <= 65535))
    throw new InputError(`${flag} must be a port number from 0 to 65535, got ${String(v)}`);
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
