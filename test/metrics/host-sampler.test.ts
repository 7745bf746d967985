/**
 * The host sampler: CPU from /proc/stat, memory, and GPUs through an nvidia-smi query. No GPU
 * exists in CI, so the GPU path runs a stand-in nvidia-smi script that prints what the real one
 * prints for this query (its CSV format: `index, memory.used [MiB], memory.total [MiB],
 * utilization.gpu [%]`).
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpuTimes, parseNvidiaSmi, startHostSampler } from '../../src/metrics/host-sampler.ts';
import { tempDir } from '../helpers/files.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('host sampler', () => {
  it('reads CPU times from the first line of /proc/stat', () => {
    expect(cpuTimes('cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 50 2 25 400 10 1 1 0 0 0\n')).toEqual({
      idle: 820,
      total: 980,
    });
    expect(cpuTimes('intr 1 2 3')).toBeNull();
    expect(cpuTimes('')).toBeNull();
  });

  it('parses nvidia-smi CSV, with N/A fields as unknown', () => {
    expect(parseNvidiaSmi('0, 1024, 81559, 37\n1, [N/A], 81559, [N/A]\n')).toEqual([
      { index: 0, memUsedBytes: 1024 * 1024 * 1024, memTotalBytes: 81559 * 1024 * 1024, utilizationPct: 37 },
      { index: 1, memUsedBytes: null, memTotalBytes: 81559 * 1024 * 1024, utilizationPct: null },
    ]);
  });

  it('samples this machine: CPU share from the second sample on, memory, no GPU without nvidia-smi', async () => {
    const sampler = await startHostSampler(() => performance.now(), {
      everyMs: 150,
      nvidiaSmi: join(tempDir(), 'no-such-nvidia-smi'),
    });
    // Keep one core busy for a while so the share is not zero.
    const until = performance.now() + 400;
    while (performance.now() < until) Math.sqrt(Math.random());
    await sleep(500);
    const samples = sampler.stop();
    expect(samples.length).toBeGreaterThanOrEqual(3);
    expect(samples[0]!.cpuPct).toBeNull(); // the baseline reading
    const later = samples.slice(1).map((s) => s.cpuPct);
    for (const c of later) {
      expect(c).not.toBeNull();
      expect(c!).toBeGreaterThanOrEqual(0);
      expect(c!).toBeLessThanOrEqual(100);
    }
    expect(Math.max(...later.map((c) => c!))).toBeGreaterThan(0);
    for (const s of samples) {
      expect(s.memTotalBytes).toBeGreaterThan(0);
      expect(s.memUsedBytes).toBeGreaterThan(0);
      expect(s.gpus).toEqual([]);
    }
  });

  it('samples GPUs through nvidia-smi when it answers', async () => {
    const dir = tempDir();
    const smi = join(dir, 'nvidia-smi');
    const calls = join(dir, 'calls');
    writeFileSync(
      smi,
      `#!/bin/sh\necho "$*" >> ${calls}\necho "0, 20480, 81559, 91"\necho "1, 512, 81559, 0"\n`,
    );
    chmodSync(smi, 0o755);
    const sampler = await startHostSampler(() => 0, { everyMs: 100, nvidiaSmi: smi });
    await sleep(450);
    const samples = sampler.stop();
    expect(samples.length).toBeGreaterThanOrEqual(2);
    expect(samples.at(-1)!.gpus).toEqual([
      { index: 0, memUsedBytes: 20480 * 1024 * 1024, memTotalBytes: 81559 * 1024 * 1024, utilizationPct: 91 },
      { index: 1, memUsedBytes: 512 * 1024 * 1024, memTotalBytes: 81559 * 1024 * 1024, utilizationPct: 0 },
    ]);
  });

  it('skips warning lines nvidia-smi prints before its CSV', () => {
    expect(parseNvidiaSmi('WARNING: infoROM is corrupted at gpu 0000:00:04.0\n0, 10, 100, 5\n')).toEqual([
      { index: 0, memUsedBytes: 10 * 1024 * 1024, memTotalBytes: 100 * 1024 * 1024, utilizationPct: 5 },
    ]);
  });

  it('an nvidia-smi that hangs (deaf to SIGTERM) is killed after its deadline; sampling goes on without GPUs', async () => {
    const dir = tempDir();
    const smi = join(dir, 'nvidia-smi');
    const pidFile = join(dir, 'pid');
    writeFileSync(smi, `#!/bin/sh\ntrap '' TERM\necho $$ > ${pidFile}\nexec sleep 30\n`);
    chmodSync(smi, 0o755);
    const t = performance.now();
    const sampler = await startHostSampler(() => 0, { everyMs: 100, nvidiaSmi: smi, gpuTimeoutMs: 300 });
    expect(performance.now() - t).toBeLessThan(3000);
    await sleep(250);
    const samples = sampler.stop();
    expect(samples.length).toBeGreaterThanOrEqual(2);
    expect(samples.every((s) => s.gpus.length === 0)).toBe(true);
    // The hung child was killed (SIGKILL), not left behind.
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await sleep(100);
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('stop() ends sampling: nothing is added to what it returned', async () => {
    const sampler = await startHostSampler(() => 0, { everyMs: 50 });
    await sleep(120);
    const samples = sampler.stop();
    const n = samples.length;
    await sleep(200);
    expect(samples.length).toBe(n);
    expect(sampler.stop().length).toBe(n);
  });

  it('reads /proc from where it is told, and computes the busy share between two readings', async () => {
    const proc = tempDir();
    writeFileSync(join(proc, 'stat'), 'cpu  100 0 100 800 0 0 0 0 0 0\n');
    const sampler = await startHostSampler(() => 0, { everyMs: 300, procRoot: proc });
    await sleep(100); // the first (baseline) sample has read the file
    // 1,000 more jiffies, 700 of them idle: 30% busy.
    writeFileSync(join(proc, 'stat'), 'cpu  250 0 250 1500 0 0 0 0 0 0\n');
    await sleep(350);
    const samples = sampler.stop();
    expect(samples[0]!.cpuPct).toBeNull();
    expect(samples[1]!.cpuPct).toBe(30);
  });
});
