/**
 * A simulated HTTP target for flow tests in simulated time: the real scheduler, sessions, closed
 * model, templates, captures and checks, with a model of the target instead of sockets. The model
 * sees each rendered request (path, headers, body) and answers after a latency with a status,
 * headers and a body, so captures and checks run on real answers, only without a network.
 */
import { dirname } from 'node:path';
import type { TimerHandle } from '../../src/core/clock.ts';
import type { EngineContext, LoadEngine } from '../../src/load/engine.ts';
import type { ErrorKind } from '../../src/core/error-kinds.ts';
import { inspectAnswer, prepareRequest, type Rendered } from '../../src/load/http-bodies.ts';
import { InFlight, OpenModelLoad, type WarmUpSender } from '../../src/load/open-model.ts';
import type { Session } from '../../src/load/sessions.ts';
import { compileWorkload, type Workload } from '../../src/load/workload.ts';
import { planSegment } from '../../src/scenario/plan.ts';

export interface SimRequest extends Rendered {
  profile: number;
  /** The profile's name (`FLOW.STEP` for a step). */
  name: string;
  sentMs: number;
  session: Session | null;
}

export type SimAnswer =
  | { latencyMs: number; status?: number; kind?: ErrorKind; headers?: Record<string, string>; body?: string }
  | 'hang';

export interface FlowTarget {
  answer(req: SimRequest): SimAnswer;
}

class Req extends InFlight {
  timer: TimerHandle | null = null;
}

export class SimFlowLoad extends OpenModelLoad {
  readonly workload: Workload;
  readonly seen: SimRequest[] = [];
  private readonly live = new Set<Req>();

  constructor(
    private readonly ctx: EngineContext,
    private readonly target: FlowTarget,
    private readonly keepSeen = true,
  ) {
    const load = ctx.scenario.spec.load;
    const { workload, problems } = compileWorkload(load, dirname(ctx.scenario.file));
    if (problems.length) throw new Error(problems.map((p) => p.message).join('; '));
    super({
      segment: planSegment(ctx.plan),
      arrivals: ctx.plan.arrivals,
      concurrency: load.connections,
      maxBacklog: load.maxBacklog,
      weights: [],
      workload,
      model: load.model,
      ...(load.think ? { think: load.think } : {}),
      gracefulStopMs: load.gracefulStop,
      prng: ctx.prng,
      store: ctx.store,
      clock: ctx.clock,
    });
    this.workload = workload;
  }

  protected timeoutFor(profile: number): number {
    const load = this.ctx.scenario.spec.load;
    return this.workload.profiles[profile]!.request.stream ? load.streamTimeout : load.timeout;
  }

  protected create(): InFlight {
    return new Req();
  }

  protected dispatch(h: InFlight): void {
    const r = h as Req;
    const p = this.workload.profiles[r.profile]!;
    const rendered = prepareRequest(p.request, this.ctx.prng, r.session, this.store.profiles, r.profile);
    if (!rendered) {
      this.complete(r, 0, 'check');
      return;
    }
    const req: SimRequest = {
      ...rendered,
      profile: r.profile,
      name: p.name,
      sentMs: r.sentMs,
      session: r.session,
    };
    if (this.keepSeen) this.seen.push(req);
    const a = this.target.answer(req);
    this.live.add(r);
    if (a === 'hang') return;
    r.timer = this.clock.setTimeout(() => {
      this.live.delete(r);
      if (a.kind) return this.complete(r, 0, a.kind);
      const status = a.status ?? 200;
      let kind: ErrorKind | null = null;
      if (status < 400) {
        const headers = Object.fromEntries(
          Object.entries(a.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
        );
        kind = inspectAnswer(
          p.request,
          { status, header: (n) => headers[n], text: () => a.body ?? '' },
          this.now() - r.intendedMs,
          r.session?.vars ?? null,
          this.store.profiles,
          r.profile,
        );
      }
      this.complete(r, status, kind);
    }, a.latencyMs);
  }

  protected abort(h: InFlight): void {
    const r = h as Req;
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

export function simFlowEngine(
  target: FlowTarget,
  keepSeen = true,
): { create: (ctx: EngineContext) => LoadEngine; load: () => SimFlowLoad } {
  let made: SimFlowLoad | null = null;
  return {
    create: (ctx) => (made = new SimFlowLoad(ctx, target, keepSeen)),
    load: () => {
      if (!made) throw new Error('the engine was not created yet');
      return made;
    },
  };
}
