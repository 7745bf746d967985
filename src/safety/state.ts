/** The state directory: the ledger and one file per running run. Mode 0700. */
import { chmodSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CHAOSKIT_STATE_DIR) return env.CHAOSKIT_STATE_DIR;
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'chaoskit');
  return join(homedir(), '.local', 'state', 'chaoskit');
}

/** Creates the state directory (0700) and its runs/ folder. An existing directory's mode is left alone. */
export function ensureStateDir(dir: string): string {
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) chmodSync(dir, 0o700);
  mkdirSync(join(dir, 'runs'), { recursive: true, mode: 0o700 });
  return dir;
}
