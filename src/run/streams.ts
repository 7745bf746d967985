/**
 * Several load streams at once (`load:` as a list): each stream is a load of its own — its own
 * engine and MetricsStore, its own plan — on one timeline, with the run's fault windows shared
 * for attribution. The runner sees one LoadEngine either way: a single stream is passed through
 * untouched; several are driven together and their live views merged exactly.
 *
 *   stream i: Scenario(load = stream i) ─ engine i ─outcomes─> store i ──┐
 *   ticker: generator / fault marks to every store; live windows merged ──┴─> stop conditions, `second`
 *   end: each store's timeline (streams[] in results.json) ─mergeTimelines─> the run's timeline
 *
 * Listeners see each stream as well as the whole: a finished second comes once per stream (named)
 * and once for the run (stream null) when every stream has finished it; the live view carries
 * each stream's figures beside the merged ones, and each named request's or flow step's.
 */
import type { EngineContext, EngineDef, LoadEngine } from '../load/engine.ts';
import type { LoadOutcome } from '../load/open-model.ts';
import { mergeSecond, mergeTimelines } from '../metrics/merge.ts';
import {
  addWindowCounts,
  MetricsStore,
  type Exposure,
  type GeneratorStats,
  type LiveWindow,
  type SecondStats,
} from '../metrics/store.ts';
import type { Scenario } from '../input/load.ts';
import { streamScenario } from '../input/load.ts';
import { streamPlan, type RunPlan } from '../scenario/plan.ts';
import type { WarmUpReport } from '../load/warm-up.ts';
import { engines, type EngineName } from './engines.ts';
import type { ProfileProgress } from './events.ts';
import { liveSnapshot, type LiveSnapshot } from './live.ts';

/** A finished second of one stream (`stream` its name) or of the whole run (`stream` null). */
export interface FinishedSecond {
  stream: string | null;
  second: SecondStats;
}

export interface StreamUnit {
  /** The stream's name; null for a scenario with one load. */
  name: string | null;
  scenario: Scenario;
  plan: RunPlan;
  store: MetricsStore;
  engineName: EngineName;
  def: EngineDef;
  engine: LoadEngine | null;
}

/** One unit per stream (one for a single load), each with its own store attributing by `exposure`. */
export function streamUnits(
  s: Scenario,
  plan: RunPlan,
  exposure: Exposure,
  override: { engine?: EngineName; engineDef?: EngineDef },
): StreamUnit[] {
  if (!s.spec.multiStream) {
    const engineName = override.engine ?? s.spec.engine;
    const store = new MetricsStore();
    store.setExposure(exposure);
    return [
      {
        name: null,
        scenario: s,
        plan,
        store,
        engineName,
        def: override.engineDef ?? engines[engineName],
        engine: null,
      },
    ];
  }
  return s.spec.streams.map((st) => {
    const store = new MetricsStore();
    store.setExposure(exposure);
    return {
      name: st.name,
      scenario: streamScenario(s, st) as Scenario,
      plan: streamPlan(plan, st.name),
      store,
      engineName: st.engine,
      def: engines[st.engine],
      engine: null,
    };
  });
}

/** Creates every stream's engine (its own PRNG fork: one stream cannot shift another's picks). */
export function createEngines(
  units: readonly StreamUnit[],
  base: Omit<EngineContext, 'scenario' | 'plan' | 'store' | 'prng'> & { prng: EngineContext['prng'] },
  create?: (ctx: EngineContext) => LoadEngine,
): StreamSet {
  for (const u of units) {
    const ctx: EngineContext = {
      ...base,
      scenario: u.scenario,
      plan: u.plan,
      store: u.store,
      prng: base.prng.fork(u.name === null ? 'requests' : `requests:${u.name}`),
    };
    u.engine = (create ?? u.def.create)(ctx);
  }
  return new StreamSet(units);
}

/** Another stream's live window added to `into`: counts and latency. */
function addWindow(into: LiveWindow, w: LiveWindow): void {
  addWindowCounts(into, w);
  into.latency.add(w.latency);
}

/** The streams as one LoadEngine for the runner, and the per-store chores of the ticker. */
export class StreamSet implements LoadEngine {
  private readonly engines: LoadEngine[];
  constructor(readonly units: readonly StreamUnit[]) {
    this.engines = units.map((u) => u.engine!);
  }

  get single(): boolean {
    return this.units.length === 1;
  }

  now(): number {
    return this.engines[0]!.now();
  }

  get arrivalsThroughMs(): number {
    return Math.min(...this.engines.map((e) => e.arrivalsThroughMs));
  }

  async warmUp(): Promise<WarmUpReport | null> {
    const reports = (await Promise.all(this.engines.map((e) => e.warmUp()))).filter(
      (r): r is WarmUpReport => r !== null,
    );
    if (reports.length === 0) return null;
    if (reports.length === 1) return reports[0]!;
    return {
      requests: reports.reduce((n, r) => n + r.requests, 0),
      failed: reports.reduce((n, r) => n + r.failed, 0),
      durationMs: Math.max(...reports.map((r) => r.durationMs)),
      cutShort: reports.map((r) => r.cutShort).find((x) => x !== null) ?? null,
    };
  }

