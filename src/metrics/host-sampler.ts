/**
 * Host samples once a second: CPU, memory, load and, when an NVIDIA GPU is present, its memory
 * and utilisation (systeminformation; nvidia-smi underneath). Sampling never blocks the load:
 * a slow sample is skipped, not queued.
 */
import { loadavg } from 'node:os';
import si from 'systeminformation';
import type { RunResult } from '../result.ts';

export type HostSample = RunResult['host'][number];

export interface HostSampler {
  stop(): HostSample[];
}

export async function startHostSampler(now: () => number, everyMs = 1000): Promise<HostSampler> {
  const samples: HostSample[] = [];
  let gpu = false;
  try {
    const g = await si.graphics();
    gpu = g.controllers.some(
      (c) => /nvidia/i.test(c.vendor) && c.memoryTotal !== undefined && c.memoryTotal !== null,
    );
  } catch {
    gpu = false;
  }
  let busy = false;
  const take = async () => {
    if (busy) return;
    busy = true;
    const t = Math.round(now());
    try {
      const [load, mem, graphics] = await Promise.all([
        si.currentLoad(),
        si.mem(),
        gpu ? si.graphics() : Promise.resolve(null),
      ]);
      samples.push({
        t,
        cpuPct: Math.round(load.currentLoad * 10) / 10,
        memUsedBytes: mem.total - mem.available,
        memTotalBytes: mem.total,
        load1: loadavg()[0] ?? null,
        gpus: (graphics?.controllers ?? [])
          .filter((c) => /nvidia/i.test(c.vendor))
          .map((c, index) => ({
            index,
            memUsedBytes: c.memoryUsed != null ? c.memoryUsed * 1024 * 1024 : null,
            memTotalBytes: c.memoryTotal != null ? c.memoryTotal * 1024 * 1024 : null,
            utilizationPct: c.utilizationGpu ?? null,
          })),
      });
    } catch {
      // a failed sample is a gap in the chart, not a failed run
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void take(), everyMs);
  timer.unref();
  void take();
  return {
    stop: () => {
      clearInterval(timer);
      return samples;
    },
  };
}
