/**
 * Per-profile outcomes: for each named request of a workload mix (load.requests[].name, a flow
 * step `FLOW.STEP`, or a gRPC call's name), its own accounting (requested = sent + dropped +
 * notSent, sent = ok + failed + cancelled), errors by kind (checks with their messages), latency
 * from the intended (due) time, the same by phase (exposure, for per-profile objectives), and for
 * streams the time to first event, gaps and cut streams. Engines record by profile index;
 * MetricsStore owns one recorder.
 */
import type { ErrorKind } from '../core/error-kinds.ts';
import { decode, encode, newHistogram, recordMs, summarize, type Histogram } from '../core/hist.ts';
import { addCounts, PhaseAcc } from './counts.ts';
import type { PhaseName } from './store.ts';

type Summary = { p50: number; p90?: number; p95?: number; p99: number; max: number };

export interface ProfileStats {
  sent: number;
  ok: number;
  failed: number;
  latencyMs: Summary | null;
  /** Latency HdrHistogram (µs), compressed base64. */
  hist: string | null;
  /** The flow and step this profile is (absent for a request of the mix). */
  flow?: string;
  step?: string;
  requested?: number;
  dropped?: number;
  notSent?: number;
  cancelled?: number;
  errors?: Partial<Record<ErrorKind, number>>;
  /** Failed checks (kind `check`) by message: expectations missed, values unset. */
  checks?: Record<string, number>;
  /** Captures that found nothing in an answer, by variable. */
  captureMisses?: Record<string, number>;
  phases?: Partial<Record<PhaseName, { ok: number; failed: number; dropped: number; hist: string | null }>>;
  /** Streamed answers (SSE): time to first event, gaps between events, streams completed and cut. */
  stream?: {
    firstEventMs: Summary | null;
    gapMs: Summary | null;
    completed: number;
    cut: number;
    firstEventHist?: string | null;
    gapHist?: string | null;
  };
}

/** One named request's or step's last second, for the live view. */
export interface LiveProfile {
  name: string;
  flow?: string;
  step?: string;
  sent: number;
  ok: number;
  failed: number;
  /** Latency (from the due time) of what ended; null when nothing did. */
  latencyMs: ReturnType<typeof summarize>;
}

/** At most this many distinct check messages are kept per profile (the rest count as one). */
const MAX_MESSAGES = 20;

class Entry {
  requested = 0;
  sent = 0;
  ok = 0;
  failed = 0;
  dropped = 0;
  notSent = 0;
  cancelled = 0;
  errors: Partial<Record<ErrorKind, number>> = {};
  checks: Record<string, number> = {};
  captureMisses: Record<string, number> = {};
  latency = newHistogram();
  phases: Partial<Record<PhaseName, PhaseAcc>> = {};
  first: Histogram | null = null;
  gap: Histogram | null = null;
  completedStreams = 0;
  cut = 0;
  /** Since the last live look (takeLive): sent, ended, and the latency of what ended. */
  liveSent = 0;
  liveOk = 0;
  liveFailed = 0;
  live: Histogram | null = null;
  constructor(
    readonly name: string,
    readonly flow: string | null,
    readonly step: string | null,
  ) {}
}

export class ProfileRecorder {
  private entries: Entry[] = [];

  /** Declares the profiles, in the engine's index order. Unnamed ones get `#i` or their method/path. */
  define(names: readonly string[], flows?: readonly { flow: string | null; step: string | null }[]): void {
    this.entries = names.map(
      (name, i) => new Entry(name, flows?.[i]?.flow ?? null, flows?.[i]?.step ?? null),
    );
  }

  /** True when profiles were defined (engines skip the per-profile work otherwise). */
  get active(): boolean {
    return this.entries.length > 0;
  }

  arrival(i: number): void {
    const e = this.entries[i];
    if (e) e.requested++;
  }

  sent(i: number): void {
    const e = this.entries[i];
    if (!e) return;
    e.sent++;
    e.liveSent++;
  }

  dropped(i: number, phase: PhaseName | null): void {
    const e = this.entries[i];
    if (!e) return;
    e.dropped++;
    if (phase) (e.phases[phase] ??= new PhaseAcc()).dropped++;
  }

  notSent(i: number): void {
    const e = this.entries[i];
    if (e) e.notSent++;
  }

  cancelled(i: number): void {
    const e = this.entries[i];
    if (e) e.cancelled++;
  }

