/** The fault registry: a literal map; valid type names derive from it. */
import { bandwidth } from './bandwidth.ts';
import { crash } from './crash.ts';
import { cpuStress } from './cpu-stress.ts';
import { diskFill } from './disk-fill.ts';
import { gpuMemoryPressure } from './gpu-memory-pressure.ts';
import { gpuStress } from './gpu-stress.ts';
import { memoryPressure } from './memory-pressure.ts';
import { httpDelay } from './http-delay.ts';
import { httpError } from './http-error.ts';
import { grpcDelay } from './grpc-delay.ts';
import { grpcError } from './grpc-error.ts';
import { jitter } from './jitter.ts';
import { latency } from './latency.ts';
import { limitData } from './limit-data.ts';
import { partition } from './partition.ts';
import { pause } from './pause.ts';
import { packetLoss } from './packet-loss.ts';
import { restart } from './restart.ts';
import { stop } from './stop.ts';
import { reset } from './reset.ts';
import { slicer } from './slicer.ts';
import { slowClose } from './slow-close.ts';
import { timeout } from './timeout.ts';
import type { FaultDef } from './define.ts';

export const faults = {
  latency,
  jitter,
  bandwidth,
  partition,
  reset,
  timeout,
  'slow-close': slowClose,
  slicer,
  'limit-data': limitData,
  'http-error': httpError,
  'http-delay': httpDelay,
  'grpc-error': grpcError,
  'grpc-delay': grpcDelay,
  crash,
  pause,
  stop,
  restart,
  'packet-loss': packetLoss,
  'cpu-stress': cpuStress,
  'memory-pressure': memoryPressure,
  'disk-fill': diskFill,
  'gpu-memory-pressure': gpuMemoryPressure,
  'gpu-stress': gpuStress,
} as const satisfies Record<string, FaultDef>;

export type FaultType = keyof typeof faults;
export const faultTypes = Object.keys(faults) as FaultType[];

export function faultDef(type: string): FaultDef | undefined {
  return Object.hasOwn(faults, type) ? (faults[type as FaultType] as FaultDef) : undefined;
}