  async start(): Promise<LoadOutcome> {
    const outs = await Promise.all(this.engines.map((e) => e.start()));
    if (outs.length === 1) return outs[0]!;
    return {
      ended: outs.some((o) => o.ended === 'stopped') ? 'stopped' : 'completed',
      durationMs: Math.max(...outs.map((o) => o.durationMs)),
      sent: outs.reduce((n, o) => n + o.sent, 0),
      completed: outs.reduce((n, o) => n + o.completed, 0),
      dropped: outs.reduce((n, o) => n + o.dropped, 0),
      cancelled: outs.reduce((n, o) => n + o.cancelled, 0),
      notSent: outs.reduce((n, o) => n + o.notSent, 0),
    };
  }

  stop(): void {
    for (const e of this.engines) e.stop();
  }

  outstanding(visit: (intendedMs: number, sentMs: number | null) => void): void {
    for (const e of this.engines) e.outstanding(visit);
  }

  warnings(): string[] {
    return this.units.flatMap((u) =>
      u.engine!.warnings().map((w) => (u.name === null ? w : `stream ${u.name}: ${w}`)),
    );
  }

  timelineMs(planMs: number, ranMs: number): number {
    return Math.max(
      ...this.units.map((u) => u.engine!.timelineMs(u.name === null ? planMs : u.plan.durationMs, ranMs)),
    );
  }

  extras(): ReturnType<LoadEngine['extras']> {
    return this.single ? this.engines[0]!.extras() : {};
  }

  generator(second: number, g: GeneratorStats): void {
    for (const u of this.units) u.store.generator(second, g);
  }

  faultActive(second: number, ids: Iterable<string>): void {
    const list = [...ids];
    for (const u of this.units) u.store.faultActive(second, list);
  }

  /** Seconds finished by some streams but not yet all (several streams only): their sum so far. */
  private readonly partial = new Map<number, { sum: SecondStats; streams: number }>();

  /**
   * Finished seconds: each stream's own (named), and the run's (stream null) once every stream has
   * finished that second, merged exactly. One stream: only the run's.
   */
  finalizeReady(): FinishedSecond[] {
    if (this.single) {
      const u = this.units[0]!;
      return u.store.finalizeReady(u.engine!.arrivalsThroughMs).map((second) => ({ stream: null, second }));
    }
    const out: FinishedSecond[] = [];
    for (const u of this.units)
      for (const s of u.store.finalizeReady(u.engine!.arrivalsThroughMs)) {
        out.push({ stream: u.name, second: s });
        const before = this.partial.get(s.t);
        const sum = before ? mergeSecond(before.sum, s) : s;
        const streams = (before?.streams ?? 0) + 1;
        if (streams < this.units.length) {
          this.partial.set(s.t, { sum, streams });
          continue;
        }
        this.partial.delete(s.t);
        out.push({ stream: null, second: sum });
      }
    return out;
  }

  /**
   * The live view of the present over every stream (requests outstanding included, src/run/live.ts),
   * and each stream's own when there are several.
   */
  live(nowMs: number): {
    merged: LiveSnapshot;
    each: { name: string; view: LiveSnapshot }[];
    profiles: ProfileProgress[];
  } {
    const windows = this.units.map((u) => u.store.takeWindow());
    const profiles = this.units.flatMap((u) =>
      u.store.profiles.takeLive().map((p) => (u.name === null ? p : { ...p, stream: u.name })),
    );
    if (this.single)
      return {
        merged: liveSnapshot(windows[0]!, (v) => this.engines[0]!.outstanding(v), nowMs),
        each: [],
        profiles,
      };
    // Each stream's view first: it adds that stream's outstanding ages to its own window, which
    // the merged view then sums (so nothing outstanding is counted twice).
    const each = this.units.map((u, i) => ({
      name: u.name!,
      view: liveSnapshot(windows[i]!, (v) => u.engine!.outstanding(v), nowMs),
    }));
    const [first, ...rest] = windows;
    for (const w of rest) addWindow(first!, w);
    const merged = liveSnapshot(first!, () => {}, nowMs);
    merged.outstanding = each.reduce((n, e) => n + e.view.outstanding, 0);
    return { merged, each, profiles };
  }

  get violations(): string[] {
    return this.units.flatMap((u) =>
      u.store.violations.map((v) => (u.name === null ? v : `stream ${u.name}: ${v}`)),
    );
  }

  /** Each stream's timeline up to `seconds`, and the run's (merged exactly). */
  timelines(seconds: number): { merged: SecondStats[]; each: SecondStats[][] } {
    const each = this.units.map((u) => u.store.timeline(seconds));
    return { merged: this.single ? each[0]! : mergeTimelines(each), each };
  }
}
