/**
 * A fault type: its parameters (zod, strict) and, per target kind, how it is applied.
 * The set of target kinds a fault accepts is the keys of `on`.
 */
import type { z } from 'zod';
import type { TargetKind } from '../src/scenario/schema.ts';
import type { Applied, ApplyContext } from '../src/targets/types.ts';

export type ApplyFn<P> = (ctx: ApplyContext, params: P) => Promise<Applied>;

export interface FaultDef<S extends z.ZodType = z.ZodType> {
  type: string;
  summary: string;
  params: S;
  on: Partial<Record<TargetKind, ApplyFn<z.output<S>>>>;
}

export function defineFault<S extends z.ZodType>(def: FaultDef<S>): FaultDef<S> {
  return def;
}
