/**
 * Process targets cannot hit bystanders (issue 13 item 2), with real processes this test starts:
 * `match` is whole arguments (a shell that merely mentions the string is not picked), `expect`
 * (1 by default) turns a broad match into an error listing every PID, and chaoskit's own
 * processes, their ancestors, PID 1, this process and other users' processes are never picked.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { faultDef } from '../../faults/index.ts';
import { createPrng } from '../../src/load/prng.ts';
import { CLI_BIN, PACKAGE_ROOT } from '../../src/core/paths.ts';
import type { Target } from '../../src/scenario/schema.ts';
import { target as targetSchema } from '../../src/scenario/schema.ts';
import {
  argvMatcher,
  isChaoskitProcess,
  markedEnv,
  previewProcessTarget,
  signal,
} from '../../src/targets/process.ts';
import { ownershipMark } from '../../src/targets/types.ts';
import { tempDir } from '../helpers/files.ts';
import { adopt, killAll, procState, spawnProc, waitUntil, type Proc } from '../helpers/procs.ts';

afterEach(killAll);

const marker = () => `chaoskit-test-${randomBytes(6).toString('hex')}`;
const idle = (...args: string[]): Proc =>
  spawnProc(process.execPath, ['-e', 'setInterval(() => {}, 1000)', ...args], {
    label: `idle ${args.join(' ')}`,
  });
/** Started and past exec (until then /proc shows the parent's command line). */
const up = (p: Proc) =>
  waitUntil(
    () => {
      try {
        return readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0')[0] === p.child.spawnfile;
      } catch {
        return false;
      }
    },
    10_000,
    `pid ${p.pid} (${p.label}) to start`,
  );

function prepare(type: 'pause' | 'crash', target: Target, pick: { count?: number } = {}, seed = 1) {
  const def = faultDef(type)!;
  return def.on.process!(
    {
      selfRevert: false,
      targetName: 'svc',
      target,
      faultId: 'f1',
      runId: 'picks',
      mark: ownershipMark('picks', 'f1'),
      leaseMs: 0,
      durationMs: 1_000,
      prng: createPrng(seed).fork('f1'),
      pick,
      log: () => {},
    },
    def.params.parse({}),
  );
}

describe('match is whole arguments, not a substring of the command line', () => {
  it('a decoy shell that mentions the match string is not picked; the real process is', async () => {
    const mark = marker();
    const real = idle('serve', mark);
    // The old substring match picked (and SIGSTOPped) this shell too.
    const decoy = spawnProc('/bin/sh', ['-c', `sleep 30; echo "${mark}"`], { label: 'decoy shell' });
    await Promise.all([up(real), up(decoy)]);
    const preview = previewProcessTarget({ match: `serve ${mark}` });
    expect(preview.pids).toEqual([real.pid]);
    expect(preview.problem).toBeNull();
    // Seeded picks can no longer land on the decoy: there is only one candidate.
    for (let seed = 0; seed < 6; seed++) {
      const prepared = await prepare('pause', { kind: 'process', match: mark }, { count: 1 });
      expect((prepared.recipe as { processes: { pid: number }[] }).processes.map((p) => p.pid)).toEqual([
        real.pid,
      ]);
      void seed;
    }
  });

  it('words match whole arguments in order; a word without / also matches a path’s last part', () => {
    const m = argvMatcher({ match: 'server.js --port 8080' })!;
    expect(m(['node', '/srv/app/server.js', '--port', '8080'])).toBe(true);
    expect(m(['node', '/srv/app/server.js', '--port', '80800'])).toBe(false);
    expect(m(['sh', '-c', 'node server.js --port 8080'])).toBe(false);
    expect(m(['node', 'server.js', '--port'])).toBe(false);
    const re = argvMatcher({ match: '/node .*server\\.js --port \\d+/' })!;
    expect(re(['/usr/bin/node', 'server.js', '--port', '1'])).toBe(false); // anchored: whole line
    expect(re(['node', '/srv/server.js', '--port', '1'])).toBe(true);
    const prefix = argvMatcher({ argv: ['node', 'server.js'] })!;
    expect(prefix(['/usr/local/bin/node', 'server.js', '--port', '1'])).toBe(true);
    expect(prefix(['node', '/srv/server.js'])).toBe(false);
  });

  it('a blank match is refused by the environment schema (exit 2 at validation)', () => {
    const r = targetSchema.safeParse({ kind: 'process', match: ' ' });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toMatch(/match names no argument/);
    expect(targetSchema.safeParse({ kind: 'process', match: '/(/' }).success).toBe(false);
    expect(targetSchema.safeParse({ kind: 'process', match: 'a', argv: ['a'] }).success).toBe(false);
  });
});

