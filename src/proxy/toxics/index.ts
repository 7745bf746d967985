import type { ToxicKind } from '../types.ts';
import { bandwidth } from './bandwidth.ts';
import { grpc_delay } from './grpc_delay.ts';
import { grpc_error } from './grpc_error.ts';
import { http_delay } from './http_delay.ts';
import { http_error } from './http_error.ts';
import { latency } from './latency.ts';
import { limit_data } from './limit_data.ts';
import { noop } from './noop.ts';
import { partition } from './partition.ts';
import { reset_peer } from './reset_peer.ts';
import { slicer } from './slicer.ts';
import { slow_close } from './slow_close.ts';
import { timeout } from './timeout.ts';

/** Every toxic type by name: Toxiproxy's set, then chaoskit's extensions. */
export const toxicKinds = {
  noop,
  latency,
  bandwidth,
  slow_close,
  timeout,
  reset_peer,
  slicer,
  limit_data,
  partition,
  http_error,
  http_delay,
  grpc_error,
  grpc_delay,
} as const satisfies Record<string, ToxicKind<object>>;

export type ToxicType = keyof typeof toxicKinds;
export const toxicTypes = Object.keys(toxicKinds) as ToxicType[];

export function isToxicType(name: unknown): name is ToxicType {
  return typeof name === 'string' && Object.hasOwn(toxicKinds, name);
}

export function kindOf(type: ToxicType): ToxicKind<object> {
  return toxicKinds[type] as ToxicKind<object>;
}
