/**
 * Reverting from a recipe alone (no memory of how the fault was applied), so the runner, the
 * guard and `chaos emergency-stop` all undo faults the same way. Idempotent: a fault that is
 * already gone counts as reverted.
 */
import { lstatSync, readFileSync } from 'node:fs';
import { holderManualRevert, holdersWithMark, killHolders } from './holder.ts';
import { manualRevert as proxyManual, revertProxy } from './proxy.ts';
import {
  findProcesses,
  isSameProcess,
  runRestart,
  signal,
  waitHealthy,
  type ProcessSelector,
} from './process.ts';
import { dockerManualRevert, dockerOf, revertDocker } from './docker.ts';
import { execOf, netnsManualRevert, placeAlive } from './netns.ts';
import { goneNote, revertNetnsCmd } from './netns-revert.ts';
import { verifiedTarget } from './env-ref.ts';
import { removeFillFile } from './fill.ts';
import type { ProxyRecipe, RestartRecipe, RevertRecipe, TargetIo } from './types.ts';

export type RevertOutcome = 'reverted' | 'already-gone';

export interface RevertOptions {
  /** Hears notes worth recording (a container removed by hand: "target gone"). */
  onNote?: (note: string) => void;
  /** Injected shell executor and Docker API (tests); the real ones when absent. */
  io?: TargetIo;
}

export async function revertRecipe(r: RevertRecipe, o: RevertOptions = {}): Promise<RevertOutcome> {
  switch (r.driver) {
    case 'docker':
    case 'netns-cmd': {
      const docker = dockerOf(o.io);
      const res =
        r.driver === 'docker'
          ? await revertDocker(r, docker)
          : await revertNetnsCmd(r, execOf(o.io), goneNote(docker));
      for (const n of res.notes) o.onNote?.(n);
      return res.outcome;
    }
    case 'proxy':
      return revertProxy(await checkedProxy(r));
    case 'process':
      return r.action === 'continue' ? continueProcesses(r.processes) : ensureRestarted(r);
    case 'holder':
      return killHolders(r.mark);
    case 'file':
      return removeFillFile(r.path, r.mark);
  }
}

/** A proxy API that is not on loopback must still be the environment's (re-read, re-hashed). */
async function checkedProxy(r: ProxyRecipe): Promise<ProxyRecipe> {
  if (!r.environment) return r;
  const t = await verifiedTarget(r.environment);
  if (t.kind !== 'proxy' || t.api !== r.api || t.proxy !== r.proxy)
    throw new Error(
      `proxy ${r.proxy} at ${r.api} is not target ${r.environment.target} of ${r.environment.file}; not reverting through it`,
    );
  return { ...r, ...(t.token ? { token: t.token } : {}) };
}

/** What a person would run by hand when the revert fails. */
export function manualRevertFor(r: RevertRecipe): string {
  switch (r.driver) {
    case 'proxy':
      return proxyManual(r);
    case 'process':
      return r.action === 'continue'
        ? r.processes.map((p) => `kill -CONT ${p.pid}`).join('; ')
        : r.environment
          ? `start target ${r.environment.target} again (its restart command in ${r.environment.file})`
          : `start the process (${describeFind(r.find)}) again`;
    case 'holder':
      return holderManualRevert(r.mark);
    case 'file':
      return `rm -f '${r.path}'`;
    case 'docker':
      return dockerManualRevert(r);
    case 'netns-cmd':
      return netnsManualRevert(r);
  }
}

async function continueProcesses(
  list: { pid: number; startTime: number; command: string }[],
): Promise<RevertOutcome> {
  let any = false;
  for (const p of list) {
    if (!isSameProcess(p)) continue; // exited or PID recycled: nothing of ours to continue
    if (!signal(p, 'SIGCONT')) throw new Error(`could not send SIGCONT to pid ${p.pid}`);
    any = true;
  }
  return any ? 'reverted' : 'already-gone';
}

const describeFind = (f: ProcessSelector) =>
  f.pidFile
    ? `pidFile ${f.pidFile}`
    : f.argv
      ? `argv ${JSON.stringify(f.argv)}`
      : `match ${JSON.stringify(f.match)}`;

