/**
 * Where built-in scenarios, environments and the default SLO file live, and how names resolve;
 * where chaoskit keeps its state (the rules for trusting that directory: src/safety/state.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';

/** The package root: the nearest directory above this module with chaoskit's package.json (works from src/ and dist/). */
function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      if (
        (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'chaoskit'
      )
        return dir;
    } catch {
      // no package.json here
    }
    if (dirname(dir) === dir) return resolve(from, '../..');
  }
}

export const PACKAGE_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
export const BUILTIN_SCENARIOS = join(PACKAGE_ROOT, 'scenarios');
export const BUILTIN_ENVIRONMENTS = join(BUILTIN_SCENARIOS, 'environments');

function looksLikePath(s: string): boolean {
  return s.includes('/') || s.includes('\\') || /\.ya?ml$/.test(s);
}

/** `spike-with-partition` → scenarios/spike-with-partition.yaml; a path is taken as it is. */
export function resolveScenarioPath(nameOrPath: string, cwd = process.cwd()): string {
  if (looksLikePath(nameOrPath)) return isAbsolute(nameOrPath) ? nameOrPath : resolve(cwd, nameOrPath);
  return join(BUILTIN_SCENARIOS, `${nameOrPath}.yaml`);
}

/** An environment name resolves beside the scenario first (environments/NAME.yaml), then built-in. */
export function resolveEnvironmentPath(ref: string, scenarioDir: string, cwd = process.cwd()): string {
  if (looksLikePath(ref)) return isAbsolute(ref) ? ref : resolve(scenarioDir, ref);
  const local = join(scenarioDir, 'environments', `${ref}.yaml`);
  if (existsSync(local)) return local;
  void cwd;
  return join(BUILTIN_ENVIRONMENTS, `${ref}.yaml`);
}

/** The SLO file resolves beside the scenario first, then built-in. */
export function resolveSloPath(ref: string, scenarioDir: string): string {
  if (isAbsolute(ref)) return ref;
  const local = resolve(scenarioDir, ref);
  if (existsSync(local) || looksLikePath(ref.replace(/\.ya?ml$/, ''))) return local;
  return join(BUILTIN_SCENARIOS, ref);
}

/** The CLI entry, for spawning our own helper processes (demo, guard). */
export const CLI_BIN = join(PACKAGE_ROOT, 'bin', 'chaos.mjs');

/** The state directory: $CHAOSKIT_STATE_DIR, else $XDG_STATE_HOME/chaoskit, else ~/.local/state/chaoskit. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CHAOSKIT_STATE_DIR) return env.CHAOSKIT_STATE_DIR;
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'chaoskit');
  return join(homedir(), '.local', 'state', 'chaoskit');
}
