/**
 * What a run tells its listeners (the progress line, live metrics, the dashboard, a library user):
 * typed events, delivered through a guarded emit. A listener that throws is reported once and
 * can never break the run, skip a revert or lose a result.
 */
import { EventEmitter } from 'node:events';
import type { ErrorKind } from '../core/error-kinds.ts';
import type { LatencySummary } from '../core/hist.ts';
import type { SecondStats } from '../metrics/store.ts';
import type { FaultRecord, RunResult } from '../result.ts';
import type { RunPlan } from '../scenario/plan.ts';
import type { LiveSnapshot } from './live.ts';
import type { LiveProfile } from '../metrics/profiles.ts';

/** The live view, once a second: what is happening now, requests still in flight included. */
export interface Progress {
  elapsedMs: number;
  durationMs: number;
  /** The second of the load that just ended. */
  second: number;
  /** Arrivals that came due in the last second. */
  requestedRate: number;
  /** Requests that went out in the last second. */
  achievedRate: number;
  /** Requests that ended in the last second. */
  ok: number;
  failed: number;
  dropped: number;
  /** Latency of what ended in the last second, plus the age of every request still waiting. */
  p99Ms: number | null;
  latencyMs: LatencySummary | null;
  /** Requests waiting or in flight now. */
  outstanding: number;
  /** Failed requests of the last second by kind. */
  errors: Partial<Record<ErrorKind, number>>;
  totalSent: number;
  totalFailed: number;
  /** Faults in effect at any moment of the last second. */
  activeFaults: string[];
  saturated: boolean;
  /** Several load streams: each one's live view (the figures above are their sum). */
  streams?: StreamProgress[];
  /**
   * Named requests and flow steps (a mix of several, or flows): what each sent and what ended in
   * the last second, with its latency; `stream` names its stream when there are several.
   */
  profiles?: ProfileProgress[];
}

/** One named request's or flow step's last second (its requests still in flight are not in it). */
export interface ProfileProgress extends LiveProfile {
  stream?: string;
}

/** What a live view says of the last second: the run's (in Progress) or one stream's. */
export type LiveFigures = Pick<
  Progress,
  'requestedRate' | 'achievedRate' | 'ok' | 'failed' | 'dropped' | 'latencyMs' | 'outstanding' | 'errors'
>;

/** One stream's live view for the last second (see Progress for each figure). */
export interface StreamProgress extends LiveFigures {
  name: string;
}

/** A live snapshot (src/run/live.ts) as the `second` event names its figures. */
export function liveFigures(l: LiveSnapshot): LiveFigures {
  return {
    requestedRate: l.arrivals,
    achievedRate: l.achieved,
    ok: l.ok,
    failed: l.failed,
    dropped: l.dropped,
    latencyMs: l.latencyMs,
    outstanding: l.outstanding,
    errors: l.errors,
  };
}

export interface StartedInfo {
  runId: string;
  plan: RunPlan;
  /** Wall-clock time of the load's t = 0. */
  loadStartedAt: string;
}

export interface RunEvents {
  /** The load's clock started (after set-up and warm-up). */
  started: [StartedInfo];
  /** Once a second: the live view. */
  second: [Progress];
  /**
   * A second of the timeline is final (all its requests ended); may come out of order. `stream`
   * is null for the run's own second; with several load streams each stream's second also comes,
   * named, before the run's (which comes once every stream has finished that second).
   */
  secondFinal: [SecondStats, string | null];
  faultApplied: [FaultRecord];
  faultReverted: [FaultRecord];
  /** Something the result will also say (in `warnings`), as soon as it is known. */
  warning: [string];
  /** What the runner is doing (starting the demo, the warm-up, a fault applied), for humans. */
  log: [string];
  /** The run was asked to stop (signal, stop condition, emergency stop); it is reverting and stopping. */
  stopping: [{ reason: string }];
  /** The result is complete, scored and about to be returned. */
  finished: [RunResult];
}

/** An EventEmitter whose emit() never throws: a failing listener is reported once and skipped. */
export class GuardedEmitter<E extends Record<keyof E, unknown[]>> extends EventEmitter<E> {
  private readonly reported = new Set<unknown>();

  constructor(private readonly onListenerError: (err: unknown, event: string) => void) {
    super();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override emit<K>(event: K | keyof E, ...args: any[]): boolean {
    const listeners = this.rawListeners(event as never) as unknown as ((...a: unknown[]) => unknown)[];
    for (const l of listeners) {
      try {
        const r = l.apply(this, args);
        if (r instanceof Promise) r.catch((err: unknown) => this.report(l, err, String(event)));
      } catch (err) {
        this.report(l, err, String(event));
      }
    }
    return listeners.length > 0;
  }

  private report(l: unknown, err: unknown, event: string): void {
    if (this.reported.has(l)) return;
    this.reported.add(l);
    try {
      this.onListenerError(err, event);
    } catch {
      // reporting must not throw either
    }
  }
}
