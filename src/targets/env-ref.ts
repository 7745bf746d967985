/**
 * Commands and addresses a revert needs are taken from the environment file the run used, never
 * from a ledger line alone: the recipe names the file and its sha256 at intent time, and the
 * revert re-reads it, re-hashes it and reads the target from it.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Target } from '../scenario/schema.ts';
import type { EnvironmentRef } from './types.ts';

const MAX_BYTES = 4 * 1024 * 1024;

function sha256Of(file: string): string {
  const bytes = readFileSync(file);
  if (bytes.length > MAX_BYTES) throw new Error(`environment file ${file} is larger than ${MAX_BYTES} bytes`);
  return createHash('sha256').update(bytes).digest('hex');
}

/** The reference a recipe records: the file (absolute), its hash now, and the target's name. */
export function environmentRef(file: string, target: string): EnvironmentRef {
  const abs = isAbsolute(file) ? file : resolve(file);
  return { file: abs, sha256: sha256Of(abs), target };
}

/**
 * The target as the environment file defines it now, provided the file is byte for byte what it
 * was when the fault was applied. Throws (the revert fails, with the manual command) otherwise.
 */
export async function verifiedTarget(ref: EnvironmentRef): Promise<Target> {
  const changed = () =>
    new Error(
      `environment file ${ref.file} changed since the fault was applied (sha256 differs); chaoskit takes no command from it now`,
    );
  let now: string;
  try {
    now = sha256Of(ref.file);
  } catch (err) {
    throw new Error(`cannot re-read the environment file ${ref.file}: ${(err as Error).message}`);
  }
  if (now !== ref.sha256) throw changed();
  const { loadEnvironment } = await import('../input/load.ts');
  const env = loadEnvironment(ref.file);
  if (sha256Of(ref.file) !== ref.sha256) throw changed();
  const t = Object.hasOwn(env.spec.targets, ref.target) ? env.spec.targets[ref.target] : undefined;
  if (!t) throw new Error(`environment file ${ref.file} has no target ${ref.target}`);
  return t;
}
