/**
 * A simulated target for lifecycle tests in simulated time: the real open-model scheduler
 * (arrivals, backlog, deadlines, stop) with a target model instead of sockets. Each request's fate
 * is decided when it is sent, from the model; its end is a timer on the simulated clock.
 */
import type { ErrorKind } from '../../src/core/error-kinds.ts';
import type { EngineContext, LoadEngine } from '../../src/load/engine.ts';
import { InFlight, OpenModelLoad, type WarmUpSender } from '../../src/load/open-model.ts';
import { planSegment } from '../../src/scenario/plan.ts';
import type { TimerHandle } from '../../src/core/clock.ts';
import type { PlannedFault } from '../../src/scenario/plan.ts';
import type { ApplyContext, Prepared } from '../../src/targets/types.ts';

/** What the target does with a request sent at `sentMs`: answer after `latencyMs`, or never. */
export type Fate = { latencyMs: number; status?: number; kind?: ErrorKind } | 'hang';

export interface TargetModel {
  /** Decided when the request is sent (load clock). */
  fate(sentMs: number, profile: number): Fate;
  /** Requests in flight when a fault begins may be cut by it: called on apply with the time. */
  onFault?(id: string, active: boolean, atMs: number): void;
}

class SimRequest extends InFlight {
  timer: TimerHandle | null = null;
}

export class SimLoad extends OpenModelLoad {
  private readonly live = new Set<SimRequest>();

  constructor(
    private readonly ctx: EngineContext,
    private readonly model: TargetModel,
  ) {
    const load = ctx.scenario.spec.load;
    super({
      segment: planSegment(ctx.plan),
      arrivals: ctx.plan.arrivals,
      concurrency: load.connections,
      maxBacklog: load.maxBacklog,
      weights: load.requests.map((r) => r.weight),
      prng: ctx.prng,
      store: ctx.store,
      clock: ctx.clock,
      ...(ctx.executionSegment ? { executionSegment: ctx.executionSegment } : {}),
    });
  }

  protected timeoutFor(profile: number): number {
    const load = this.ctx.scenario.spec.load;
    const r = load.requests[profile];
    return r && 'stream' in r && r.stream ? load.streamTimeout : load.timeout;
  }

  protected create(): InFlight {
    return new SimRequest();
  }

  protected dispatch(h: InFlight): void {
    const r = h as SimRequest;
    const fate = this.model.fate(r.sentMs, r.profile);
    this.live.add(r);
    if (fate === 'hang') return;
    r.timer = this.clock.setTimeout(() => {
      this.live.delete(r);
      this.complete(r, fate.kind ? 0 : (fate.status ?? 200), fate.kind ?? null);
    }, fate.latencyMs);
  }

  /** Ends every request in flight now with `kind` (a crash cutting connections). */
  cutAll(kind: ErrorKind): void {
    for (const r of [...this.live]) {
      this.clock.clearTimeout(r.timer);
      this.live.delete(r);
      this.complete(r, 0, kind);
    }
  }

  protected abort(h: InFlight): void {
    const r = h as SimRequest;
    this.clock.clearTimeout(r.timer);
    this.live.delete(r);
  }

  protected abortAll(): void {
    for (const r of this.live) this.clock.clearTimeout(r.timer);
    this.live.clear();
  }

  protected release(): void {}

  protected warmUpSender(): WarmUpSender {
    return 'simulated target';
  }
}

export function simEngine(model: TargetModel): {
  create: (ctx: EngineContext) => LoadEngine;
  load: () => SimLoad;
} {
  let made: SimLoad | null = null;
  return {
    create: (ctx) => (made = new SimLoad(ctx, model)),
    load: () => {
      if (!made) throw new Error('the engine was not created yet');
      return made;
    },
  };
}

/**
 * Fault drivers that change the model instead of the world: `apply` flips the fault on,
 * `revert` off. `applyDelayMs` simulates a slow apply; `fail` one that never applies.
 */
export function simFaults(
  model: TargetModel,
  clock: { setTimeout(fn: () => void, ms: number): unknown },
  now: () => number,
  opts: { applyDelayMs?: number; fail?: string; onRevert?: (id: string) => void } = {},
): {
  prepare: (f: PlannedFault, ctx: ApplyContext) => Promise<Prepared>;
  revert: (recipe: { driver: string; mark?: string }) => Promise<'reverted'>;
} {
  return {
    prepare: async (f) => ({
      recipe: { driver: 'holder', kind: 'cpu', mark: `sim:${f.id}` },
      description: `simulated ${f.type}`,
      manualRevert: 'nothing (simulated)',
      apply: async () => {
        if (opts.applyDelayMs) await new Promise<void>((r) => clock.setTimeout(r, opts.applyDelayMs!));
        if (opts.fail) throw new Error(opts.fail);
        model.onFault?.(f.id, true, now());
        return {};
      },
    }),
    revert: async (recipe) => {
      const id = (recipe.mark ?? '').replace(/^sim:/, '');
      model.onFault?.(id, false, now());
      opts.onRevert?.(id);
      return 'reverted';
    },
  };
}
