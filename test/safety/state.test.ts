/**
 * The state directory as a trust boundary (issue 13 item 1) and under I/O faults (item 3): a
 * directory or ledger someone else could write, or a symbolic link there, is refused (exit 2,
 * with why and the fix); a full or read-only directory is refused before a run, naming the
 * path; a full disk during a run still lets the revert path record (the reserve), and a record
 * that cannot be made durable is a LedgerWriteError (exit 4).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { ExitCode, InputError } from '../../src/core/errors.ts';
import { Ledger, LedgerWriteError, type LedgerEvent } from '../../src/safety/ledger.ts';
import { heartbeat, lastHeartbeatMs, listRuns, registerRun } from '../../src/safety/runs.ts';
import { ensureStateDir, openStateDir, RESERVE_BYTES, RESERVE_FILE } from '../../src/safety/state.ts';
import { processStartTime } from '../../src/targets/process.ts';
import { tempDir } from '../helpers/files.ts';
import { fill, mountUnavailable, readOnlyView, smallTmpfs, unmountAll } from './mounts.ts';

afterEach(unmountAll);

const intent = (runId: string, faultId: string): Extract<LedgerEvent, { event: 'intent' }> => ({
  event: 'intent',
  runId,
  faultId,
  type: 'latency',
  target: 'link',
  recipe: { driver: 'proxy', api: 'http://127.0.0.1:9', proxy: 'dep', toxic: `chaoskit:${runId}:${faultId}` },
  description: 'x',
  manualRevert: 'x',
});

function refusal(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).exitCode).toBe(ExitCode.invalidInput);
    return err as InputError;
  }
  throw new Error('expected an InputError, nothing was thrown');
}

describe('trust boundary', () => {
  it('refuses a state directory writable by group or others (0777), saying why and how to fix it', () => {
    const dir = join(tempDir(), 'state');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const err = refusal(() => new Ledger(dir));
    expect(err.message).toBe(
      `unsafe state directory: ${dir} is writable by group and others (mode 0777); anyone who can write there could make chaoskit act for them. Fix: chmod 700 ${dir}`,
    );
    refusal(() => ensureStateDir(dir));
    chmodSync(dir, 0o700);
    expect(() => new Ledger(dir)).not.toThrow();
  });

  it('refuses a ledger writable by others (0666) and a runs/ directory writable by the group', () => {
    const dir = tempDir();
    const l = new Ledger(dir);
    l.append(intent('r1', 'f1'));
    chmodSync(l.file, 0o666);
    expect(refusal(() => new Ledger(dir)).message).toMatch(
      /ledger\.jsonl is writable by group and others \(mode 0666\).*chmod 600/,
    );
    // Also when the ledger is loosened after the Ledger was made: every read and write checks.
    expect(() => l.read()).toThrow(/mode 0666/);
    expect(() => l.append(intent('r1', 'f2'))).toThrow(/mode 0666/);
    chmodSync(l.file, 0o600);
    chmodSync(join(dir, 'runs'), 0o770);
    expect(refusal(() => openStateDir(dir)).message).toMatch(/runs is writable by group \(mode 0770\)/);
  });

  it.skipIf(process.getuid?.() !== 0)('refuses a state directory owned by another user', () => {
    const dir = join(tempDir(), 'theirs');
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    expect(refusal(() => new Ledger(dir)).message).toMatch(/is owned by uid 65534, not by you \(uid 0\)/);
  });

  it('never follows a symbolic link: not for the directory, its ledger or its run files', () => {
    const real = tempDir();
    const link = join(tempDir(), 'state-link');
    symlinkSync(real, link);
    expect(refusal(() => new Ledger(link)).message).toMatch(
      /state-link is a symbolic link; chaoskit never follows one/,
    );

    // A ledger replaced by a link to a file elsewhere (say the user's shell profile).
    const dir = tempDir();
    const victim = join(tempDir(), 'victim');
    writeFileSync(victim, 'precious\n');
    const l = new Ledger(dir);
    symlinkSync(victim, l.file);
    expect(refusal(() => new Ledger(dir)).message).toMatch(/ledger\.jsonl is a symbolic link/);
    expect(() => l.append(intent('r1', 'f1'))).toThrow(); // O_NOFOLLOW: ELOOP, never written through
    expect(() => l.read()).toThrow(/symbolic link/);
    unlinkSync(l.file);
    expect(statSync(victim).size).toBe('precious\n'.length);

    // A run file planted as a link: registering the run refuses to write through it.
    const runDir = tempDir();
    ensureStateDir(runDir);
    symlinkSync(victim, join(runDir, 'runs', 'r1.json'));
    expect(() =>
      registerRun(runDir, {
        runId: 'r1',
        pid: process.pid,
        startTime: processStartTime(process.pid)!,
        guardPid: null,
        scenario: 's',
        startedAt: new Date().toISOString(),
      }),
    ).toThrow(/cannot register the run/);
    expect(statSync(victim).size).toBe('precious\n'.length);
  });
});

describe.skipIf(mountUnavailable !== null)('full and read-only state directories', () => {
  if (mountUnavailable) console.log(`skipped: ${mountUnavailable}`);

  it('a full state directory before the run: InputError naming the path, nothing left behind', () => {
    const dir = smallTmpfs(64);
    fill(join(dir, 'other'));
    const err = refusal(() => ensureStateDir(dir));
    expect(err.message).toBe(
      `the state directory ${dir} cannot be written: no space left on device (ENOSPC); free some space or point CHAOSKIT_STATE_DIR at a writable directory (nothing was started)`,
    );
    expect(readdirSync(dir).sort()).toEqual(['locks', 'other', 'runs']);
  });

  it('a read-only state directory before the run: InputError naming the path', () => {
    const dir = tempDir();
    ensureStateDir(dir);
    const ro = readOnlyView(dir);
    const err = refusal(() => ensureStateDir(ro));
    expect(err.message).toMatch(
      new RegExp(`^the state directory ${ro} cannot be written: read-only file system \\(EROFS\\)`),
    );
    // Reading still works there: status and emergency-stop can look.
    expect(new Ledger(ro).open()).toEqual([]);
  });

  it('a disk that fills during a run: the reserve is freed so reverts are still recorded; the heartbeat needs no space', () => {
    const dir = smallTmpfs(RESERVE_BYTES / 1024 + 64);
    ensureStateDir(dir);
    expect(statSync(join(dir, RESERVE_FILE)).size).toBe(RESERVE_BYTES);
    const l = new Ledger(dir);
    l.append(intent('r1', 'f1'));
    registerRun(dir, {
      runId: 'r1',
      pid: process.pid,
      startTime: processStartTime(process.pid)!,
      guardPid: null,
      scenario: 's',
      startedAt: new Date().toISOString(),
    });
    fill(join(dir, 'other'));
    // Heartbeats go on: they set a time, they write nothing.
    const old = (Date.now() - 60_000) / 1000;
    utimesSync(join(dir, 'runs', 'r1.hb'), old, old);
    expect(heartbeat(dir, 'r1')).toBe(true);
    expect(Date.now() - lastHeartbeatMs(dir, 'r1')!).toBeLessThan(5_000);
    // The records go through, using the reserve (a record bigger than what is left in the
    // ledger's last page needs new space).
    l.append({ ...intent('r1', 'f2'), description: 'x'.repeat(8192) });
    expect(existsSync(join(dir, RESERVE_FILE))).toBe(false);
    l.append({ event: 'reverted', runId: 'r1', faultId: 'f2', by: 'runner-exit', outcome: 'reverted' });
    l.append({ event: 'reverted', runId: 'r1', faultId: 'f1', by: 'runner-exit', outcome: 'reverted' });
    expect(l.open()).toEqual([]);
    expect(listRuns(dir).map((r) => r.runId)).toEqual(['r1']);
  });

  it('a record that cannot be made durable: LedgerWriteError, exit 4, the ledger path named', () => {
    const dir = smallTmpfs(64);
    const l = new Ledger(dir); // no reserve: a state directory chaoskit never prepared for a run
    l.append(intent('r1', 'f1'));
    fill(join(dir, 'other'));
    let err: unknown;
    try {
      // Bigger than what is left in the ledger's last page.
      l.append({ ...intent('r1', 'f2'), description: 'x'.repeat(8192) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LedgerWriteError);
    expect((err as LedgerWriteError).exitCode).toBe(ExitCode.revertFailed);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^could not record "intent" of fault r1/f2 in the ledger ${l.file}: no space left on device \\(ENOSPC\\)`,
      ),
    );
    // What was there is intact and readable.
    expect(l.open().map((f) => f.faultId)).toEqual(['f1']);
  });

  it('registering a run on a full disk: InputError naming the runs directory, no stray run file', () => {
    const dir = smallTmpfs(RESERVE_BYTES / 1024 + 64);
    ensureStateDir(dir);
    fill(join(dir, 'other'));
    // The reserve is for reverts, not for starting runs: ensureStateDir fails first.
    const err = refusal(() =>
      registerRun(dir, {
        runId: 'r1',
        pid: process.pid,
        startTime: processStartTime(process.pid)!,
        guardPid: null,
        scenario: 's',
        startedAt: new Date().toISOString(),
      }),
    );
    expect(err.message).toContain(dir);
    expect(readdirSync(join(dir, 'runs'))).toEqual([]);
  });
});
