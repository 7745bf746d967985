/** Shared by the GPU faults: the preflight that needs a driver and the device. */
import { CudaUnavailable, loadCuda } from '../src/stress/cuda.ts';
import type { Target } from '../src/scenario/schema.ts';

export async function gpuPreflight(t: Target): Promise<string | null> {
  if (t.kind !== 'gpu') return null;
  try {
    const n = loadCuda().deviceCount();
    if (t.device >= n) return `GPU ${t.device} does not exist: the NVIDIA driver reports ${n} device(s)`;
    return null;
  } catch (err) {
    if (err instanceof CudaUnavailable)
      return `${err.message}; GPU faults need an NVIDIA GPU and its driver on this machine`;
    return `GPU ${t.device}: ${(err as Error).message}`;
  }
}
