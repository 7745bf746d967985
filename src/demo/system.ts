/**
 * The built-in demo system, all on loopback:
 *
 *   load ──> api (own process, :8080) ──> fault proxy hop (:8666) ──> dependency (:8081)
 *                                             ▲ Toxiproxy-compatible API (:8474)
 *   load ──> fault proxy (:50051 gRPC, :8091 SSE) ──> inference (:50052, :8092; src/demo/inference.ts)
 *
 * The supervisor (this module) runs the dependency and the fault proxy in-process and the api
 * as a child process it restarts when it dies, so crash faults have something to crash.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type http from 'node:http';
import { InputError } from '../core/errors.ts';
import { startProxyServer, type ProxyServer } from '../proxy/server.ts';
import { CLI_BIN } from '../core/paths.ts';
import { demoSlowdown } from './api.ts';
import { startDependency } from './dependency.ts';
import { startDemoInference, type InferenceService } from './inference.ts';
import type { DemoPorts } from './ports.ts';

export const DEMO_PROXY_NAME = 'dependency';

export interface DemoSystemEvents {
  log: [line: string];
}

export class DemoSystem extends EventEmitter<DemoSystemEvents> {
  private api: ChildProcess | null = null;
  private stopping = false;
  /** The inference-like service (gRPC + SSE) behind its own fault proxies; see inference.ts. */
  private inference: InferenceService | null = null;
  restarts = 0;

  private constructor(
    readonly ports: DemoPorts,
    private readonly dependency: http.Server,
    private readonly proxy: ProxyServer,
  ) {
    super();
  }

  static async start(ports: DemoPorts, opts: { workMs?: number } = {}): Promise<DemoSystem> {
    demoSlowdown(); // a bad CHAOSKIT_DEMO_SLOWDOWN is said here, not as an api that never got healthy
    const dependency = await listenOrExplain('dependency', ports.dependency, () =>
      startDependency({ port: ports.dependency, workMs: opts.workMs ?? 1 }),
    );
    let proxy: ProxyServer;
    try {
      proxy = await listenOrExplain('fault proxy API', ports.proxyApi, () =>
        startProxyServer({ host: '127.0.0.1', port: ports.proxyApi }),
      );
      await proxy.registry.createProxy({
        name: DEMO_PROXY_NAME,
        listen: `127.0.0.1:${ports.hop}`,
        upstream: `127.0.0.1:${ports.dependency}`,
        enabled: true,
      });
    } catch (err) {
      dependency.close();
      throw err;
    }
    const sys = new DemoSystem(ports, dependency, proxy);
    try {
      sys.inference = await startDemoInference(ports, proxy.registry);
      sys.spawnApi();
      await sys.waitHealthy(10_000);
      await sys.warmUp();
    } catch (err) {
      await sys.stop();
      throw err;
    }
    return sys;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.ports.api}`;
  }

  get apiPid(): number | undefined {
    return this.api?.pid;
  }

  private spawnApi(): void {
    const child = spawn(
      process.execPath,
      [
        CLI_BIN,
        'demo-api',
        '--port',
        String(this.ports.api),
        '--dependency',
        `http://127.0.0.1:${this.ports.hop}`,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    this.api = child;
    child.once('exit', (code, signal) => {
      if (this.stopping) return;
      this.emit('log', `demo api exited (${signal ?? `code ${code}`}); restarting`);
      this.restarts++;
      setTimeout(() => {
        if (!this.stopping) this.spawnApi();
      }, 100).unref();
    });
  }

  async waitHealthy(timeoutMs: number): Promise<number> {
    const start = performance.now();
    while (performance.now() - start < timeoutMs) {
      try {
        const r = await fetch(`${this.apiUrl}/health`, { signal: AbortSignal.timeout(500) });
        if (r.ok) return performance.now() - start;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new InputError(`the demo api did not become healthy on ${this.apiUrl} within ${timeoutMs / 1000}s`);
  }

  /**
   * Sends a few hundred requests through the whole path (api → proxy → dependency) so that a
   * run's baseline measures a warm system, not the JIT compiling its first requests.
   */
  async warmUp(requests = 300, concurrency = 8): Promise<void> {
    let left = requests;
    const worker = async () => {
      while (left-- > 0) {
        const r = await fetch(`${this.apiUrl}/items/${left % 50}`, {
          signal: AbortSignal.timeout(2_000),
        }).catch(() => null);
        await r?.body?.cancel();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const api = this.api;
    if (api && api.exitCode === null && api.signalCode === null) {
      const exited = new Promise((r) => api.once('exit', r));
      api.kill('SIGTERM');
      const t = setTimeout(() => api.kill('SIGKILL'), 2_000);
      await exited;
      clearTimeout(t);
    }
    await this.inference?.close();
    await this.proxy.close();
    await new Promise<void>((r) => {
      this.dependency.closeAllConnections();
      this.dependency.close(() => r());
    });
  }
}

async function listenOrExplain<T>(what: string, port: number, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new InputError(
        `cannot start the demo ${what}: port ${port} on 127.0.0.1 is in use (another demo or Toxiproxy?). ` +
          'Stop it, or move the demo with CHAOSKIT_DEMO_API_PORT, CHAOSKIT_DEMO_DEPENDENCY_PORT, CHAOSKIT_DEMO_HOP_PORT and CHAOSKIT_DEMO_PROXY_API_PORT.',
      );
    }
    throw err;
  }
}
