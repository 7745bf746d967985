import { readFileSync } from 'node:fs';
import { InputError } from '../../errors.ts';
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
          describe: 'API listen address (non-loopback needs --token)',
        })
        .option('port', { type: 'number', default: 8474, describe: 'API port' })
        .option('token', { type: 'string', describe: 'bearer token required on every API request' })
        .option('config', {
          type: 'string',
          describe: 'JSON file of proxies to create at start (as POST /populate takes)',
        }),
    async (args) => {
      const { startProxyServer } = await import('../../proxy/server.ts');
      const server = await startProxyServer({
        host: args.host,
        port: args.port,
        ...(args.token !== undefined ? { token: args.token } : {}),
        log: (l) => process.stderr.write(`${l}\n`),
      });
      if (args.config) {
        let list: unknown;
        try {
          list = JSON.parse(readFileSync(args.config, 'utf8'));
        } catch (err) {
          await server.close();
          throw new InputError(`--config ${args.config}: ${(err as Error).message}`);
        }
        const r = await fetch(`${server.url}/populate`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(args.token ? { authorization: `Bearer ${args.token}` } : {}),
          },
          body: JSON.stringify(list),
        });
        if (!r.ok) {
          await server.close();
          throw new InputError(`--config ${args.config}: ${await r.text()}`);
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
