import { readFileSync } from 'node:fs';
import { ExitCode, exitCodeOf, InputError } from '../../core/errors.ts';
import type { ProxyInput } from '../../proxy/types.ts';
import type { Command } from './index.ts';

export const proxyCommand: Command = (cli) =>
  cli.command(
    'proxy',
    'run the fault proxy: a TCP proxy with a Toxiproxy-compatible HTTP API (plus partition, HTTP faults, leases)',
    (y) =>
      y
        .option('host', {
          type: 'string',
          default: '127.0.0.1',
          describe: 'API listen address (a non-loopback one needs --allow or --token)',
        })
        .option('port', { type: 'number', default: 8474, describe: 'API port' })
        .option('allow', {
          type: 'string',
          array: true,
          describe:
            'client networks that may use the whole API without a token, e.g. 10.0.0.0/8 or 192.168.1.7 (loopback always may); for stock Toxiproxy clients',
        })
        .option('token', {
          type: 'string',
          describe: 'bearer token that lets clients outside loopback and --allow use the API',
        })
        .option('config', {
          type: 'string',
          describe: 'JSON file of proxies to create at start (as POST /populate takes)',
        }),
    async (args) => {
      const { startProxyServer } = await import('../../proxy/server.ts');
      let list: unknown;
      if (args.config) {
        try {
          list = JSON.parse(readFileSync(args.config, 'utf8'));
        } catch (err) {
          throw new InputError(`--config ${args.config}: ${(err as Error).message}`);
        }
      }
      const server = await startProxyServer({
        host: args.host,
        port: args.port,
        allow: args.allow ?? [],
        ...(args.token !== undefined ? { token: args.token } : {}),
        log: (l) => process.stderr.write(`${l}\n`),
      });
      if (list !== undefined) {
        try {
          await server.registry.populate(list as ProxyInput[]);
        } catch (err) {
          await server.close();
          if (exitCodeOf(err) !== ExitCode.invalidInput) throw err;
          throw new InputError(`--config ${args.config}: ${(err as Error).message}`);
        }
      }
      process.stdout.write(`fault proxy API on ${server.url} (Toxiproxy-compatible; Ctrl-C to stop)\n`);
      await new Promise<void>((resolve) => {
        const stop = () => void server.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    },
  );