/**
 * After a crash: running again (a supervisor may have brought it back) and healthy counts as
 * reverted; otherwise the restart command is run, taken only from the environment file the
 * run used, after checking that the file is unchanged.
 */
async function ensureRestarted(r: RestartRecipe): Promise<RevertOutcome> {
  let find: ProcessSelector = r.find;
  let health = r.health;
  let restart: string | undefined;
  if (r.environment) {
    const t = await verifiedTarget(r.environment);
    if (t.kind !== 'process')
      throw new Error(`target ${r.environment.target} of ${r.environment.file} is not a process target`);
    find = { match: t.match, argv: t.argv, pidFile: t.pidFile, anyUser: t.anyUser };
    health = t.health;
    restart = t.restart;
  }
  const killed = new Set(r.killed.map((k) => `${k.pid}:${k.startTime}`));
  const running = () => {
    try {
      return findProcesses({ ...find, expect: 'any' }).filter((p) => !killed.has(`${p.pid}:${p.startTime}`));
    } catch {
      return [];
    }
  };
  // A supervisor may already have brought it back.
  const deadline = performance.now() + 3_000;
  while (running().length === 0 && performance.now() < deadline)
    await new Promise((res) => setTimeout(res, 100));
  if (running().length > 0) {
    if (health && (await waitHealthy(health, 30_000)) === null)
      throw new Error(`the process is running but ${health} is not healthy`);
    return 'reverted';
  }
  if (!restart) {
    throw new Error(
      `the process (${describeFind(find)}) is not running and ${
        r.environment
          ? `target ${r.environment.target} in ${r.environment.file} gives no restart command`
          : 'the run recorded no environment file to take a restart command from'
      }`,
    );
  }
  runRestart(restart);
  if (health) {
    if ((await waitHealthy(health, 30_000)) === null)
      throw new Error(`ran "${restart}" but ${health} did not become healthy within 30s`);
  }
  return 'reverted';
}

export type Effect = 'in-effect' | 'gone' | 'unknown';

/**
 * Is the fault still in effect, judged from the world (never changing it)? `gone` when a toxic
 * expired by lease, a holder passed its deadline, a paused process runs (or exited), a fill file
 * was removed, a container is back; `unknown` when it cannot be told (an unreachable proxy or
 * Docker engine, network rules that need root to list).
 */
export async function faultEffect(r: RevertRecipe, io?: TargetIo): Promise<Effect> {
  try {
    switch (r.driver) {
      case 'proxy': {
        const p = await checkedProxy(r);
        const url = `${p.api}/proxies/${encodeURIComponent(p.proxy)}/toxics/${encodeURIComponent(p.toxic)}`;
        const res = await fetch(url, {
          headers: p.token ? { authorization: `Bearer ${p.token}` } : {},
          signal: AbortSignal.timeout(3_000),
        });
        await res.body?.cancel();
        return res.status === 404 ? 'gone' : res.ok ? 'in-effect' : 'unknown';
      }
      case 'holder':
        return holdersWithMark(r.mark).length === 0 ? 'gone' : 'in-effect';
      case 'process':
        if (r.action === 'continue')
          return r.processes.some((p) => isSameProcess(p) && processState(p.pid) === 'T')
            ? 'in-effect'
            : 'gone';
        return 'unknown'; // whether it runs again needs the environment; the revert itself checks that
      case 'file':
        try {
          lstatSync(r.path);
          return 'in-effect';
        } catch (err) {
          return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : 'unknown';
        }
      case 'docker': {
        const docker = dockerOf(io);
        const refs = r.action === 'reconnect' ? r.endpoints : r.containers;
        let effect: Effect = 'gone';
        for (const ref of refs) {
          const c = await docker.inspect(ref.id);
          if (!c) continue;
          const undone =
            r.action === 'reconnect'
              ? Object.hasOwn(c.networks, r.network)
              : r.action === 'unpause'
                ? !c.paused
                : c.running && !c.paused;
          if (!undone) effect = 'in-effect';
        }
        return effect;
      }
      case 'netns-cmd':
        return r.places.every((p) => !placeAlive(p.enter)) ? 'gone' : 'unknown';
    }
  } catch {
    return 'unknown';
  }
}

function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}
