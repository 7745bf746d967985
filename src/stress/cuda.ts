/**
 * The CUDA driver API through koffi: no compiler and no CUDA toolkit, only the NVIDIA driver's
 * libcuda.so.1. Used by the GPU holders (memory pressure, compute stress) and by the preflight
 * that turns "no driver" or "no such device" into a clear error before a run starts.
 *
 * koffi is an optional dependency (28 MB of prebuilt binaries, needed only here): it is loaded on
 * first use, and its absence is a CudaUnavailable that says how to install it.
 */
import { createRequire } from 'node:module';

/** The slice of koffi's API used here. */
interface Koffi {
  load(path: string): { func(proto: string): unknown };
  alloc(type: string, count: number): unknown;
  encode(ref: unknown, type: string, value: unknown): void;
}

type Fn = (...args: unknown[]) => number;

export interface Cuda {
  deviceCount(): number;
  /** Makes the device's primary context current in this thread. */
  use(device: number): void;
  memInfo(): { free: number; total: number };
  /** Allocates and fills `bytes` on the current device; returns the device pointer. */
  alloc(bytes: number): bigint;
  free(ptr: bigint): void;
  smCount(device: number): number;
  /** Clock rate in kHz. */
  clockKHz(device: number): number;
  /** Loads PTX text and returns a launcher for one of its kernels taking one u64 argument. */
  kernel(ptx: string, name: string): (grid: number, block: number, arg: bigint) => void;
  synchronize(): void;
}

export class CudaUnavailable extends Error {}

let cached: Cuda | null = null;

export const KOFFI_MISSING = 'gpu faults need the optional package koffi: npm install koffi';

/** koffi, loaded on first use; `name` is for tests. */
export function loadKoffi(name = 'koffi'): Koffi {
  try {
    return createRequire(import.meta.url)(name) as Koffi;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') throw new CudaUnavailable(KOFFI_MISSING);
    throw new CudaUnavailable(
      `${KOFFI_MISSING} (it is installed but did not load: ${(err as Error).message.split('\n')[0]})`,
    );
  }
}

