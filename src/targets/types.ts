/**
 * What a driver gives back when it applies a fault: a revert recipe that is plain JSON, so a
 * process that never saw the fault (the guard, `chaos emergency-stop`) can undo it.
 */
import type { Target } from '../scenario/schema.ts';
import type { Prng } from '../load/prng.ts';
import type { DockerApi } from './docker.ts';
import type { Executor } from './exec.ts';

export type RevertRecipe =
  | ProxyRecipe
  | { driver: 'process'; action: 'continue'; processes: ProcessRecord[] }
  | RestartRecipe
  | HolderRecipe
  | FileRecipe
  | DockerRecipe
  | NetnsCmdRecipe;

/**
 * Where a recipe's commands and addresses come from: the environment file the run used, with
 * its sha256 when the fault was prepared. A revert re-reads and re-hashes it; a command is never
 * taken from a ledger line alone.
 */
export interface EnvironmentRef {
  file: string;
  sha256: string;
  /** The target's name in that file. */
  target: string;
}

export type ProxyRecipe = {
  driver: 'proxy';
  api: string;
  token?: string;
  proxy: string;
  toxic: string;
  /** Set when the API is not on loopback: the revert checks the environment still names it. */
  environment?: EnvironmentRef;
};

/**
 * After a crash: make sure the process runs again. Restarting it needs the environment file
 * (its `restart` command, `match` and `health` are read from there at revert time).
 */
export type RestartRecipe = {
  driver: 'process';
  action: 'restart';
  killed: ProcessRecord[];
  /** How to find the process again (data only: used to see whether it runs, never executed). */
  find: ProcessFind;
  health?: string;
  environment?: EnvironmentRef;
};

/** The selection fields of a process target. */
export interface ProcessFind {
  match?: string;
  argv?: string[];
  pidFile?: string;
  anyUser?: boolean;
}

export type HolderRecipe = {
  driver: 'holder';
  kind: 'cpu' | 'memory' | 'gpu-memory' | 'gpu-stress';
  mark: string;
};
/** A disk-fill file: deleted only when it is `mark`'s file in a chaoskit fill directory (fill.ts). */
export type FileRecipe = { driver: 'file'; path: string; mark: string };

/** A container as recorded at prepare time: its full id (names can be reused) and its name. */
export interface ContainerRef {
  id: string;
  name: string;
}
/** Container state to restore: start (after crash/stop/restart), unpause, or reconnect to a network. */
export type DockerRecipe =
  | { driver: 'docker'; action: 'start' | 'unpause'; containers: ContainerRef[]; health?: string }
  | { driver: 'docker'; action: 'reconnect'; network: string; endpoints: DockerEndpoint[] };
export interface DockerEndpoint extends ContainerRef {
  aliases: string[];
  /** Only when the network has a user-configured subnet (Docker refuses a fixed IP otherwise). */
  ipv4?: string;
}
/** How to get into a network namespace: a container's init process (PID + start time) or a named one. */
export type NetnsEnter = { pid: number; startTime: number; container?: ContainerRef } | { netns: string };
/** Commands that undo rules/qdiscs made inside network namespaces; everything made carries `mark`. */
export interface NetnsCmdRecipe {
  driver: 'netns-cmd';
  mark: string;
  places: { enter: NetnsEnter; undo: string[][] }[];
}

export interface ProcessRecord {
  pid: number;
  startTime: number;
  command: string;
}

export interface ApplyContext {
  /** The target's name in the environment. */
  targetName: string;
  /**
   * The environment file the run loaded (absolute path). Recipes that would need a command or a
   * non-loopback address at revert time record it with its hash; without it, a crashed process
   * is not restarted by a revert (the manual command says how).
   */
  environmentFile?: string;
  /** The state directory of the run's ledger (self-reverting timers read it); $CHAOSKIT_STATE_DIR by default. */
  stateDir?: string;
  /** Start a self-reverting timer with faults that have no lease (default true; driver tests turn it off). */
  selfRevert?: boolean;
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
  /** The environment's targets, for faults that name other targets (partition's `peers`). */
  targets?: Readonly<Record<string, Target>>;
  /** Shell commands and the Docker API; the real ones when absent (tests inject fakes). */
  io?: TargetIo;
}

export interface TargetIo {
  exec?: Executor;
  docker?: DockerApi;
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
