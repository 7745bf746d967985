/**
 * Scale-out in simulated time: N segment hosts (the real SegmentHost with the simulated target of
 * test/helpers/sim-engine.ts) joined to the coordinator's ScaleEngine by in-process channels that
 * carry JSON (parsed at the boundary like the HTTP transport) with a one-way delay on the SimClock.
 */
import type { EngineContext } from '../../src/load/engine.ts';
import type { SegmentLink } from '../../src/scale/engine.ts';
import { parseFromSegment, parseToSegment, type FromSegment } from '../../src/scale/protocol.ts';
import { SegmentHost } from '../../src/scale/segment.ts';
import type { SimClock } from '../helpers/sim-clock.ts';
import { SimLoad, type TargetModel } from '../helpers/sim-engine.ts';

export interface SimSegments {
  links: SegmentLink[];
  hosts: SegmentHost[];
  /** How each segment ended (code and why), by index. */
  ends: Map<number, { code: number; why: string; atMs: number }>;
  /** SIGKILL: the process is gone; its channel closes (the coordinator hears it at once). */
  kill(i: number): void;
  /** SIGSTOP: nothing flows either way until resume(); the channel stays open. */
  stall(i: number): void;
  resume(i: number): void;
  /** Segment i's engine (to look at its store). */
  loads: SimLoad[];
}

export function simSegments(
  n: number,
  model: TargetModel,
  clock: SimClock,
  o: { delayMs?: number; version?: string; clockSkewMs?: number } = {},
): SimSegments {
  const delay = o.delayMs ?? 1;
  const ends = new Map<number, { code: number; why: string; atMs: number }>();
  const loads: SimLoad[] = [];
  const stalled = new Set<number>();
  const dead = new Set<number>();
  const links: SegmentLink[] = [];
  const hosts: SegmentHost[] = [];
  for (let i = 0; i < n; i++) {
    let closed = false;
    const link: SegmentLink = {
      index: i,
      host: `sim-${i}`,
      offsetMs: o.clockSkewMs ?? 0,
      rttMs: 2 * delay,
      onMessage: null,
      onClose: null,
      send(m) {
        if (closed || dead.has(i)) return;
        const wire = JSON.stringify(m);
        clock.setTimeout(() => {
          if (closed || stalled.has(i) || dead.has(i)) return;
          const parsed = parseToSegment(JSON.parse(wire));
          if (typeof parsed === 'string') throw new Error(parsed);
          host.receive(parsed);
        }, delay);
      },
      close() {
        if (closed) return;
        closed = true;
        // The segment hears its channel close (unless it is frozen: then when it resumes).
        clock.setTimeout(() => {
          if (!stalled.has(i) && !dead.has(i)) host.coordinatorLost('the coordinator closed the connection');
        }, delay);
      },
    };
    const host: SegmentHost = new SegmentHost({
      clock,
      host: `sim-${i}`,
      ...(o.version ? { version: o.version } : {}),
      createEngine: (ctx: EngineContext) => {
        const l = new SimLoad(ctx, model);
        loads[i] = l;
        return l;
      },
      send(m: FromSegment) {
        if (closed || dead.has(i) || stalled.has(i)) return;
        const wire = JSON.stringify(m);
        clock.setTimeout(() => {
          if (closed) return;
          const parsed = parseFromSegment(JSON.parse(wire));
          if (typeof parsed === 'string') throw new Error(`segment ${i}: ${parsed}`);
          link.onMessage?.(parsed);
        }, delay);
      },
      onEnd: (code, why) => ends.set(i, { code, why, atMs: clock.now() }),
    });
    links.push(link);
    hosts.push(host);
  }
  return {
    links,
    hosts,
    ends,
    loads,
    kill(i) {
      dead.add(i);
      // A killed process sends nothing more; its in-flight requests are simply gone.
      loads[i]?.stop();
      clock.setTimeout(() => links[i]!.onClose?.('the connection closed'), delay);
    },
    stall(i) {
      stalled.add(i);
    },
    resume(i) {
      stalled.delete(i);
      hosts[i]!.coordinatorLost('the coordinator closed the connection');
    },
  };
}
