import { pathToFileURL } from 'node:url';
import { HOLDER_MAIN } from '../../targets/holder.ts';
import type { Command } from './index.ts';

/**
 * `chaos _hold KIND --mark M --max-ms N ...`: a resource holder through the CLI. Holders are
 * started through their own small entry (src/stress/holder-main.mjs); this runs the same code.
 */
export const holdCommand: Command = (cli) =>
  cli.command({
    command: '_hold <kind>',
    describe: false,
    builder: (y) => y.strict(false),
    handler: async () => {
      const argv = process.argv.slice(process.argv.indexOf('_hold') + 1);
      const { main } = (await import(pathToFileURL(HOLDER_MAIN).href)) as {
        main(argv: string[]): Promise<void>;
      };
      await main(argv);
    },
  });
