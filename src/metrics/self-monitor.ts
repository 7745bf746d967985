/**
 * The generator watches itself: event-loop delay and its own CPU, once a second. A second in
 * which the generator was saturated is flagged, so a slow generator is never blamed on the target.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { GeneratorStats } from './store.ts';

/** Thresholds for "saturated"; documented in docs/architecture.md. */
export const SATURATION = { cpuPct: 90, eventLoopDelayP99Ms: 20, sendLagP99Ms: 10 } as const;

export interface SelfMonitor {
  /** Stats since the last sample. */
  sample(sendLagP99Ms?: number | null): GeneratorStats;
  stop(): void;
}

export function startSelfMonitor(): SelfMonitor {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  let lastCpu = process.cpuUsage();
  let lastWall = performance.now();
  return {
    sample(sendLagP99Ms) {
      const cpu = process.cpuUsage(lastCpu);
      const wall = performance.now();
      const cpuPct = ((cpu.user + cpu.system) / 1000 / Math.max(1, wall - lastWall)) * 100;
      lastCpu = process.cpuUsage();
      lastWall = wall;
      const p99 = h.count > 0 ? h.percentile(99) / 1e6 : 0;
      const max = h.count > 0 ? h.max / 1e6 : 0;
      h.reset();
      const reasons: string[] = [];
      if (cpuPct >= SATURATION.cpuPct) reasons.push(`cpu ${Math.round(cpuPct)}%`);
      if (p99 >= SATURATION.eventLoopDelayP99Ms) reasons.push(`event-loop delay p99 ${p99.toFixed(1)}ms`);
      if (sendLagP99Ms != null && sendLagP99Ms >= SATURATION.sendLagP99Ms)
        reasons.push(`send lag p99 ${sendLagP99Ms.toFixed(1)}ms`);
      return {
        cpuPct: Math.round(cpuPct * 10) / 10,
        eventLoopDelayP99Ms: Math.round(p99 * 100) / 100,
        eventLoopDelayMaxMs: Math.round(max * 100) / 100,
        saturated: reasons.length > 0,
        reasons,
      };
    },
    stop() {
      h.disable();
    },
  };
}
