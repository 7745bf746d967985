/**
 * Warm-up before the load's clock starts: a bounded burst of unrecorded requests through the
 * engine's own connections, so that t = 0 does not pay for cold code and connections still being
 * opened (measured: without it the first second's send lag p99 was 128–493 ms at 5,000/s, later
 * seconds 0.3–0.7 ms; docs/benchmarks.md).
 *
 *   n requests, `concurrency` at a time ──each answer──> next one
 *     ends when: all n answered │ `concurrency` got no answer at all (refused, reset: the target
 *                               │ is down; warming it is pointless) │ budgetMs passed (abandon:
 *                               │ the engine drops what is still in flight) │ the load was stopped
 *
 * Nothing here touches the MetricsStore: warm-up requests are not part of the result.
 */
import type { Segment } from '../scenario/patterns.ts';

/** How one warm-up request ended: answered (any status), answered with a failure, or not at all. */
export type WarmUpAnswer = 'ok' | 'failed' | { unanswered: string };

export interface WarmUpReport {
  /** Warm-up requests sent (0 when skipped). */
  requests: number;
  /** Of them, those answered with an error status, or not answered at all. */
  failed: number;
  durationMs: number;
  /** Why warming ended before all planned requests were answered, or was skipped; null when it did not. */
  cutShort: string | null;
}

export interface WarmUpDriver {
  requests: number;
  concurrency: number;
  budgetMs: number;
  /** Sends one request; calls `done` once when it ends. */
  send(done: (a: WarmUpAnswer) => void): void;
  /** The budget ran out: drop what is still in flight, leaving the engine ready to start. */
  abandon(): void;
  /** True once the load was stopped (the run was aborted during warm-up). */
  stopped(): boolean;
}

/** Longest a warm-up may take before the load starts anyway. */
export const WARM_UP_BUDGET_MS = 3000;
/** Warm-up requests at most (the count that removed the start-up lag at 5,000/s). */
export const WARM_UP_MAX_REQUESTS = 5000;

/** About two seconds' worth of the first second's rate, at least one per connection, at most 5,000. */
export function warmUpCount(segment: Segment, connections: number): number {
  const firstMs = Math.min(1000, segment.durationMs);
  const perSecond = firstMs > 0 ? (segment.integral(firstMs) * 1000) / firstMs : 0;
  return Math.max(connections, Math.min(WARM_UP_MAX_REQUESTS, Math.round(2 * perSecond)));
}

export function runWarmUp(d: WarmUpDriver): Promise<WarmUpReport> {
  const t0 = performance.now();
  let sent = 0;
  let live = 0;
  let failed = 0;
  let unanswered = 0;
  let lastUnanswered = '';
  let cutShort: string | null = null;
  let settled = false;
  return new Promise((resolve) => {
    const finish = (why: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      cutShort = why;
      // What is still in flight is abandoned: never answered, so failed.
      resolve({ requests: sent, failed: failed + live, durationMs: performance.now() - t0, cutShort });
    };
    // Settle before abandoning: abandoning fails what is in flight, and those are not the target's answers.
    const timer = setTimeout(() => {
      if (settled) return;
      finish(`gave up after ${(d.budgetMs / 1000).toFixed(1)} s with ${live} request(s) unanswered`);
      d.abandon();
    }, d.budgetMs);
    const next = (): void => {
      if (settled) return;
      if (d.stopped()) return finish('the load was stopped');
      if (unanswered >= d.concurrency) {
        finish(`the target did not answer (${unanswered} × ${lastUnanswered})`);
        if (live > 0) d.abandon();
        return;
      }
      if (sent >= d.requests) {
        if (live === 0) finish(null);
        return;
      }
      sent++;
      live++;
      let called = false;
      let inSend = true;
      d.send((a) => {
        if (called || settled) return;
        called = true;
        live--;
        if (a !== 'ok') failed++;
        if (typeof a === 'object') {
          unanswered++;
          lastUnanswered = a.unanswered;
        }
        // An engine may fail a request inside send(); do not grow the stack one request per failure.
        if (inSend) queueMicrotask(next);
        else next();
      });
      inSend = false;
    };
    const first = Math.min(d.concurrency, d.requests);
    for (let i = 0; i < first; i++) next();
    if (first === 0) finish(null);
  });
}

/** One line for the run's log. */
export function describeWarmUp(r: WarmUpReport): string {
  const took = `${Math.round(r.durationMs)} ms`;
  if (r.requests === 0) return `warm-up skipped${r.cutShort ? `: ${r.cutShort}` : ''}`;
  const head = `warm-up: ${r.requests} request(s) in ${took}, ${r.failed} failed, not recorded`;
  return r.cutShort ? `${head}; ended early: ${r.cutShort}` : head;
}
