import { InputError } from '../../core/errors.ts';
import { parseDurationMs } from '../../core/units.ts';
import type { Command } from './index.ts';

export const runnerCommand: Command = (cli, setCode) =>
  cli.command(
    'runner',
    'run one segment of a coordinator’s run (chaos run --runners N --listen HOST:PORT); token from CHAOSKIT_TOKEN',
    (y) =>
      y
        .option('coordinator', {
          type: 'string',
          demandOption: true,
          describe: 'the coordinator’s URL, like http://coordinator:7070',
        })
        .option('index', {
          type: 'number',
          describe:
            'this runner’s segment (0..N-1; a Kubernetes Indexed Job passes JOB_COMPLETION_INDEX); the next free one when absent',
        })
        .option('connect-timeout', {
          type: 'string',
          default: '60s',
          describe: 'keep trying to reach the coordinator this long (it may start after its runners)',
        }),
    async (args) => {
      let url: URL;
      try {
        url = new URL(args.coordinator);
        if (url.protocol !== 'http:') throw new Error('not http');
      } catch {
        throw new InputError(`--coordinator must be an http:// URL, got ${JSON.stringify(args.coordinator)}`);
      }
      const index = args.index ?? indexFromEnv(process.env.JOB_COMPLETION_INDEX);
      if (index !== undefined && !(Number.isInteger(index) && index >= 0))
        throw new InputError(`--index must be a whole number from 0, got ${String(index)}`);
      const connectTimeoutMs = parseDurationMs(args.connectTimeout);
      if (connectTimeoutMs === undefined || !(connectTimeoutMs > 0))
        throw new InputError(
          `--connect-timeout must be a duration like 60s, got ${JSON.stringify(args.connectTimeout)}`,
        );
      const { startRunner } = await import('../../scale/runner.ts');
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const runner = startRunner({
        coordinator: url.toString(),
        ...(index !== undefined ? { index } : {}),
        ...(process.env.CHAOSKIT_TOKEN ? { token: process.env.CHAOSKIT_TOKEN } : {}),
        connectTimeoutMs,
        log,
      });
      const onSignal = (sig: NodeJS.Signals) => runner.interrupt(`signal ${sig}`);
      const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
      for (const sig of signals) process.on(sig, onSignal);
      try {
        const { code, message } = await runner.done;
        if (code === 2) throw new InputError(message);
        log(`runner: ${message}`);
        setCode(code);
      } finally {
        for (const sig of signals) process.off(sig, onSignal);
      }
    },
  );

/** JOB_COMPLETION_INDEX, set by Kubernetes in each pod of an Indexed Job. */
function indexFromEnv(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  return Number(v);
}