  result(
    i: number,
    latencyMs: number,
    ok: boolean,
    kind: ErrorKind | null = null,
    phase: PhaseName | null = null,
  ): void {
    const e = this.entries[i];
    if (!e) return;
    if (ok) {
      e.ok++;
      e.liveOk++;
    } else {
      e.failed++;
      e.liveFailed++;
      if (kind) e.errors[kind] = (e.errors[kind] ?? 0) + 1;
    }
    recordMs(e.latency, latencyMs);
    recordMs((e.live ??= newHistogram()), latencyMs);
    if (phase) {
      const p = (e.phases[phase] ??= new PhaseAcc());
      if (ok) p.ok++;
      else p.failed++;
      recordMs((p.hist ??= newHistogram()), latencyMs);
    }
  }

  /** A failed check's message (the outcome itself is recorded by result()). */
  check(i: number, message: string): void {
    const e = this.entries[i];
    if (!e) return;
    const known = Object.hasOwn(e.checks, message);
    const key = known || Object.keys(e.checks).length < MAX_MESSAGES ? message : 'other check failures';
    e.checks[key] = (e.checks[key] ?? 0) + 1;
  }

  captureMiss(i: number, names: readonly string[]): void {
    const e = this.entries[i];
    if (!e) return;
    for (const n of names) e.captureMisses[n] = (e.captureMisses[n] ?? 0) + 1;
  }

  streamFirst(i: number, ms: number): void {
    const e = this.entries[i];
    if (e) recordMs((e.first ??= newHistogram()), ms);
  }

  streamGap(i: number, ms: number): void {
    const e = this.entries[i];
    if (e) recordMs((e.gap ??= newHistogram()), ms);
  }

  streamEnd(i: number, cut: boolean): void {
    const e = this.entries[i];
    if (!e) return;
    if (cut) e.cut++;
    else e.completedStreams++;
  }

  /**
   * What each profile sent and what ended since the last call (by the time it ended), by name in
   * definition order; empty when nothing was defined. For the live view (the dashboard's per-request
   * and per-step rows); results.json's figures are summary()'s.
   */
  takeLive(): LiveProfile[] {
    const out = new Map<string, { p: LiveProfile; h: Histogram | null }>();
    for (const e of this.entries) {
      let x = out.get(e.name);
      if (!x) {
        const p: LiveProfile = { name: e.name, sent: 0, ok: 0, failed: 0, latencyMs: null };
        if (e.flow !== null) p.flow = e.flow;
        if (e.step !== null) p.step = e.step;
        out.set(e.name, (x = { p, h: null }));
      }
      x.p.sent += e.liveSent;
      x.p.ok += e.liveOk;
      x.p.failed += e.liveFailed;
      if (e.live && e.live.totalCount > 0) {
        if (x.h) x.h.add(e.live);
        else x.h = e.live;
      }
    }
    const list = [...out.values()].map(({ p, h }) => ({ ...p, latencyMs: h ? summarize(h) : null }));
    for (const e of this.entries) {
      e.liveSent = e.liveOk = e.liveFailed = 0;
      e.live?.reset();
    }
    return list;
  }

  /** By name; profiles that share a name are merged. Null when nothing was defined. */
  summary(): Record<string, ProfileStats> | null {
    if (this.entries.length === 0) return null;
    const merged = new Map<string, Entry>();
    for (const e of this.entries) {
      const m = merged.get(e.name);
      if (!m) {
        const c = new Entry(e.name, e.flow, e.step);
        mergeInto(c, e);
        merged.set(e.name, c);
      } else mergeInto(m, e);
    }
    const out: Record<string, ProfileStats> = {};
    for (const [name, e] of merged) out[name] = stats(e);
    return out;
  }

  /** Adds another process's summary (scale-out: a worker's or a runner's): counts and histograms add. */
  merge(summary: Record<string, ProfileStats>): void {
    for (const [name, p] of Object.entries(summary)) mergeInto(this.entryFor(name, p), fromStats(name, p));
  }

  private entryFor(name: string, p: ProfileStats): Entry {
    let e = this.entries.find((x) => x.name === name);
    if (!e) this.entries.push((e = new Entry(name, p.flow ?? null, p.step ?? null)));
    return e;
  }
}

