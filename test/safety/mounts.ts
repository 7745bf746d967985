/**
 * Small file systems for the full-disk and read-only tests: a tmpfs of a few KiB, or a read-only
 * bind mount, each made in a temporary directory of the test and unmounted by it. Needs root
 * (CI runs as root); `why` says why a test must skip otherwise.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/files.ts';

const mounted: string[] = [];

function tryMount(args: string[]): string | null {
  try {
    execFileSync('mount', args, { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `mount ${args.join(' ')} failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
  }
}

/** Whether this process may mount (root, and a kernel that lets it); the reason when not. */
export const mountUnavailable: string | null = (() => {
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs';
  const dir = tempDir('chaoskit-mount-probe-');
  const why = tryMount(['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', dir]);
  if (!why) execFileSync('umount', [dir]);
  return why;
})();

/** A tmpfs of `kib` KiB at a fresh temporary directory. */
export function smallTmpfs(kib: number): string {
  const dir = tempDir('chaoskit-tmpfs-');
  const why = tryMount(['-t', 'tmpfs', '-o', `size=${kib}k,mode=0700`, 'tmpfs', dir]);
  if (why) throw new Error(why);
  mounted.push(dir);
  return dir;
}

/** `dir` again, read-only, at a fresh temporary directory. */
export function readOnlyView(dir: string): string {
  const at = tempDir('chaoskit-ro-');
  const why = tryMount(['--bind', '-o', 'ro', dir, at]);
  if (why) throw new Error(why);
  mounted.push(at);
  return at;
}

/** Fills the file system holding `dir` until it is full (ENOSPC). */
export function fill(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const fd = openSync(join(dir, 'filler'), 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

/** afterEach: unmounts everything mounted here (lazily, so a busy mount cannot hang the test). */
export function unmountAll(): void {
  for (const dir of mounted.splice(0).reverse()) {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    } catch {
      // already unmounted
    }
  }
}
