import { InputError } from '../core/errors.ts';

/** The demo system's loopback ports; each can be moved with an environment variable. */
export interface DemoPorts {
  api: number;
  dependency: number;
  /** Where the fault proxy listens for the api → dependency hop. */
  hop: number;
  /** The fault proxy's Toxiproxy-compatible API. */
  proxyApi: number;
  /** The inference service's gRPC port, and where the fault proxy listens in front of it. */
  inferenceGrpc: number;
  inferenceGrpcHop: number;
  /** The inference service's HTTP (SSE) port, and the fault proxy's listener in front of it. */
  inferenceHttp: number;
  inferenceHttpHop: number;
}

export const DEMO_PORT_VARS = {
  api: 'CHAOSKIT_DEMO_API_PORT',
  dependency: 'CHAOSKIT_DEMO_DEPENDENCY_PORT',
  hop: 'CHAOSKIT_DEMO_HOP_PORT',
  proxyApi: 'CHAOSKIT_DEMO_PROXY_API_PORT',
  inferenceGrpc: 'CHAOSKIT_DEMO_INFERENCE_UPSTREAM_PORT',
  inferenceGrpcHop: 'CHAOSKIT_DEMO_INFERENCE_PORT',
  inferenceHttp: 'CHAOSKIT_DEMO_INFERENCE_HTTP_UPSTREAM_PORT',
  inferenceHttpHop: 'CHAOSKIT_DEMO_INFERENCE_HTTP_PORT',
} as const;

export const DEFAULT_DEMO_PORTS: DemoPorts = {
  api: 8080,
  dependency: 8081,
  hop: 8666,
  proxyApi: 8474,
  inferenceGrpc: 50052,
  inferenceGrpcHop: 50051,
  inferenceHttp: 8092,
  inferenceHttpHop: 8091,
};

/**
 * The ports, from the environment where set. Each must be a port number of its own: a value that
 * is not one, or two services on one port, is invalid input naming the variables (a shared port
 * would otherwise surface as one service failing with "address in use").
 */
export function demoPorts(env: NodeJS.ProcessEnv = process.env): DemoPorts {
  const out = { ...DEFAULT_DEMO_PORTS };
  const entries = Object.entries(DEMO_PORT_VARS) as [keyof DemoPorts, string][];
  for (const [k, v] of entries) {
    const raw = env[v];
    if (!raw) continue;
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new InputError(`${v} must be a port number from 1 to 65535, got ${JSON.stringify(raw)}`);
    out[k] = port;
  }
  const byPort = new Map<number, string>();
  for (const [k, v] of entries) {
    const other = byPort.get(out[k]);
    if (other)
      throw new InputError(
        `${other} and ${v} are both ${out[k]}: each demo service needs a port of its own (unset one, or move it)`,
      );
    byPort.set(out[k], env[v] ? v : `${v} (default)`);
  }
  return out;
}
