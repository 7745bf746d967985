/**
 * Helpers for the scale-out tests (test/scale): the CLI's own entry point called in this process,
 * for refusals that never start anything, and a loopback target behind a fault proxy, so a run can
 * apply and revert a real fault without the demo system's processes.
 */
import { main } from '../../src/cli/main.ts';
import { startProxyServer } from '../../src/proxy/server.ts';
import { httpServer, type TestServer } from './servers.ts';

export interface InProcessCli {
  code: number;
  stdout: string;
  stderr: string;
}

let busy = false;

/**
 * `chaos ...args` through src/cli/main.ts's `main`, the function bin/chaos.mjs calls, in this
 * process: the same yargs parsing, flag checks and error-to-exit-code mapping, without the start-up
 * of a child process. Only for arguments that are refused before anything starts. One call at a
 * time (stdout and stderr are captured by replacing their write).
 */
export async function cliInProcess(args: string[]): Promise<InProcessCli> {
  if (busy) throw new Error('cliInProcess: one call at a time');
  busy = true;
  let stdout = '';
  let stderr = '';
  const text = (c: string | Uint8Array) => (typeof c === 'string' ? c : Buffer.from(c).toString('utf8'));
  const [out, err] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((c: string | Uint8Array) => ((stdout += text(c)), true)) as typeof out;
  process.stderr.write = ((c: string | Uint8Array) => ((stderr += text(c)), true)) as typeof err;
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    busy = false;
  }
}

export interface ProxiedTarget {
  /** The environment file: `api` (http, through the proxy) and `api->dependency` (the proxy). */
  env: string;
  /** Requests that reached the server (health checks left out), as performance.now() times. */
  hits: number[];
  close(): Promise<void>;
}

/**
 * A loopback HTTP server behind a fault proxy (startProxyServer, this process): a `partition` on
 * `api->dependency` cuts the path to it, as in the demo system. Each call makes its own pair.
 */
export async function proxiedTarget(): Promise<ProxiedTarget> {
  const hits: number[] = [];
  const server: TestServer = await httpServer((req, res) => {
    if (req.url !== '/health') hits.push(performance.now());
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  const proxy = await startProxyServer({ port: 0, log: () => {} });
  const p = await proxy.registry.createProxy({
    name: 'dependency',
    listen: '127.0.0.1:0',
    upstream: `127.0.0.1:${server.port}`,
  });
  const port = Number(p.listen.split(':').pop());
  return {
    env:
      `targets:\n  api: { kind: http, url: "http://127.0.0.1:${port}", health: /health }\n` +
      `  api->dependency: { kind: proxy, proxy: dependency, api: "${proxy.url}" }\n`,
    hits,
    async close() {
      await proxy.close();
      await server.close();
    },
  };
}
