/**
 * disk-fill's files: always inside a `.chaoskit-fill` directory that chaoskit creates (0700) in the
 * directory the scenario names, named after the fault's mark, and starting with a marker line.
 * A revert deletes a file only when all of that holds and the file is a regular file of the
 * current user: a ledger line can never make chaoskit delete anything else.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, unlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export const FILL_DIR_NAME = '.chaoskit-fill';

export const fillFileName = (mark: string): string => `${mark.replace(/[^A-Za-z0-9.-]/g, '_')}.fill`;

export const fillPath = (directory: string, mark: string): string =>
  join(resolve(directory), FILL_DIR_NAME, fillFileName(mark));

/** The first bytes of every fill file. */
export const fillMarker = (mark: string): string => `chaoskit disk-fill ${mark}\n`;

const uid = (): number | null => (typeof process.getuid === 'function' ? process.getuid() : null);

/**
 * Removes a fill file after checking it is chaoskit's: inside a fill directory owned by the
 * user and not writable by others, a regular file (no link) of the user, starting with the
 * fault's marker. 'already-gone' when there is no such file.
 */
export function removeFillFile(path: string, mark: string): 'reverted' | 'already-gone' {
  const dir = dirname(path);
  if (basename(dir) !== FILL_DIR_NAME || basename(path) !== fillFileName(mark))
    throw new Error(`refusing to delete ${path}: not this fault's fill file`);
  let dst;
  try {
    dst = lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'already-gone';
    throw err;
  }
  const me = uid();
  if (!dst.isDirectory() || (me !== null && dst.uid !== me) || (dst.mode & 0o022) !== 0)
    throw new Error(`refusing to delete ${path}: ${dir} is not a fill directory of yours (0700)`);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'already-gone';
    if (code === 'ELOOP') throw new Error(`refusing to delete ${path}: it is a symbolic link`);
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || (me !== null && st.uid !== me))
      throw new Error(`refusing to delete ${path}: not a regular file of yours`);
    const want = Buffer.from(fillMarker(mark));
    const head = Buffer.alloc(want.length);
    const n = readSync(fd, head, 0, want.length, 0);
    // A fill cut short while its marker was written (a full disk) holds a prefix of it, nothing else.
    const cutShort = n < want.length && st.size === n && head.subarray(0, n).equals(want.subarray(0, n));
    if (!cutShort && !head.equals(want))
      throw new Error(`refusing to delete ${path}: it does not start with chaoskit's marker`);
  } finally {
    closeSync(fd);
  }
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'already-gone';
    throw err;
  }
  return 'reverted';
}
