/**
 * Reverting a netns-cmd recipe from its data alone (runner, guard and emergency-stop alike): run
 * each place's undo commands, sweep anything still carrying the fault's mark (iptables comment,
 * qdisc handle), and check that nothing is left. A namespace that is gone took its rules with
 * it: that is noted ("target gone"), not a failure, and the other places are still reverted.
 */
import type { DockerApi } from './docker.ts';
import { run, type Executor } from './exec.ts';
import { IPTABLES, inNetns, placeAlive, qdiscDel, qdiscHandle } from './netns.ts';
import type { NetnsCmdRecipe, NetnsEnter } from './types.ts';

export type GoneNote = (enter: NetnsEnter) => Promise<string>;

/** Runs every place's undo list, sweeps anything still carrying the mark, and checks none is left. */
export async function revertNetnsCmd(
  r: NetnsCmdRecipe,
  exec: Executor,
  gone: GoneNote,
): Promise<{ outcome: 'reverted' | 'already-gone'; notes: string[] }> {
  const notes: string[] = [];
  const failed: string[] = [];
  let changed = false;
  for (const p of r.places) {
    if (!placeAlive(p.enter)) {
      notes.push(await gone(p.enter));
      continue;
    }
    try {
      for (const argv of p.undo) if ((await exec(inNetns(p.enter, argv))).code === 0) changed = true;
      const tools = new Set(p.undo.map((a) => a[0]));
      if (tools.has('iptables') && (await sweepRules(exec, p.enter, r.mark)) > 0) changed = true;
      if (tools.has('tc') && (await sweepQdiscs(exec, p.enter, r.mark)) > 0) changed = true;
      const left = await leftovers(exec, p.enter, r.mark, tools);
      if (left.length > 0) failed.push(`${placeName(p.enter)} still has ${left.join('; ')}`);
    } catch (err) {
      if (!placeAlive(p.enter)) notes.push(await gone(p.enter));
      else failed.push(`${placeName(p.enter)}: ${(err as Error).message}`);
    }
  }
  if (failed.length > 0) throw new Error(failed.join('; '));
  return { outcome: changed ? 'reverted' : 'already-gone', notes };
}

const placeName = (e: NetnsEnter) =>
  'netns' in e
    ? `namespace ${e.netns}`
    : e.container
      ? `container ${e.container.name}`
      : `pid ${e.pid}'s namespace`;

/** The filter table's rules carrying `mark`, as `-A ...` argv. */
async function markedRules(exec: Executor, enter: NetnsEnter, mark: string): Promise<string[][]> {
  const out = await run(exec, inNetns(enter, [...IPTABLES, '-S']));
  return out
    .split('\n')
    .filter((l) => l.startsWith('-A ') && splitArgs(l).includes(mark))
    .map(splitArgs);
}

async function sweepRules(exec: Executor, enter: NetnsEnter, mark: string): Promise<number> {
  let n = 0;
  for (const rule of (await markedRules(exec, enter, mark)).slice(0, 200)) {
    if ((await exec(inNetns(enter, [...IPTABLES, '-D', ...rule.slice(1)]))).code === 0) n++;
  }
  return n;
}

async function ourQdiscs(exec: Executor, enter: NetnsEnter, mark: string): Promise<string[]> {
  const handle = qdiscHandle(mark);
  const qs = JSON.parse(await run(exec, inNetns(enter, ['tc', '-j', 'qdisc', 'show']))) as {
    dev: string;
    handle: string;
    root?: boolean;
  }[];
  return qs.filter((q) => q.root && q.handle === handle).map((q) => q.dev);
}

async function sweepQdiscs(exec: Executor, enter: NetnsEnter, mark: string): Promise<number> {
  let n = 0;
  for (const dev of await ourQdiscs(exec, enter, mark))
    if ((await exec(inNetns(enter, qdiscDel(dev, qdiscHandle(mark))))).code === 0) n++;
  return n;
}

async function leftovers(
  exec: Executor,
  enter: NetnsEnter,
  mark: string,
  tools: Set<string | undefined>,
): Promise<string[]> {
  const left: string[] = [];
  if (tools.has('iptables'))
    left.push(...(await markedRules(exec, enter, mark)).map((r) => `rule ${r.join(' ')}`));
  if (tools.has('tc'))
    left.push(...(await ourQdiscs(exec, enter, mark)).map((d) => `qdisc ${qdiscHandle(mark)} on ${d}`));
  return left;
}

/** `iptables -S` output words; the only quoting it uses is double quotes around comments. */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g))
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return out;
}

/** What a revert notes when a place's namespace is gone: removed container, restarted one, or deleted namespace. */
export function goneNote(docker: DockerApi): GoneNote {
  return async (enter) => {
    if ('netns' in enter)
      return `target gone: network namespace ${enter.netns} no longer exists; its rules went with it`;
    const c = enter.container;
    if (!c)
      return `target gone: pid ${enter.pid} exited; its network namespace and the rules in it went with it`;
    const now = await docker.inspect(c.id).catch(() => undefined);
    return now === null
      ? `target gone: container ${c.name} (${c.id.slice(0, 12)}) no longer exists; its network namespace and the rules in it went with it`
      : `target gone: container ${c.name} stopped or restarted since (new network namespace); the rules went with the old one`;
  };
}
