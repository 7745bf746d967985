/** GPU holders: memory pressure (allocate and keep) and compute stress (spin kernels at a duty cycle). */
import { loadCuda, SPIN_PTX } from './cuda.ts';

const CHUNK = 1024 ** 3;

/** Allocates `bytes` (or `fraction` of total) on a device and keeps it. Returns what was taken. */
export function holdGpuMemory(
  device: number,
  amount: { bytes?: number; fraction?: number },
): { bytes: number; total: number; freeBefore: number } {
  const cuda = loadCuda();
  cuda.use(device);
  const { free, total } = cuda.memInfo();
  const bytes = amount.bytes ?? Math.floor((amount.fraction ?? 0) * total);
  if (bytes > free) {
    throw new Error(
      `asked for ${gib(bytes)} on GPU ${device} but only ${gib(free)} of ${gib(total)} is free`,
    );
  }
  for (let left = bytes; left > 0; left -= CHUNK) cuda.alloc(Math.min(CHUNK, left));
  return { bytes, total, freeBefore: free };
}

/** Keeps a device's SMs busy for `dutyPct` of every 100 ms slice. Returns a stop function. */
export function holdGpuCompute(device: number, dutyPct: number): () => void {
  const cuda = loadCuda();
  cuda.use(device);
  const launch = cuda.kernel(SPIN_PTX, 'spin');
  const grid = cuda.smCount(device) * 8;
  const busyMs = (100 * dutyPct) / 100;
  const cycles = BigInt(Math.round(cuda.clockKHz(device) * busyMs));
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    const t0 = performance.now();
    launch(grid, 128, cycles);
    cuda.synchronize();
    setTimeout(tick, Math.max(0, 100 - (performance.now() - t0)));
  };
  tick();
  return () => {
    stopped = true;
  };
}

const gib = (b: number) => `${(b / 1024 ** 3).toFixed(2)} GiB`;
