/**
 * The closed-model engine on autocannon: a fixed number of connections, each sending its next
 * request when the last one answers. For capacity probes: connection counts are stepped up
 * (`load.capacity`), every response lands in the same MetricsStore as the open-model engine's,
 * and after each step the runner may stop at the knee. Closed-model latency is service time:
 * there is no intended send time, so coordinated omission is possible by design (the result says so).
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { MetricsStore } from '../metrics/store.ts';
import type { RequestSpec } from '../scenario/schema.ts';
import { classifyError } from './errors.ts';
import type { LoadOutcome } from './http-engine.ts';

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

export interface CapacityStep {
  connections: number;
  durationMs: number;
}

export interface AutocannonLoadOptions {
  url: string;
  requests: readonly RequestSpec[];
  steps: readonly CapacityStep[];
  timeoutMs: number;
  store: MetricsStore;
  /** Called after each step with its window; return false to stop stepping up. */
  afterStep?: (index: number, startMs: number, endMs: number) => boolean;
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

export class AutocannonLoad extends EventEmitter {
  private t0 = 0;
  private stopped = false;
  private current: AcInstance | null = null;
  private faultKey = '';
  private readonly counts = { sent: 0, completed: 0, dropped: 0, cancelled: 0 };

  constructor(private readonly o: AutocannonLoadOptions) {
    super();
  }

  now(): number {
    return performance.now() - this.t0;
  }

  setFaultKey(key: string): void {
    this.faultKey = key;
  }

  stop(): void {
    this.stopped = true;
    this.current?.stop();
  }

  async start(): Promise<LoadOutcome> {
    this.t0 = performance.now();
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
      await this.runStep(url.origin, requests, step);
      // Let the step use its whole window even if autocannon ended a little early.
      const rest = stepStart + step.durationMs - this.now();
      if (rest > 0 && !this.stopped) await new Promise((r) => setTimeout(r, rest));
      if (this.o.afterStep && !this.o.afterStep(i, stepStart, this.now())) break;
    }
    return { ended: this.stopped ? 'stopped' : 'completed', durationMs: this.now(), ...this.counts };
  }

  private runStep(origin: string, requests: AcRequest[], step: CapacityStep): Promise<void> {
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
        const sent = end - responseTime;
        this.counts.sent++;
        this.counts.completed++;
        this.o.store.arrival(sent);
        this.o.store.send(sent, sent, this.faultKey);
        this.o.store.result(sent, sent, end, status, null, this.faultKey);
      });
      inst.on('reqError', (err: Error) => {
        const end = this.now();
        const sent = Math.max(0, end - this.o.timeoutMs);
        this.counts.sent++;
        this.counts.completed++;
        const kind = classifyError(err);
        const when = kind === 'timeout' ? sent : end;
        this.o.store.arrival(when);
        this.o.store.send(when, when, this.faultKey);
        this.o.store.result(
          when,
          when,
          end,
          0,
          kind === 'other' && /timeout/i.test(err.message) ? 'timeout' : kind,
          this.faultKey,
        );
      });
    });
  }
}