describe('expect: more or fewer matches than expected is a problem listing every PID', () => {
  it('a broad match (every process) is refused with each PID and command line; none is signalled', async () => {
    const mark = marker();
    const procs = [idle(mark), idle(mark)];
    await Promise.all(procs.map(up));
    const broad = previewProcessTarget({ match: '/.*/' }, 'target svc');
    expect(broad.pids.length).toBeGreaterThan(2);
    expect(broad.problem).toMatch(/^target svc: match "\/\.\*\/" picks \d+ processes, expected 1/);
    for (const p of procs) expect(broad.problem).toContain(`pid ${p.pid}: ${process.execPath} -e`);
    const def = faultDef('pause')!;
    expect(await def.preflight!({ kind: 'process', match: '/.*/' }, {})).toContain(`pid ${procs[0]!.pid}`);
    await expect(prepare('pause', { kind: 'process', match: '/.*/' })).rejects.toThrow(/expected 1/);
    for (const p of procs) expect(procState(p.pid)).not.toBe('T');

    // Two of the same: expect 2 (or any) says so; fewer than expected is a problem too.
    expect(previewProcessTarget({ match: mark }).problem).toMatch(/picks 2 processes, expected 1/);
    expect(previewProcessTarget({ match: mark, expect: 2 }).problem).toBeNull();
    expect(previewProcessTarget({ match: mark, expect: 'any' }).problem).toBeNull();
    expect(previewProcessTarget({ match: mark, expect: 3 }).problem).toMatch(/picks 2 processes, expected 3/);
    expect(previewProcessTarget({ match: marker() }).problem).toMatch(/picks 0 processes, expected 1/);
  });
});

