/** A recording executor and an in-memory Docker API, for command-line tests that need no root. */
import type { ExecResult, Executor } from '../../src/targets/exec.ts';
import type { ContainerInfo, DockerApi } from '../../src/targets/docker.ts';
import { processStartTime } from '../../src/targets/process.ts';

export type Responder = (argv: readonly string[]) => Partial<ExecResult> | undefined;

/** Runs nothing: records each argv and answers from `responders` (first match), else exit 0 with no output. */
export function fakeExec(...responders: Responder[]): Executor & { calls: string[][] } {
  const calls: string[][] = [];
  const exec = (async (argv: readonly string[]) => {
    calls.push([...argv]);
    for (const r of responders) {
      const out = r(argv);
      if (out) return { code: 0, stdout: '', stderr: '', ...out };
    }
    return { code: 0, stdout: '', stderr: '' };
  }) as Executor & { calls: string[][] };
  exec.calls = calls;
  return exec;
}

/** Answers argv that ends with `tail` (after the nsenter prefix). */
export const on =
  (tail: string, out: Partial<ExecResult> | (() => Partial<ExecResult>)): Responder =>
  (argv) =>
    argv.join(' ').endsWith(tail) ? (typeof out === 'function' ? out() : out) : undefined;

/** Containers whose init process is this test process: alive, so namespaces count as present. */
export function container(name: string, o: Partial<ContainerInfo> = {}): ContainerInfo {
  return {
    id: `${name}-id`.padEnd(64, '0'),
    name,
    status: 'running',
    running: true,
    paused: false,
    pid: process.pid,
    local: true,
    startedAt: '2026-01-01T00:00:00Z',
    restartPolicy: 'no',
    networks: { bridge: { ipv4: '172.17.0.9', aliases: [] } },
    ...o,
  };
}

export const selfStartTime = () => processStartTime(process.pid)!;

export function fakeDocker(list: ContainerInfo[], labels: Record<string, Record<string, string>> = {}) {
  const calls: string[] = [];
  const byId = new Map(list.map((c) => [c.id, c]));
  const find = (x: string) => [...byId.values()].find((c) => c.id === x || c.name === x) ?? null;
  const api: DockerApi & { calls: string[]; remove(name: string): void; failOn?: string } = {
    calls,
    remove: (name) => void byId.delete(find(name)!.id),
    ping: async () => {},
    listRunning: async (want) =>
      [...byId.values()]
        .filter((c) => c.running && Object.entries(want).every(([k, v]) => labels[c.name]?.[k] === v))
        .map((c) => c.id),
    inspect: async (x) => {
      const c = find(x);
      return c ? { ...c, networks: { ...c.networks } } : null;
    },
    networkHasUserSubnet: async (n) => n.startsWith('fixed'),
    kill: async (id, s) => void calls.push(`kill ${find(id)!.name} ${s}`),
    stop: async (id, g) => {
      calls.push(`stop ${find(id)!.name} ${g}`);
      Object.assign(find(id)!, { running: false, status: 'exited' });
    },
    start: async (id) => {
      if (api.failOn === find(id)!.name) throw new Error('engine said no');
      calls.push(`start ${find(id)!.name}`);
      Object.assign(find(id)!, { running: true, status: 'running' });
    },
    restart: async (id, g) => void calls.push(`restart ${find(id)!.name} ${g}`),
    pause: async (id) => {
      calls.push(`pause ${find(id)!.name}`);
      Object.assign(find(id)!, { paused: true, status: 'paused' });
    },
    unpause: async (id) => {
      calls.push(`unpause ${find(id)!.name}`);
      Object.assign(find(id)!, { paused: false, status: 'running' });
    },
    disconnect: async (n, id) => {
      calls.push(`disconnect ${n} ${find(id)!.name}`);
      delete find(id)!.networks[n];
    },
    connect: async (n, id, e) => {
      calls.push(`connect ${n} ${find(id)!.name} ${JSON.stringify(e)}`);
      find(id)!.networks[n] = { ipv4: e.ipv4 ?? '', aliases: e.aliases };
    },
  };
  return api;
}
