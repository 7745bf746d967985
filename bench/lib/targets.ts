/**
 * Loopback targets for the benches, pinned to the target core and stopped by PID afterwards:
 * nginx (`return 200`, one worker process) when installed, else a minimal Node http server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, pinned, sleep, stopChild, TARGET_CORE, track, which } from './common.ts';

export interface Target {
  url: string;
  kind: 'nginx' | 'node' | 'node-stall';
  /** What it is, for the report. */
  describe: string;
  stop(): Promise<void>;
}

const TSX_IMPORT = import.meta.resolve('tsx');

/** Waits until something accepts HTTP on `url` (bounded). */
async function waitUp(url: string, child: ChildProcess, what: string, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${what} exited at start (${child.exitCode ?? child.signalCode}): ${stderr().slice(-2000)}`,
      );
    }
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await r.body?.cancel();
      return;
    } catch {
      await sleep(100);
    }
  }
  await stopChild(child);
  throw new Error(`${what} did not answer on ${url} within 10 s: ${stderr().slice(-2000)}`);
}

/** nginx, single process (master_process off), pinned, logs off. Null when nginx is not installed. */
export async function startNginx(): Promise<Target | null> {
  const bin = which('nginx');
  if (!bin) return null;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'chaoskit-bench-nginx-'));
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / { default_type text/plain; return 200 "ok\\n"; }
  }
}
`,
  );
  // nginx has no deadline of its own: `timeout` ends it after 15 minutes even if this process
  // dies without stopping it (SIGTERM to timeout's PID is passed on to nginx).
  const nginxArgs = ['-e', join(dir, 'error.log'), '-p', dir, '-c', conf];
  const timeoutBin = which('timeout');
  const [cmd, args] = timeoutBin
    ? pinned(TARGET_CORE, timeoutBin, ['--kill-after=5', '900', bin, ...nginxArgs])
    : pinned(TARGET_CORE, bin, nginxArgs);
  const child = track(spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const url = `http://127.0.0.1:${port}`;
  await waitUp(`${url}/`, child, 'nginx', () => err);
  return {
    url,
    kind: 'nginx',
    describe: `nginx (${bin}, 1 process, return 200) on core ${TARGET_CORE}`,
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The Node target (bench/workers/target.ts), pinned. `stall`: every 10 s of wall clock, responses
 * to requests arriving in the last second of the ten are held until that second ends.
 */
export async function startNodeTarget(mode: 'ok' | 'stall'): Promise<Target> {
  const port = await freePort();
  const script = fileURLToPath(new URL('../workers/target.ts', import.meta.url));
  const [cmd, args] = pinned(TARGET_CORE, process.execPath, ['--import', TSX_IMPORT, script]);
  const child = track(
    spawn(cmd, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, BENCH_ARGS: JSON.stringify({ port, mode }) },
    }),
  );
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const url = `http://127.0.0.1:${port}`;
  await waitUp(`${url}/`, child, 'node target', () => err);
  return {
    url,
    kind: mode === 'ok' ? 'node' : 'node-stall',
    describe:
      mode === 'ok'
        ? `Node ${process.version} http server on core ${TARGET_CORE}`
        : `Node http server on core ${TARGET_CORE} holding responses for 1 s out of every 10 s`,
    stop: () => stopChild(child),
  };
}

/** The fastest target available: nginx, else Node. */
export async function startFastTarget(): Promise<Target> {
  return (await startNginx()) ?? (await startNodeTarget('ok'));
}
