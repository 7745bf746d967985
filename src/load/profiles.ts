/**
 * Per-profile outcomes: for each named request of a workload mix (load.requests[].name, or a
 * gRPC call's name), how many were sent, ok and failed, and their latency from the intended send
 * time. Engines record by profile index; MetricsStore owns one recorder.
 */
import { decode, encode, newHistogram, recordMs, summarize, type Histogram } from '../metrics/hist.ts';

export interface ProfileStats {
  sent: number;
  ok: number;
  failed: number;
  latencyMs: { p50: number; p99: number; max: number } | null;
  /** Latency HdrHistogram (µs), compressed base64. */
  hist: string | null;
}

interface Entry {
  name: string;
  sent: number;
  ok: number;
  failed: number;
  latency: Histogram;
}

export class ProfileRecorder {
  private entries: Entry[] = [];

  /** Declares the profiles, in the engine's index order. Unnamed ones get `#i` or their method/path. */
  define(names: readonly string[]): void {
    this.entries = names.map((name) => ({ name, sent: 0, ok: 0, failed: 0, latency: newHistogram() }));
  }

  sent(i: number): void {
    const e = this.entries[i];
    if (e) e.sent++;
  }

  result(i: number, latencyMs: number, ok: boolean): void {
    const e = this.entries[i];
    if (!e) return;
    if (ok) e.ok++;
    else e.failed++;
    recordMs(e.latency, latencyMs);
  }

  /** By name; profiles that share a name are merged. Null when nothing was defined. */
  summary(): Record<string, ProfileStats> | null {
    if (this.entries.length === 0) return null;
    const merged = new Map<string, Entry>();
    for (const e of this.entries) {
      const m = merged.get(e.name);
      if (!m) {
        const latency = newHistogram();
        latency.add(e.latency);
        merged.set(e.name, { ...e, latency });
      } else {
        m.sent += e.sent;
        m.ok += e.ok;
        m.failed += e.failed;
        m.latency.add(e.latency);
      }
    }
    const out: Record<string, ProfileStats> = {};
    for (const [name, e] of merged) {
      const s = e.latency.totalCount > 0 ? summarize(e.latency) : null;
      out[name] = {
        sent: e.sent,
        ok: e.ok,
        failed: e.failed,
        latencyMs: s ? { p50: s.p50, p99: s.p99, max: s.max } : null,
        hist: s ? encode(e.latency) : null,
      };
    }
    return out;
  }

  /** Adds another process's summary (scale-out: a worker's or a runner's): counts and histograms add. */
  merge(summary: Record<string, ProfileStats>): void {
    for (const [name, p] of Object.entries(summary)) {
      let e = this.entries.find((x) => x.name === name);
      if (!e) this.entries.push((e = { name, sent: 0, ok: 0, failed: 0, latency: newHistogram() }));
      e.sent += p.sent;
      e.ok += p.ok;
      e.failed += p.failed;
      if (p.hist) e.latency.add(decode(p.hist));
    }
  }
}

/** A profile's display name: its `name`, else a short description from the caller. */
export function profileNames(
  items: readonly { name?: string | undefined }[],
  describe: (i: number) => string,
): string[] {
  return items.map((r, i) => r.name ?? describe(i));
}