function mergeInto(m: Entry, e: Entry): void {
  m.requested += e.requested;
  m.sent += e.sent;
  m.ok += e.ok;
  m.failed += e.failed;
  m.dropped += e.dropped;
  m.notSent += e.notSent;
  m.cancelled += e.cancelled;
  addCounts(m.errors, e.errors);
  addCounts(m.checks, e.checks);
  addCounts(m.captureMisses, e.captureMisses);
  m.latency.add(e.latency);
  for (const [p, x] of Object.entries(e.phases) as [PhaseName, PhaseAcc][]) {
    const t = (m.phases[p] ??= new PhaseAcc());
    t.ok += x.ok;
    t.failed += x.failed;
    t.dropped += x.dropped;
    if (x.hist) (t.hist ??= newHistogram()).add(x.hist);
  }
  if (e.first) (m.first ??= newHistogram()).add(e.first);
  if (e.gap) (m.gap ??= newHistogram()).add(e.gap);
  m.completedStreams += e.completedStreams;
  m.cut += e.cut;
}

/** A shipped summary back as an entry (its histograms decoded), so it merges like a local one. */
function fromStats(name: string, p: ProfileStats): Entry {
  const e = new Entry(name, p.flow ?? null, p.step ?? null);
  e.requested = p.requested ?? 0;
  e.sent = p.sent;
  e.ok = p.ok;
  e.failed = p.failed;
  e.dropped = p.dropped ?? 0;
  e.notSent = p.notSent ?? 0;
  e.cancelled = p.cancelled ?? 0;
  addCounts(e.errors, p.errors ?? {});
  addCounts(e.checks, p.checks ?? {});
  addCounts(e.captureMisses, p.captureMisses ?? {});
  if (p.hist) e.latency.add(decode(p.hist));
  for (const [ph, x] of Object.entries(p.phases ?? {}) as [
    PhaseName,
    NonNullable<ProfileStats['phases']>[PhaseName],
  ][]) {
    if (!x) continue;
    const acc = (e.phases[ph] = new PhaseAcc());
    acc.ok = x.ok;
    acc.failed = x.failed;
    acc.dropped = x.dropped;
    if (x.hist) (acc.hist = newHistogram()).add(decode(x.hist));
  }
  if (p.stream) {
    e.completedStreams = p.stream.completed;
    e.cut = p.stream.cut;
    if (p.stream.firstEventHist) (e.first = newHistogram()).add(decode(p.stream.firstEventHist));
    if (p.stream.gapHist) (e.gap = newHistogram()).add(decode(p.stream.gapHist));
  }
  return e;
}

function short(h: Histogram | null): Summary | null {
  const s = h && h.totalCount > 0 ? summarize(h) : null;
  return s ? { p50: s.p50, p90: s.p90, p95: s.p95, p99: s.p99, max: s.max } : null;
}

function stats(e: Entry): ProfileStats {
  const nonEmpty = <T extends object>(o: T) => Object.keys(o).length > 0;
  const phases: NonNullable<ProfileStats['phases']> = {};
  for (const [p, x] of Object.entries(e.phases) as [PhaseName, PhaseAcc][])
    phases[p] = { ok: x.ok, failed: x.failed, dropped: x.dropped, hist: x.hist ? encode(x.hist) : null };
  return {
    sent: e.sent,
    ok: e.ok,
    failed: e.failed,
    latencyMs: short(e.latency),
    hist: e.latency.totalCount > 0 ? encode(e.latency) : null,
    ...(e.flow !== null ? { flow: e.flow } : {}),
    ...(e.step !== null ? { step: e.step } : {}),
    requested: e.requested,
    dropped: e.dropped,
    notSent: e.notSent,
    cancelled: e.cancelled,
    ...(nonEmpty(e.errors) ? { errors: e.errors } : {}),
    ...(nonEmpty(e.checks) ? { checks: e.checks } : {}),
    ...(nonEmpty(e.captureMisses) ? { captureMisses: e.captureMisses } : {}),
    ...(nonEmpty(phases) ? { phases } : {}),
    ...(e.first || e.completedStreams || e.cut
      ? {
          stream: {
            firstEventMs: short(e.first),
            gapMs: short(e.gap),
            completed: e.completedStreams,
            cut: e.cut,
            firstEventHist: e.first && e.first.totalCount > 0 ? encode(e.first) : null,
            gapHist: e.gap && e.gap.totalCount > 0 ? encode(e.gap) : null,
          },
        }
      : {}),
  };
}

/** A profile's display name: its `name`, else a short description from the caller. */
export function profileNames(
  items: readonly { name?: string | undefined }[],
  describe: (i: number) => string,
): string[] {
  return items.map((r, i) => r.name ?? describe(i));
}
