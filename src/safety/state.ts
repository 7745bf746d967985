/**
 * The state directory: the ledger, one file per running run, per-fault locks. It is a trust
 * boundary (as ssh treats ~/.ssh): whatever is in it may be acted on with the user's rights, so
 * chaoskit refuses a directory or file there that someone else owns or could write, and never
 * follows a symbolic link in it. Every write there is checked; a full or read-only directory is
 * an input error naming the path, found before anything is applied. Where it is: stateDir() in
 * src/core/paths.ts.
 */
import {
  closeSync,
  constants,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  rmSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../core/errors.ts';

/** Sub-directories chaoskit keeps in the state directory. */
export const STATE_SUBDIRS = ['runs', 'locks'] as const;
/** Freed when the disk is full so that the revert path can still append to the ledger. */
export const RESERVE_FILE = 'reserve';
export const RESERVE_BYTES = 256 * 1024;

/** Opening flags for files in the state directory: never through a symbolic link. */
export const NOFOLLOW = constants.O_NOFOLLOW;

const uid = (): number | null => (typeof process.getuid === 'function' ? process.getuid() : null);

/** Why a path in the state directory cannot be trusted, or null. */
export function untrusted(path: string, st: Stats, kind: 'directory' | 'file'): string | null {
  if (st.isSymbolicLink())
    return `${path} is a symbolic link; chaoskit never follows one in its state directory (replace it with a real ${kind})`;
  if (kind === 'directory' ? !st.isDirectory() : !st.isFile()) return `${path} is not a ${kind}`;
  const me = uid();
  if (me !== null && st.uid !== me)
    return `${path} is owned by uid ${st.uid}, not by you (uid ${me}); use a state directory of your own (CHAOSKIT_STATE_DIR) or run \`chown -R ${me} ${path}\``;
  if ((st.mode & 0o022) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    const who = [st.mode & 0o020 ? 'group' : '', st.mode & 0o002 ? 'others' : '']
      .filter(Boolean)
      .join(' and ');
    return `${path} is writable by ${who} (mode ${mode}); anyone who can write there could make chaoskit act for them. Fix: chmod ${kind === 'directory' ? 700 : 600} ${path}`;
  }
  return null;
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new InputError(`state directory: cannot inspect ${path}: ${describeIoError(err)}`);
  }
}

/**
 * Refuses (InputError, exit 2) a state directory, sub-directory or ledger that is a symbolic
 * link, not owned by the current user, or writable by group or others. Missing parts are fine.
 */
export function checkStateDir(dir: string): void {
  const problems: string[] = [];
  const top = lstatOrNull(dir);
  if (top) {
    const p = untrusted(dir, top, 'directory');
    if (p) problems.push(p);
  }
  if (problems.length === 0) {
    for (const sub of STATE_SUBDIRS) {
      const st = lstatOrNull(join(dir, sub));
      const p = st && untrusted(join(dir, sub), st, 'directory');
      if (p) problems.push(p);
    }
    const ledger = lstatOrNull(join(dir, 'ledger.jsonl'));
    const p = ledger && untrusted(join(dir, 'ledger.jsonl'), ledger, 'file');
    if (p) problems.push(p);
  }
  if (problems.length > 0) throw new InputError(`unsafe state directory: ${problems.join('; ')}`);
}

/**
 * Creates the state directory (0700) and its sub-directories when missing and checks that it
 * can be trusted. Writes nothing else: `chaos status` and emergency-stop use it on a full disk.
 */
export function openStateDir(dir: string): string {
  checkStateDir(dir);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const sub of STATE_SUBDIRS) mkdirSync(join(dir, sub), { mode: 0o700, recursive: true });
  } catch (err) {
    throw new InputError(`cannot create the state directory ${dir}: ${describeIoError(err)}`);
  }
  checkStateDir(dir); // a race could have put a link where we looked a moment ago
  return dir;
}

/**
 * What a run calls before it starts: the state directory exists, can be trusted, and can be
 * written (a full or read-only directory is an InputError naming the path). It also keeps a
 * small reserve file that the ledger frees when the disk fills during a run.
 */
export function ensureStateDir(dir: string): string {
  openStateDir(dir);
  checkStateDirWritable(dir);
  return dir;
}

/** Writes, syncs and removes a probe file, then makes sure the reserve exists. */
export function checkStateDirWritable(dir: string): void {
  const probe = join(dir, `probe.${process.pid}`);
  try {
    writeNew(probe, Buffer.alloc(4096, 0x2e));
  } catch (err) {
    rmSync(probe, { force: true });
    throw new InputError(
      `the state directory ${dir} cannot be written: ${describeIoError(err)}; free some space or point CHAOSKIT_STATE_DIR at a writable directory (nothing was started)`,
    );
  }
  rmSync(probe, { force: true });
  const reserve = join(dir, RESERVE_FILE);
  const st = lstatOrNull(reserve);
  if (st && st.isFile() && st.size >= RESERVE_BYTES) return;
  rmSync(reserve, { force: true });
  try {
    writeNew(reserve, Buffer.alloc(RESERVE_BYTES, 0x2e));
  } catch (err) {
    rmSync(reserve, { force: true });
    throw new InputError(
      `the state directory ${dir} has too little free space (${describeIoError(err)}); chaoskit keeps ${RESERVE_BYTES / 1024} KiB there so that reverts can always be recorded. Free some space or point CHAOSKIT_STATE_DIR elsewhere (nothing was started)`,
    );
  }
}

/** Frees the reserve (the disk is full and a ledger record must be written); true when freed. */
export function releaseReserve(dir: string): boolean {
  try {
    const st = lstatSync(join(dir, RESERVE_FILE));
    if (!st.isFile()) return false;
    rmSync(join(dir, RESERVE_FILE));
    return true;
  } catch {
    return false;
  }
}

/** Creates `path` (which must not exist), writes `data`, fsyncs; never through a link. */
export function writeNew(path: string, data: Buffer | string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600);
  try {
    writeAll(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces the contents of `path` (created 0600 if missing), never through a symbolic link. */
export function writeStateFile(path: string, data: string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | NOFOLLOW, 0o600);
  try {
    writeAll(fd, data);
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, data: Buffer | string): void {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off);
}

/** Disk full, quota, read-only and friends, in words; anything else by its message. */
export function describeIoError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOSPC':
      return 'no space left on device (ENOSPC)';
    case 'EDQUOT':
      return 'disk quota exceeded (EDQUOT)';
    case 'EROFS':
      return 'read-only file system (EROFS)';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${e.code})`;
    case 'EIO':
      return 'input/output error (EIO)';
    case 'ELOOP':
      return 'it is a symbolic link, which chaoskit never follows there (ELOOP)';
    default:
      return String((err as Error)?.message ?? err);
  }
}

/** Out of space (the reserve may help), as opposed to other I/O errors. */
export const isNoSpace = (err: unknown): boolean =>
  ['ENOSPC', 'EDQUOT'].includes((err as NodeJS.ErrnoException)?.code ?? '');