describe('never picked: chaoskit, its ancestors, PID 1, this process, other users', () => {
  it('a second chaoskit CLI (node bin/chaos.mjs, a relative path, the npm .bin link, a sh -c wrapper) and its wrapper shell', async () => {
    const state = tempDir('chaoskit-state-');
    const env = { ...process.env, CHAOSKIT_STATE_DIR: state };
    const mark = marker();
    // `chaos proxy` stays up until killed: a second chaoskit process started four ways.
    const direct = spawnProc(process.execPath, [CLI_BIN, 'proxy', '--port', '0'], {
      env,
      label: 'chaos proxy',
    });
    const relative = spawnProc(process.execPath, ['./bin/chaos.mjs', 'proxy', '--port', '0'], {
      env,
      cwd: PACKAGE_ROOT,
      label: 'chaos proxy (relative)',
    });
    const npmBin = spawnProc(
      process.execPath,
      [join(PACKAGE_ROOT, 'node_modules', '.bin', 'chaos'), 'proxy', '--port', '0'],
      { env, label: 'chaos proxy (.bin)' },
    );
    // `; true` keeps the shell as the CLI's parent, like npm's `sh -c`.
    const wrapper = spawnProc(
      '/bin/sh',
      ['-c', `${process.execPath} ${CLI_BIN} proxy --port 0; true # ${mark}`],
      {
        env,
        label: 'sh -c chaos proxy',
      },
    );
    await Promise.all([direct, relative, npmBin, wrapper].map(up));
    // The shell's child: the CLI it started.
    const wrapped = await waitUntil(
      () =>
        previewProcessTarget({ match: '/.*chaos.* proxy --port 0/', expect: 'any' }).excluded.find(
          (x) => x.command === `${process.execPath} ${CLI_BIN} proxy --port 0` && x.pid !== direct.pid,
        ),
      10_000,
      'the CLI the wrapper shell started',
    );
    adopt(wrapped.pid); // the shell's child: killAll ends it too
    const preview = previewProcessTarget({ match: '/.*chaos.* proxy --port 0.*/', expect: 'any' });
    expect(preview.pids).toEqual([]);
    const why = new Map(preview.excluded.map((x) => [x.pid, x.why]));
    for (const p of [direct, relative, npmBin]) expect(why.get(p.pid)).toBe('a chaoskit process');
    expect(why.get(wrapped.pid)).toBe('a chaoskit process');
    expect(why.get(wrapper.pid)).toMatch(/^an ancestor of chaoskit process \d+$/);
    for (const p of [direct, relative, npmBin]) expect(isChaoskitProcess(p.pid)).toBe(true);
    // The wrapper shell (the CLI's parent) is excluded too, when matched on its own.
    const shell = previewProcessTarget({ match: `/.*${mark}/` });
    expect(shell.pids).toEqual([]);
    expect(shell.excluded.map((x) => x.why)).toEqual([
      expect.stringMatching(/^an ancestor of chaoskit process \d+$/),
    ]);
    expect(shell.problem).toMatch(/picks 0 processes.*\n.*not eligible: an ancestor of chaoskit process/);
    // And the signal itself refuses a chaoskit process, whatever recorded its PID.
    expect(signal({ pid: direct.pid, startTime: direct.startTime!, command: '' }, 'SIGSTOP')).toBe(false);
    expect(procState(direct.pid)).not.toBe('T');
  });

  it('processes chaoskit starts as its own machinery carry CHAOSKIT_PROCESS and are never picked; the demo api is', async () => {
    const mark = marker();
    const machinery = spawnProc(process.execPath, ['-e', 'setInterval(() => {}, 1000)', mark, 'machinery'], {
      env: markedEnv('holder'),
      label: 'marked',
    });
    const plain = idle(mark, 'plain');
    await Promise.all([machinery, plain].map(up));
    const p = previewProcessTarget({ match: mark, expect: 'any' });
    expect(p.pids).toEqual([plain.pid]);
    expect(p.excluded).toEqual([expect.objectContaining({ pid: machinery.pid, why: 'a chaoskit process' })]);
    // `chaos demo-api` is the demo's target: argv alone does not make it machinery.
    expect(isChaoskitProcess(1_000_000_000, ['node', CLI_BIN, 'demo-api', '--port', '1'])).toBe(false);
    expect(isChaoskitProcess(1_000_000_000, ['node', CLI_BIN, 'run', 'x'])).toBe(true);
  });

  it('PID 1, this process and its ancestors are never eligible, whatever the match', () => {
    const all = previewProcessTarget({ match: '/.*/', expect: 'any' });
    expect(all.pids).not.toContain(1);
    expect(all.pids).not.toContain(process.pid);
    expect(all.pids).not.toContain(process.ppid);
    const why = new Map(all.excluded.map((x) => [x.pid, x.why]));
    expect(why.get(process.pid)).toBe('this chaoskit process');
    expect(why.get(process.ppid)).toBe('an ancestor of this chaoskit process');
    expect(signal({ pid: process.ppid, startTime: 0, command: '' }, 'SIGCONT')).toBe(false);
  });

  it.skipIf(process.getuid?.() !== 0)(
    "another user's process is picked only with anyUser: true",
    async () => {
      const mark = marker();
      // Started as uid 65534 (nobody) through setpriv, which root may do.
      const nobody = spawnProc(
        'setpriv',
        [
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          process.execPath,
          '-e',
          'setInterval(() => {}, 1000)',
          mark,
        ],
        {
          label: 'as nobody',
        },
      );
      // setpriv itself runs as root until it switches to nobody and execs node (same PID): wait
      // for the switch, or the root setpriv can be seen for an instant and is rightly picked.
      await waitUntil(
        () =>
          previewProcessTarget({ match: mark, anyUser: true }).pids.length === 1 &&
          readFileSync(`/proc/${nobody.pid}/status`, 'utf8').includes('\nUid:\t65534\t'),
        10_000,
        'the process as nobody',
      );
      const p = previewProcessTarget({ match: mark });
      expect(p.pids).toEqual([]);
      expect(p.excluded[0]!.why).toMatch(/owned by uid 65534 \(set anyUser: true to allow\)/);
      expect(previewProcessTarget({ match: mark, anyUser: true }).pids).toEqual([nobody.pid]);
    },
  );
});
