/**
 * Exact merging of finished seconds from several sources (workers, runners, streams): counts add,
 * histograms add (HdrHistogram addition, never averaged percentiles), and summaries are recomputed
 * from the merged histograms. Merging is associative and commutative, so the order in which
 * sources ship their seconds does not matter.
 */
import { addCounts } from './counts.ts';
import type { StreamSecond } from './stream-metrics.ts';
import { decode, encode, newHistogram, summarize, type Histogram } from '../core/hist.ts';
import type { PhaseName, PhaseSecond, SecondStats } from './store.ts';

function addHist(a: string | null, b: string | null): { h: Histogram | null; s: string | null } {
  if (a === null && b === null) return { h: null, s: null };
  const h = newHistogram();
  if (a) h.add(decode(a));
  if (b) h.add(decode(b));
  return { h, s: encode(h) };
}

function maxOf(a: number | undefined, b: number | undefined): number {
  return Math.max(a ?? 0, b ?? 0);
}

function mergeStream(a: StreamSecond | undefined, b: StreamSecond | undefined): StreamSecond | undefined {
  if (!a) return b;
  if (!b) return a;
  const first = addHist(a.firstEventHist, b.firstEventHist);
  // Gap summaries carry no histogram: the merged gaps are bounded by the worse of the two.
  const gap =
    a.gapMs && b.gapMs
      ? {
          p50: Math.max(a.gapMs.p50, b.gapMs.p50),
          p99: Math.max(a.gapMs.p99, b.gapMs.p99),
          max: Math.max(a.gapMs.max, b.gapMs.max),
        }
      : (a.gapMs ?? b.gapMs);
  return {
    events: a.events + b.events,
    completed: a.completed + b.completed,
    cut: a.cut + b.cut,
    firstEventMs: first.h ? summarize(first.h) : null,
    gapMs: gap,
    firstEventHist: first.s,
  };
}

/** Two sources' view of the same second, merged exactly. */
export function mergeSecond(a: SecondStats, b: SecondStats): SecondStats {
  if (a.t !== b.t) throw new Error(`cannot merge second ${a.t} with second ${b.t}`);
  const all = addHist(a.hist, b.hist);
  const failed = addHist(a.failedHist, b.failedHist);
  const phases: SecondStats['phases'] = { ...a.phases };
  for (const [name, p] of Object.entries(b.phases) as [PhaseName, PhaseSecond][]) {
    const q = phases[name];
    phases[name] = q
      ? {
          ok: q.ok + p.ok,
          failed: q.failed + p.failed,
          dropped: q.dropped + p.dropped,
          hist: addHist(q.hist, p.hist).s,
        }
      : p;
  }
  const byFaults: SecondStats['byFaults'] = { ...a.byFaults };
  for (const [k, v] of Object.entries(b.byFaults)) {
    const q = byFaults[k];
    byFaults[k] = q ? { sent: q.sent + v.sent, ok: q.ok + v.ok, failed: q.failed + v.failed } : v;
  }
  const stream = mergeStream(a.stream, b.stream);
  return {
    t: a.t,
    requested: a.requested + b.requested,
    sent: a.sent + b.sent,
    achieved: a.achieved + b.achieved,
    dropped: a.dropped + b.dropped,
    droppedStall: a.droppedStall + b.droppedStall,
    notSent: a.notSent + b.notSent,
    ok: a.ok + b.ok,
    failed: a.failed + b.failed,
    cancelled: a.cancelled + b.cancelled,
    errors: addCounts({ ...a.errors }, b.errors),
    status: addCounts({ ...a.status }, b.status) as Record<string, number>,
    latencyMs: all.h ? summarize(all.h) : null,
    // Service time and send lag have no histogram in a finished second: the worse source's stands.
    serviceMs:
      a.serviceMs && b.serviceMs
        ? a.serviceMs.p99 >= b.serviceMs.p99
          ? a.serviceMs
          : b.serviceMs
        : (a.serviceMs ?? b.serviceMs),
    sendLagMs:
      a.sendLagMs && b.sendLagMs
        ? { p99: Math.max(a.sendLagMs.p99, b.sendLagMs.p99), max: Math.max(a.sendLagMs.max, b.sendLagMs.max) }
        : (a.sendLagMs ?? b.sendLagMs),
    backlogMax: maxOf(a.backlogMax, b.backlogMax),
    inflightMax: a.inflightMax + b.inflightMax,
    generator:
      a.generator && b.generator
        ? {
            cpuPct: Math.max(a.generator.cpuPct, b.generator.cpuPct),
            eventLoopDelayP99Ms: Math.max(a.generator.eventLoopDelayP99Ms, b.generator.eventLoopDelayP99Ms),
            eventLoopDelayMaxMs: Math.max(a.generator.eventLoopDelayMaxMs, b.generator.eventLoopDelayMaxMs),
            saturated: a.generator.saturated || b.generator.saturated,
            reasons: [...new Set([...a.generator.reasons, ...b.generator.reasons])],
          }
        : (a.generator ?? b.generator),
    activeFaults: [...new Set([...a.activeFaults, ...b.activeFaults])].sort(),
    byFaults,
    phases,
    hist: all.s,
    failedHist: failed.s,
    ...(stream ? { stream } : {}),
  };
}

/** Timelines of several sources, merged second by second (missing seconds are empty). */
export function mergeTimelines(lists: readonly (readonly SecondStats[])[]): SecondStats[] {
  const out: SecondStats[] = [];
  for (const list of lists) for (const s of list) out[s.t] = out[s.t] ? mergeSecond(out[s.t]!, s) : s;
  return Array.from({ length: out.length }, (_, t) => out[t] ?? emptySecond(t));
}

export function emptySecond(t: number): SecondStats {
  return {
    t,
    requested: 0,
    sent: 0,
    achieved: 0,
    dropped: 0,
    droppedStall: 0,
    notSent: 0,
    ok: 0,
    failed: 0,
    cancelled: 0,
    errors: {},
    status: {},
    latencyMs: null,
    serviceMs: null,
    sendLagMs: null,
    backlogMax: 0,
    inflightMax: 0,
    generator: null,
    activeFaults: [],
    byFaults: {},
    phases: {},
    hist: null,
    failedHist: null,
  };
}
