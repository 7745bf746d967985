/**
 * A fault type: its parameters (zod, strict) and, per target kind, how it is applied.
 * The set of target kinds a fault accepts is the keys of `on`.
 */
import type { z } from 'zod';
import type { Target, TargetKind } from '../src/scenario/schema.ts';
import type { ApplyContext, Prepared } from '../src/targets/types.ts';

/** Prepares the fault on one target: reads only; the returned `apply()` makes the change. */
export type ApplyFn<P> = (ctx: ApplyContext, params: P) => Promise<Prepared>;

/**
 * Checks before the run that the fault can be applied at all (driver present, device exists,
 * privilege held); returns a problem in plain words, or null. Failing checks are input errors
 * (exit 2) and nothing is applied.
 */
export type PreflightFn<P> = (
  target: Target,
  params: P,
  /** The environment's targets, for faults that name other targets (partition's peers). */
  targets?: Readonly<Record<string, Target>>,
) => Promise<string | null>;

export interface FaultDef<S extends z.ZodType = z.ZodType> {
  type: string;
  summary: string;
  params: S;
  on: Partial<Record<TargetKind, ApplyFn<z.output<S>>>>;
  preflight?: PreflightFn<z.output<S>>;
  /** When the fault shows only under some traffic: said in the run's warnings whenever it is used. */
  caveat?: string;
}

export function defineFault<S extends z.ZodType>(def: FaultDef<S>): FaultDef<S> {
  return def;
}
