/**
 * What the runner needs from a load engine, whatever it is (open-model HTTP or gRPC, closed-model
 * autocannon, an external k6): the runner has no engine-specific branch. Engines record every
 * outcome into the run's MetricsStore; the registry is src/run/engines.ts.
 */
import type { Clock } from '../core/clock.ts';
import type { RequestTracer } from '../otel/request-tracer.ts';
import type { MetricsStore } from '../metrics/store.ts';
import type { RunResult } from '../result.ts';
import type { Scenario } from '../input/load.ts';
import type { RunPlan } from '../scenario/plan.ts';
import type { ExecutionSegment } from './arrivals.ts';
import type { LoadOutcome } from './open-model.ts';
import type { Prng } from './prng.ts';
import type { WarmUpReport } from './warm-up.ts';

export interface LoadEngine {
  /** Milliseconds since the load started (its t = 0 is start()). */
  now(): number;
  /** Arrivals due before this time are all recorded (Infinity once the load is over). */
  readonly arrivalsThroughMs: number;
  /** Unrecorded requests before t = 0 (null: this engine has none). */
  warmUp(): Promise<WarmUpReport | null>;
  /** Starts the load at t = 0; resolves once every arrival has an outcome. */
  start(): Promise<LoadOutcome>;
  /** Stops at once: nothing more is sent; what waits is not sent, what is in flight is cancelled. */
  stop(): void;
  /** Visits every arrival still waiting or in flight (live view); engines that cannot tell visit none. */
  outstanding(visit: (intendedMs: number, sentMs: number | null) => void): void;
  /** What the result must say about how this engine measured. */
  warnings(): string[];
  /** How many milliseconds the timeline covers: the plan's, or what the engine measured (k6). */
  timelineMs(planMs: number, ranMs: number): number;
  /** Parts of the result only this engine has (capacity steps of a probe; sessions of flows and virtual users; scale-out). */
  extras(): Partial<Pick<RunResult, 'capacity' | 'sessions' | 'workers' | 'runners'>>;
}

export interface EngineContext {
  scenario: Scenario;
  plan: RunPlan;
  store: MetricsStore;
  clock: Clock;
  /** The run's seeded generator, forked for requests. */
  prng: Prng;
  log: (line: string) => void;
  env: NodeJS.ProcessEnv;
  /** Sampled requests carry a traceparent and become spans (engines that support it: http, grpc). */
  tracer?: RequestTracer;
  /** Scale-out: this engine runs only segment i of N of the stream's arrivals (src/scale/). */
  executionSegment?: ExecutionSegment;
}

export interface EngineDef {
  /** Checks before anything is started or applied: the target answers, the binary exists. */
  preflight(ctx: Pick<EngineContext, 'scenario' | 'env'>): Promise<void>;
  create(ctx: EngineContext): LoadEngine;
  /** The address the result names as the load's target. */
  address(scenario: Scenario): string;
}
