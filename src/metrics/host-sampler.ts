/**
 * Host samples once a second: CPU, memory, load and, when an NVIDIA GPU is present, its memory
 * and utilisation. Sampling shares the event loop with the load generator, so nothing here may
 * block it: a blocked second is send lag, blamed on the target.
 *
 * - CPU: /proc/stat read asynchronously. systeminformation's currentLoad() runs
 *   `cat /proc/stat` through execSync on Linux, which blocked the loop for 50–150 ms every
 *   second on a 2-core machine; it is used only where there is no /proc.
 * - Memory: systeminformation's mem() (an asynchronous /proc/meminfo read on Linux).
 * - GPU: `nvidia-smi --query-gpu` as an asynchronous child process (systeminformation's
 *   graphics() calls it through execFileSync). `$CHAOSKIT_NVIDIA_SMI` names another binary.
 * A slow sample is skipped, not queued; a failed one is a gap in the chart.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import si from 'systeminformation';
import type { RunResult } from '../result.ts';

export type HostSample = RunResult['host'][number];
type GpuSample = HostSample['gpus'][number];

export interface HostSampler {
  stop(): HostSample[];
}

export interface HostSamplerOptions {
  everyMs?: number;
  /** Where /proc is (tests point it at a directory of their own). */
  procRoot?: string;
  /** The nvidia-smi to run; default `$CHAOSKIT_NVIDIA_SMI` or `nvidia-smi` on PATH. */
  nvidiaSmi?: string;
}

/** Busy share of all CPUs between two /proc/stat readings, from its first (`cpu`) line. */
export function cpuTimes(stat: string): { idle: number; total: number } | null {
  const line = stat.split('\n', 1)[0] ?? '';
  if (!/^cpu\s/.test(line)) return null;
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (v.length < 4 || v.some((x) => !Number.isFinite(x))) return null;
  return { idle: v[3]! + (v[4] ?? 0), total: v.reduce((a, b) => a + b, 0) };
}

/** CSV rows of `nvidia-smi --query-gpu=index,memory.used,memory.total,utilization.gpu` (MiB, %). */
export function parseNvidiaSmi(csv: string): GpuSample[] {
  const num = (s: string | undefined) => {
    const n = Number(s?.trim());
    return s === undefined || /N\/A|Not Supported/i.test(s) || !Number.isFinite(n) ? null : n;
  };
  return csv
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [index, used, total, util] = l.split(',');
      const mib = (s: string | undefined) => {
        const n = num(s);
        return n === null ? null : n * 1024 * 1024;
      };
      return {
        index: num(index) ?? 0,
        memUsedBytes: mib(used),
        memTotalBytes: mib(total),
        utilizationPct: num(util),
      };
    });
}

const GPU_QUERY = [
  '--query-gpu=index,memory.used,memory.total,utilization.gpu',
  '--format=csv,noheader,nounits',
];

function queryGpus(bin: string): Promise<GpuSample[]> {
  return new Promise((resolve, reject) => {
    execFile(bin, GPU_QUERY, { timeout: 5000, encoding: 'utf8' }, (err, stdout) =>
      err ? reject(err) : resolve(parseNvidiaSmi(stdout)),
    );
  });
}

export async function startHostSampler(
  now: () => number,
  opts: HostSamplerOptions = {},
): Promise<HostSampler> {
  const everyMs = opts.everyMs ?? 1000;
  const stat = join(opts.procRoot ?? '/proc', 'stat');
  const smi = opts.nvidiaSmi ?? process.env.CHAOSKIT_NVIDIA_SMI ?? 'nvidia-smi';
  const samples: HostSample[] = [];
  // Asked once, before the load starts: no nvidia-smi (or no GPU) means no GPU sampling.
  const gpu = await queryGpus(smi).then(
    (g) => g.length > 0,
    () => false,
  );
  let last: { idle: number; total: number } | null = null;
  const cpuPct = async (): Promise<number | null> => {
    let times: { idle: number; total: number } | null;
    try {
      times = cpuTimes(await readFile(stat, 'utf8'));
    } catch {
      times = null;
    }
    if (!times) return (await si.currentLoad()).currentLoad; // no /proc: not Linux
    const prev = last;
    last = times;
    if (!prev || times.total <= prev.total) return null; // the first sample is the baseline (t = 0)
    return 100 * (1 - (times.idle - prev.idle) / (times.total - prev.total));
  };
  let busy = false;
  const take = async () => {
    if (busy) return;
    busy = true;
    const t = Math.round(now());
    try {
      const [cpu, mem, gpus] = await Promise.all([
        cpuPct(),
        si.mem(),
        gpu ? queryGpus(smi).catch(() => []) : Promise.resolve([]),
      ]);
      samples.push({
        t,
        cpuPct: cpu === null ? null : Math.round(cpu * 10) / 10,
        memUsedBytes: mem.total - mem.available,
        memTotalBytes: mem.total,
        load1: loadavg()[0] ?? null,
        gpus,
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
