/**
 * The closed-model engine on autocannon: a fixed number of connections, each sending its next
 * request when the last one answers. For capacity probes: connection counts are stepped up
 * (`load.capacity`), every response lands in the same MetricsStore as the open-model engine's,
 * and after each step the runner may stop at the knee. Closed-model latency is service time:
 * there is no intended send time, so coordinated omission is possible by design (the result says so).
 */
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { Clock } from '../core/clock.ts';
import { newHistogram, recordMs } from '../core/hist.ts';
import type { MetricsStore } from '../metrics/store.ts';
import type { RequestSpec } from '../scenario/schema.ts';
import { capacityResult, capacityWarnings, type CapacityStep, type StepMeasure } from '../slo/capacity.ts';
import type { LoadEngine } from './engine.ts';
import { classifyError, classifyStatus } from '../core/error-kinds.ts';
import type { LoadOutcome } from './open-model.ts';

/** The part of autocannon's API used here (the package ships no types). */
interface AcRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}
type AcInstance = EventEmitter & { stop(): void };
const runAutocannon = createRequire(import.meta.url)('autocannon') as (
  opts: object,
  cb: (err: Error | null) => void,
) => AcInstance;

export interface StepPlan {
  connections: number;
  durationMs: number;
}

export interface AutocannonLoadOptions {
  url: string;
  requests: readonly RequestSpec[];
  steps: readonly StepPlan[];
  timeoutMs: number;
  store: MetricsStore;
  clock: Clock;
  /** Judges a finished step; a step that did not pass stops stepping up when `stopAtKnee`. */
  judge: (m: StepMeasure) => CapacityStep;
  stopAtKnee: boolean;
  log: (line: string) => void;
}

/** autocannon cycles through a request list: repeat each entry by its weight (reduced, capped at 100 entries). */
export function weightedSequence(requests: readonly RequestSpec[]): RequestSpec[] {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const ints = requests.map((r) => Math.max(1, Math.round(r.weight)));
  const g = ints.reduce(gcd);
  let counts = ints.map((w) => w / g);
  const total = counts.reduce((a, b) => a + b, 0);
  if (total > 100) counts = counts.map((c) => Math.max(1, Math.round((c * 100) / total)));
  // Interleave so every prefix of the cycle is close to the mix.
  const out: RequestSpec[] = [];
  const left = [...counts];
  while (left.some((c) => c > 0)) {
    requests.forEach((r, i) => {
      if (left[i]! > 0) {
        out.push(r);
        left[i]!--;
      }
    });
  }
  return out;
}

export class AutocannonLoad implements LoadEngine {
  private t0 = 0;
  private stopped = false;
  private current: AcInstance | null = null;
  private step: StepMeasure | null = null;
  private readonly steps: CapacityStep[] = [];
  private readonly counts = { sent: 0, completed: 0, dropped: 0, cancelled: 0, notSent: 0 };
  private over = false;

  constructor(private readonly o: AutocannonLoadOptions) {}

  now(): number {
    return this.o.clock.now() - this.t0;
  }

  /**
   * Closed model: a request is recorded when it ends, at its send time; none can still be in flight
   * from before (now - timeout), so the seconds before that are complete.
   */
  get arrivalsThroughMs(): number {
    return this.over ? Number.POSITIVE_INFINITY : this.now() - this.o.timeoutMs - 1000;
  }

  warmUp(): Promise<null> {
    return Promise.resolve(null);
  }

  outstanding(): void {
    // autocannon does not expose the requests it has in flight.
  }

  warnings(): string[] {
    return capacityWarnings(this.steps);
  }

  timelineMs(planMs: number, ranMs: number): number {
    return Math.min(planMs, ranMs);
  }

  extras(): ReturnType<LoadEngine['extras']> {
    return { capacity: capacityResult(this.steps) };
  }

  stop(): void {
    this.stopped = true;
    this.current?.stop();
  }

  async start(): Promise<LoadOutcome> {
    this.t0 = this.o.clock.now();
    const url = new URL(this.o.url);
    const base = url.pathname.replace(/\/$/, '');
    const requests: AcRequest[] = weightedSequence(this.o.requests).map((r) => ({
      method: r.method,
      path: base + r.path,
      headers: {
        ...r.headers,
        ...(r.body !== undefined ? { 'content-type': r.headers['content-type'] ?? 'application/json' } : {}),
      },
      ...(r.body !== undefined ? { body: r.body } : {}),
    }));
    for (let i = 0; i < this.o.steps.length && !this.stopped; i++) {
      const step = this.o.steps[i]!;
      const stepStart = this.now();
      this.step = {
        connections: step.connections,
        startMs: stepStart,
        endMs: stepStart,
        ok: 0,
        failed: 0,
        hist: newHistogram(),
      };
      await this.runStep(url.origin, requests, step);
      // Let the step use its whole window even if autocannon ended a little early.
      const rest = stepStart + step.durationMs - this.now();
      if (rest > 0 && !this.stopped) await new Promise<void>((r) => this.o.clock.setTimeout(r, rest));
      this.step.endMs = this.now();
      const judged = this.o.judge(this.step);
      this.steps.push(judged);
      this.o.log(
        `capacity: ${judged.connections} connections → ${judged.throughput} req/s${judged.pass ? '' : `, missed ${judged.failed.join(', ')}`}`,
      );
      if (!judged.pass && this.o.stopAtKnee) break;
    }
    this.over = true;
    return { ended: this.stopped ? 'stopped' : 'completed', durationMs: this.now(), ...this.counts };
  }

  /** One request ended: recorded at its send time (end minus its latency), arrival = send. */
  private record(
    sentMs: number,
    endMs: number,
    status: number,
    kind: ReturnType<typeof classifyError> | null,
  ): void {
    const store = this.o.store;
    this.counts.sent++;
    this.counts.completed++;
    store.arrival(sentMs);
    store.send(sentMs, sentMs);
    store.result(sentMs, sentMs, endMs, status, kind);
    const m = this.step;
    if (!m) return;
    if (kind ?? classifyStatus(status)) m.failed++;
    else m.ok++;
    recordMs(m.hist, endMs - sentMs);
  }

  private runStep(origin: string, requests: AcRequest[], step: StepPlan): Promise<void> {
    return new Promise((resolve, reject) => {
      const inst = runAutocannon(
        {
          url: origin,
          connections: step.connections,
          duration: step.durationMs / 1000,
          timeout: Math.max(1, Math.round(this.o.timeoutMs / 1000)),
          requests,
        },
        (err) => (err ? reject(err) : resolve()),
      );
      this.current = inst;
      inst.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
        const end = this.now();
        this.record(Math.max(0, end - responseTime), end, status, null);
      });
      inst.on('reqError', (err: Error) => {
        const end = this.now();
        const kind = classifyError(err);
        const timedOut = kind === 'timeout' || (kind === 'other' && /timeout/i.test(err.message));
        this.record(
          timedOut ? Math.max(0, end - this.o.timeoutMs) : end,
          end,
          0,
          timedOut ? 'timeout' : kind,
        );
      });
    });
  }
}
