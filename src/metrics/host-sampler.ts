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
import { execFile, type ChildProcess } from 'node:child_process';
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
  /** How long one nvidia-smi query may take (default 5 s); then it is killed and skipped. */
  gpuTimeoutMs?: number;
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
  const mib = (s: string | undefined) => {
    const n = num(s);
    return n === null ? null : n * 1024 * 1024;
  };
  return csv
    .split('\n')
    .filter((l) => /^\s*\d+\s*,/.test(l)) // GPU rows only: nvidia-smi may print warnings first
    .map((l) => {
      const [index, used, total, util] = l.split(',');
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

/**
 * One nvidia-smi query, given up on after `timeoutMs`: the child is killed with SIGKILL (a
 * wedged driver can leave nvidia-smi deaf to SIGTERM) and the answer is "no GPU data".
 */
function queryGpus(bin: string, children: Set<ChildProcess>, timeoutMs: number): Promise<GpuSample[] | null> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (v: GpuSample[] | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      children.delete(child);
      resolve(v);
    };
    const child = execFile(bin, GPU_QUERY, { encoding: 'utf8' }, (err, stdout) =>
      finish(err ? null : parseNvidiaSmi(stdout)),
    );
    children.add(child);
    child.on('error', () => finish(null));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(null);
    }, timeoutMs);
  });
}

export async function startHostSampler(
  now: () => number,
  opts: HostSamplerOptions = {},
): Promise<HostSampler> {
  const everyMs = opts.everyMs ?? 1000;
  const stat = join(opts.procRoot ?? '/proc', 'stat');
  const smi = opts.nvidiaSmi ?? process.env.CHAOSKIT_NVIDIA_SMI ?? 'nvidia-smi';
  const gpuTimeoutMs = opts.gpuTimeoutMs ?? 5000;
  const samples: HostSample[] = [];
  const children = new Set<ChildProcess>();
  let stopped = false;
  // Asked once, before the load starts: no nvidia-smi (or no GPU) means no GPU sampling.
  let gpus: GpuSample[] = (await queryGpus(smi, children, gpuTimeoutMs)) ?? [];
  const gpu = gpus.length > 0;
  // GPU queries run on their own (nvidia-smi can take a second or two); each sample carries the
  // latest answer rather than waiting for one.
  let gpuBusy = false;
  const pollGpus = () => {
    if (!gpu || gpuBusy || stopped) return;
    gpuBusy = true;
    void queryGpus(smi, children, gpuTimeoutMs).then((g) => {
      gpuBusy = false;
      if (g) gpus = g;
    });
  };
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
    pollGpus();
    if (busy) return;
    busy = true;
    const t = Math.round(now());
    try {
      const [cpu, mem] = await Promise.all([cpuPct(), si.mem()]);
      if (stopped) return;
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
      stopped = true;
      clearInterval(timer);
      for (const c of children) c.kill('SIGKILL');
      return samples.slice();
    },
  };
}