export function loadCuda(): Cuda {
  if (cached) return cached;
  const koffi = loadKoffi();
  let lib: ReturnType<Koffi['load']>;
  try {
    lib = koffi.load('libcuda.so.1');
  } catch (err) {
    throw new CudaUnavailable(
      `no NVIDIA driver: libcuda.so.1 could not be loaded (${(err as Error).message.split('\n')[0]})`,
    );
  }
  const f = (proto: string) => lib.func(proto) as unknown as Fn;
  const cuInit = f('int cuInit(unsigned int flags)');
  const cuDeviceGetCount = f('int cuDeviceGetCount(_Out_ int *count)');
  const cuDeviceGet = f('int cuDeviceGet(_Out_ int *dev, int ordinal)');
  const cuDevicePrimaryCtxRetain = f('int cuDevicePrimaryCtxRetain(_Out_ void **ctx, int dev)');
  const cuCtxSetCurrent = f('int cuCtxSetCurrent(void *ctx)');
  const cuMemGetInfo = f('int cuMemGetInfo_v2(_Out_ size_t *free, _Out_ size_t *total)');
  const cuMemAlloc = f('int cuMemAlloc_v2(_Out_ uint64_t *dptr, size_t bytes)');
  const cuMemFree = f('int cuMemFree_v2(uint64_t dptr)');
  const cuMemsetD8 = f('int cuMemsetD8_v2(uint64_t dptr, uint8_t value, size_t n)');
  const cuDeviceGetAttribute = f('int cuDeviceGetAttribute(_Out_ int *value, int attrib, int dev)');
  const cuModuleLoadData = f('int cuModuleLoadData(_Out_ void **module, const char *image)');
  const cuModuleGetFunction = f('int cuModuleGetFunction(_Out_ void **fn, void *module, const char *name)');
  const cuLaunchKernel = f(
    'int cuLaunchKernel(void *fn, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, unsigned int by, unsigned int bz, unsigned int shared, void *stream, void *params, void *extra)',
  );
  const cuCtxSynchronize = f('int cuCtxSynchronize()');
  const cuGetErrorString = f('int cuGetErrorString(int error, _Out_ const char **str)');

  const check = (what: string, rc: number) => {
    if (rc === 0) return;
    const s: (string | null)[] = [null];
    cuGetErrorString(rc, s);
    throw new Error(`${what} failed: CUDA error ${rc}${s[0] ? ` (${s[0]})` : ''}`);
  };
  const rc = cuInit(0);
  if (rc !== 0) {
    const s: (string | null)[] = [null];
    cuGetErrorString(rc, s);
    throw new CudaUnavailable(
      `the NVIDIA driver did not initialise: CUDA error ${rc}${s[0] ? ` (${s[0]})` : ''}`,
    );
  }
  const CU_DEVICE_ATTRIBUTE_CLOCK_RATE = 13;
  const CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
  const attr = (device: number, a: number) => {
    const v = [0];
    check('cuDeviceGetAttribute', cuDeviceGetAttribute(v, a, device));
    return v[0]!;
  };
  cached = {
    deviceCount() {
      const n = [0];
      check('cuDeviceGetCount', cuDeviceGetCount(n));
      return n[0]!;
    },
    use(device) {
      const dev = [0];
      check('cuDeviceGet', cuDeviceGet(dev, device));
      const ctx: unknown[] = [null];
      check('cuDevicePrimaryCtxRetain', cuDevicePrimaryCtxRetain(ctx, dev[0]));
      check('cuCtxSetCurrent', cuCtxSetCurrent(ctx[0]));
    },
    memInfo() {
      const free = [0],
        total = [0];
      check('cuMemGetInfo', cuMemGetInfo(free, total));
      return { free: Number(free[0]), total: Number(total[0]) };
    },
    alloc(bytes) {
      const p: (bigint | number)[] = [0n];
      check(`cuMemAlloc(${bytes})`, cuMemAlloc(p, bytes));
      const ptr = BigInt(p[0]!);
      // Write every byte so the allocation is backed, not just reserved.
      check('cuMemsetD8', cuMemsetD8(ptr, 1, bytes));
      return ptr;
    },
    free(ptr) {
      check('cuMemFree', cuMemFree(ptr));
    },
    smCount: (d) => attr(d, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT),
    clockKHz: (d) => attr(d, CU_DEVICE_ATTRIBUTE_CLOCK_RATE),
    kernel(ptx, name) {
      const mod: unknown[] = [null];
      check('cuModuleLoadData', cuModuleLoadData(mod, ptx));
      const fn: unknown[] = [null];
      check('cuModuleGetFunction', cuModuleGetFunction(fn, mod[0], name));
      const arg = koffi.alloc('uint64_t', 1);
      const params = koffi.alloc('void *', 1);
      koffi.encode(params, 'void *', arg);
      return (grid, block, value) => {
        koffi.encode(arg, 'uint64_t', value);
        check('cuLaunchKernel', cuLaunchKernel(fn[0], grid, 1, 1, block, 1, 1, 0, null, params, null));
      };
    },
    synchronize() {
      check('cuCtxSynchronize', cuCtxSynchronize());
    },
  };
  return cached;
}

/** Busy-waits for `cycles` GPU clock cycles in every thread: keeps the SMs occupied. */
export const SPIN_PTX = `
.version 7.0
.target sm_50
.address_size 64

.visible .entry spin(.param .u64 cycles)
{
  .reg .pred %p;
  .reg .b64 %rd<5>;
  ld.param.u64 %rd1, [cycles];
  mov.u64 %rd2, %clock64;
LOOP:
  mov.u64 %rd3, %clock64;
  sub.s64 %rd4, %rd3, %rd2;
  setp.lt.u64 %p, %rd4, %rd1;
  @%p bra LOOP;
  ret;
}
`;
