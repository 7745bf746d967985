/**
 * What a driver gives back when it applies a fault: a revert recipe that is plain JSON, so a
 * process that never saw the fault (the guard, `chaos emergency-stop`) can undo it.
 */
import type { Target } from '../scenario/schema.ts';
import type { Prng } from '../load/prng.ts';

export type RevertRecipe =
  | { driver: 'proxy'; api: string; token?: string; proxy: string; toxic: string }
  | { driver: 'process'; action: 'continue'; processes: ProcessRecord[] }
  | {
      driver: 'process';
      action: 'restart';
      match?: string;
      pidFile?: string;
      restart?: string;
      health?: string;
      killed: ProcessRecord[];
    }
  | HolderRecipe
  | FileRecipe;

export type HolderRecipe = { driver: 'holder'; kind: 'cpu' | 'memory' | 'gpu-memory' | 'gpu-stress'; mark: string };
export type FileRecipe = { driver: 'file'; path: string };

export interface ProcessRecord {
  pid: number;
  startTime: number;
  command: string;
}

export interface ApplyContext {
  /** The target's name in the environment. */
  targetName: string;
  target: Target;
  faultId: string;
  runId: string;
  /** Ownership mark carried by everything chaoskit creates (toxic name prefix, label, comment). */
  mark: string;
  /** The fault window's length (holders end themselves a little after it, whatever happens). */
  durationMs: number;
  /** Lease for faults that support one (the proxy drops the toxic itself when it expires). */
  leaseMs: number;
  prng: Prng;
  /** How many of the target's members to pick (containers, processes); all when neither is set. */
  pick: { count?: number; percent?: number };
  log: (line: string) => void;
}

/**
 * A fault made ready but not yet applied. Preparing only reads (finds processes, picks members,
 * names the toxic); the revert recipe is known before anything changes, so the ledger can
 * record it as `intent` first. `apply()` then makes the change.
 */
export interface Prepared {
  recipe: RevertRecipe;
  /** One line for humans: what will be done. */
  description: string;
  /** What the user would run by hand to undo it, printed when a revert fails. */
  manualRevert: string;
  apply(): Promise<Applied>;
}

export interface Applied {
  /** Things observed after applying (e.g. time back to healthy), resolved later. */
  observation?: Promise<string | null>;
}

export const MARK_PREFIX = 'chaoskit';
export function ownershipMark(runId: string, faultId: string): string {
  return `${MARK_PREFIX}:${runId}:${faultId}`;
}
