/**
 * Steady-state probes: every probe of the environment, once a second for the whole run, each
 * round in parallel and bounded by the probe's timeout. The results go into results.json; the
 * runner asks `held()` before the first fault when the scenario requires a steady state.
 *
 *   t=0s round ─┬─ http GET url (2xx or expectStatus) ─┐
 *               └─ grpc.health.v1 Check (SERVING) ────┴─> samples[t]
 */
import * as grpc from '@grpc/grpc-js';
import { checkHealth } from '../load/grpc-health.ts';
import type { ProbeSpec } from '../scenario/probe-schema.ts';

export interface ProbeSample {
  /** Second of the run (load clock) the check started in. */
  t: number;
  ok: boolean;
  latencyMs: number | null;
  /** `200`, `SERVING`, or why it failed. */
  detail: string;
}

export interface ProbeResult {
  name: string;
  kind: 'http' | 'grpc';
  address: string;
  ok: number;
  failed: number;
  samples: ProbeSample[];
}

interface Live {
  name: string;
  spec: ProbeSpec;
  channel: grpc.Channel | null;
  samples: ProbeSample[];
}

export class ProbeRunner {
  private readonly live: Live[];
  private timer: NodeJS.Timeout | null = null;
  private second = 0;
  private readonly pending = new Set<Promise<void>>();
  /** Rounds whose every check has finished, by second, with whether all passed. */
  private readonly rounds = new Map<number, { done: number; ok: boolean }>();

  constructor(
    probes: Record<string, ProbeSpec>,
    private readonly now: () => number,
  ) {
    this.live = Object.entries(probes).map(([name, spec]) => ({
      name,
      spec,
      samples: [],
      channel:
        spec.kind === 'grpc'
          ? new grpc.Channel(spec.address, grpc.credentials.createInsecure(), {
              'grpc.use_local_subchannel_pool': 1,
            })
          : null,
    }));
  }

  get count(): number {
    return this.live.length;
  }

  /**
   * One unrecorded check of every probe, before the load's t = 0, so that the first recorded
   * round does not pay for loading protos and opening connections inside second 0 of the load.
   * Bounded by `maxMs`: a probe that hangs delays nothing much; its answer is ignored.
   */
  async prepare(maxMs = 1000): Promise<void> {
    if (this.live.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const checks = Promise.all(this.live.map((l) => this.check(l, 0))).then(() => {});
    // A check still running after maxMs is waited for by stop(), like any round's.
    this.pending.add(checks);
    void checks.finally(() => this.pending.delete(checks));
    await Promise.race([checks, new Promise((resolve) => (timer = setTimeout(resolve, maxMs)))]);
    clearTimeout(timer);
  }

  /** Runs a round now and then once a second. */
  start(): void {
    if (this.live.length === 0 || this.timer) return;
    this.round();
    this.timer = setInterval(() => this.round(), 1000);
  }

  /**
   * Whether every probe passed in each of the last `rounds` finished rounds; `why` says what
   * failed, or that too few rounds have finished yet.
   */
  held(rounds: number): { held: boolean; why: string } {
    const done = [...this.rounds.entries()]
      .filter(([, r]) => r.done === this.live.length)
      .sort((a, b) => a[0] - b[0]);
    const last = done.slice(-rounds);
    if (last.length < rounds) {
      return {
        held: false,
        why: `the steady state needs ${rounds} probe round(s) before the first fault; only ${last.length} had finished`,
      };
    }
    for (const [t, r] of last) {
      if (r.ok) continue;
      const bad = this.live.flatMap((l) =>
        l.samples.filter((s) => s.t === t && !s.ok).map((s) => `${l.name}: ${s.detail}`),
      );
      return { held: false, why: `the steady state did not hold at t=${t}s (${bad.join('; ')})` };
    }
    return { held: true, why: `every probe passed in each of the last ${rounds} second(s)` };
  }

  /** Stops probing; waits (at most `maxWaitMs`) for checks in flight; returns every probe's samples. */
  async stop(maxWaitMs = Number.POSITIVE_INFINITY): Promise<ProbeResult[]> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.pending]),
      ...(Number.isFinite(maxWaitMs) ? [new Promise((r) => (t = setTimeout(r, maxWaitMs)))] : []),
    ]);
    clearTimeout(t);
    for (const l of this.live) l.channel?.close();
    return this.live.map((l) => ({
      name: l.name,
      kind: l.spec.kind,
      address: l.spec.kind === 'http' ? l.spec.url : l.spec.address,
      ok: l.samples.filter((s) => s.ok).length,
      failed: l.samples.filter((s) => !s.ok).length,
      samples: [...l.samples].sort((a, b) => a.t - b.t),
    }));
  }

  private round(): void {
    const t = Math.max(this.second, Math.floor(this.now() / 1000));
    this.second = t + 1;
    this.rounds.set(t, { done: 0, ok: true });
    for (const l of this.live) {
      const p = this.check(l, t).then((s) => {
        l.samples.push(s);
        const r = this.rounds.get(t)!;
        r.done++;
        r.ok &&= s.ok;
      });
      this.pending.add(p);
      void p.finally(() => this.pending.delete(p));
    }
  }

  private async check(l: Live, t: number): Promise<ProbeSample> {
    const start = performance.now();
    const took = () => Math.round((performance.now() - start) * 1000) / 1000;
    const spec = l.spec;
    if (spec.kind === 'grpc') {
      const a = await checkHealth(l.channel!, spec.service, spec.timeout);
      return { t, ok: a.ok, latencyMs: took(), detail: a.detail };
    }
    try {
      const r = await fetch(spec.url, { signal: AbortSignal.timeout(spec.timeout) });
      await r.body?.cancel();
      const ok =
        spec.expectStatus !== undefined ? r.status === spec.expectStatus : r.status >= 200 && r.status < 300;
      return { t, ok, latencyMs: took(), detail: String(r.status) };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const why =
        e.name === 'TimeoutError' ? `timeout after ${spec.timeout} ms` : (e.cause?.code ?? e.message);
      return { t, ok: false, latencyMs: null, detail: why };
    }
  }
}
