/**
 * The ledger holds data, not programs (issue 13 item 1): lines planted in it are reported and
 * never executed. Each planted recipe below is what made `chaos emergency-stop` delete an
 * arbitrary file or run an arbitrary command before; each one is checked against what chaoskit
 * itself could have written, bound to the line's own run and fault.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmergencyStop } from '../../src/safety/emergency-stop.ts';
import { Ledger } from '../../src/safety/ledger.ts';
import { revertFault } from '../../src/safety/revert.ts';
import { fillFileName } from '../../src/targets/fill.ts';
import { recipeProblem } from '../../src/targets/recipes.ts';
import { tempDir } from '../helpers/files.ts';
import { killAll } from '../helpers/procs.ts';

afterEach(killAll);

const line = (runId: string, faultId: string, recipe: unknown) =>
  `${JSON.stringify({
    ts: new Date().toISOString(),
    event: 'intent',
    runId,
    faultId,
    type: 'x',
    target: 't',
    recipe,
    description: 'planted',
    manualRevert: 'rm -rf ~',
  })}\n`;

/** A state directory whose ledger holds one planted line per attack, and what each would touch. */
function planted() {
  const dir = tempDir();
  const ledger = new Ledger(dir);
  const victim = join(tempDir(), 'victim.txt');
  writeFileSync(victim, 'precious\n');
  const pwned = join(tempDir(), 'pwned');
  const lines = [
    // Delete an arbitrary file.
    line('evil', 'f1', { driver: 'file', path: victim, mark: 'chaoskit:evil:f1' }),
    // Run an arbitrary shell command (the restart command used to come from the ledger).
    line('evil', 'f2', {
      driver: 'process',
      action: 'restart',
      killed: [{ pid: 99999, startTime: 1, command: 'x' }],
      restart: `touch ${pwned}`,
    }),
    // Run an arbitrary program as a network "undo".
    line('evil', 'f3', {
      driver: 'netns-cmd',
      mark: 'chaoskit:evil:f3',
      places: [{ enter: { netns: 'x' }, undo: [['sh', '-c', `touch ${pwned}`]] }],
    }),
    // A proxy API somewhere else on the network, named by no environment.
    line('evil', 'f4', {
      driver: 'proxy',
      api: 'http://10.1.2.3:8474',
      proxy: 'p',
      toxic: 'chaoskit:evil:f4',
    }),
    // Kill another fault's holders (a mark not its own).
    line('evil', 'f5', { driver: 'holder', kind: 'cpu', mark: 'chaoskit:victim-run:f1' }),
    // A path traversal dressed as a fill file.
    line('evil', 'f6', {
      driver: 'file',
      path: `/tmp/.chaoskit-fill/../${victim}`,
      mark: 'chaoskit:evil:f6',
    }),
    // Not even JSON.
    'rm -rf / # not json\n',
  ];
  appendFileSync(ledger.file, lines.join(''));
  return { dir, ledger, victim, pwned };
}

describe('planted ledger lines', () => {
  it('are reported with their line number and why, and are never open', () => {
    const { ledger } = planted();
    expect(ledger.open()).toEqual([]);
    const invalid = ledger.invalid();
    expect(invalid.map((l) => l.line)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(invalid.map((l) => l.problem)).toEqual([
      expect.stringMatching(/is not inside a chaoskit fill directory/),
      expect.stringMatching(/^recipe \(driver "process"\) is not one chaoskit writes/),
      expect.stringMatching(/^undo command \["sh","-c",.* is not one chaoskit makes$/),
      'proxy API http://10.1.2.3:8474 is not on loopback and the recipe names no environment file to check it against',
      "holder mark chaoskit:victim-run:f1 is not this fault's mark chaoskit:evil:f5",
      expect.stringMatching(/is not an absolute, normalised path/),
      'not JSON (a torn write, or not written by chaoskit)',
    ]);
  });

  it('emergency-stop reports them, executes none of them, and has nothing left open', async () => {
    const { dir, victim, pwned } = planted();
    const lines: string[] = [];
    const report = await new EmergencyStop(dir, { graceMs: 1_000 }).run((l) => lines.push(l));
    expect(report).toMatchObject({ reverted: 0, remaining: 0, invalid: 7 });
    expect(lines.filter((l) => l.startsWith('ignored ledger line'))).toHaveLength(7);
    expect(lines[0]).toMatch(/^ignored ledger line .*ledger\.jsonl:1 \(never executed\): /);
    await new Promise((r) => setTimeout(r, 300));
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(existsSync(pwned)).toBe(false);
  });

  it('a well-formed fill recipe still deletes only a marked file of its own fill directory: never through a link, never an unmarked file', async () => {
    const dir = tempDir();
    const ledger = new Ledger(dir);
    const fillDir = join(tempDir(), '.chaoskit-fill');
    mkdirSync(fillDir, { mode: 0o700 });
    const victim = join(tempDir(), 'victim.txt');
    writeFileSync(victim, 'precious\n');
    // A link with the right name, pointing at the victim.
    const linked = join(fillDir, fillFileName('chaoskit:evil:f7'));
    symlinkSync(victim, linked);
    // A regular file with the right name but without chaoskit's marker.
    const unmarked = join(fillDir, fillFileName('chaoskit:evil:f8'));
    writeFileSync(unmarked, 'a user file that happens to have this name\n');
    appendFileSync(
      ledger.file,
      line('evil', 'f7', { driver: 'file', path: linked, mark: 'chaoskit:evil:f7' }) +
        line('evil', 'f8', { driver: 'file', path: unmarked, mark: 'chaoskit:evil:f8' }),
    );
    expect(ledger.invalid()).toEqual([]); // well-formed: the check happens against the world
    const lines: string[] = [];
    const report = await new EmergencyStop(dir, { graceMs: 1_000 }).run((l) => lines.push(l));
    expect(report.remaining).toBe(2);
    expect(lines.join('\n')).toMatch(
      /could NOT revert evil\/f7 .*refusing to delete .*: it is a symbolic link/,
    );
    expect(lines.join('\n')).toMatch(/could NOT revert evil\/f8 .*does not start with chaoskit's marker/);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(readFileSync(unmarked, 'utf8')).toMatch(/a user file/);
  });

  it('recipes are bound to their own fault: a toxic or rule mark of another fault is refused', () => {
    const proxy = { driver: 'proxy', api: 'http://127.0.0.1:8474', proxy: 'p', toxic: 'chaoskit:r1:f1' };
    expect(recipeProblem(proxy, 'r1', 'f1')).toBeNull();
    expect(recipeProblem(proxy, 'r1', 'f2')).toMatch(/does not carry this fault's mark chaoskit:r1:f2/);
    expect(recipeProblem({ ...proxy, api: 'http://[::1]:8474' }, 'r1', 'f1')).toBeNull();
    const rule = [
      'iptables',
      '-w',
      '5',
      '-D',
      'INPUT',
      '-s',
      '10.0.0.2',
      '-m',
      'comment',
      '--comment',
      'chaoskit:r1:f1',
      '-j',
      'DROP',
    ];
    const netns = {
      driver: 'netns-cmd',
      mark: 'chaoskit:r1:f1',
      places: [{ enter: { netns: 'ns-a' }, undo: [rule] }],
    };
    expect(recipeProblem(netns, 'r1', 'f1')).toBeNull();
    const flush = { ...netns, places: [{ enter: { netns: 'ns-a' }, undo: [['iptables', '-w', '5', '-F']] }] };
    expect(recipeProblem(flush, 'r1', 'f1')).toMatch(/is not one chaoskit makes/);
    const traversal = { ...netns, places: [{ enter: { netns: '../../etc' }, undo: [rule] }] };
    expect(recipeProblem(traversal, 'r1', 'f1')).toMatch(/not one chaoskit writes/);
  });

  it('revertFault on a valid line goes through the lock and records once; a second writer finds it closed', async () => {
    const dir = tempDir();
    const ledger = new Ledger(dir);
    const f = {
      runId: 'r1',
      faultId: 'f1',
      recipe: { driver: 'holder' as const, kind: 'cpu' as const, mark: 'chaoskit:r1:f1' },
    };
    ledger.append({
      event: 'intent',
      ...f,
      type: 'cpu-stress',
      target: 'host',
      description: 'x',
      manualRevert: 'x',
    });
    let calls = 0;
    const slow = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 300));
      return 'reverted' as const;
    };
    const [a, b] = await Promise.all([
      revertFault(ledger, f, 'guard', { revert: slow }),
      revertFault(ledger, f, 'emergency-stop', { revert: slow }),
    ]);
    expect(calls).toBe(1);
    expect([a.outcome, b.outcome].sort()).toEqual(['reverted', 'reverted-by-other']);
    expect(ledger.read().filter((e) => e.event === 'reverted')).toHaveLength(1);
    expect(ledger.revertedBy('r1', 'f1')).toMatchObject({
      by: expect.stringMatching(/^(guard|emergency-stop)$/),
    });
  });
});

describe('a proxy API off loopback', () => {
  it('is used by a revert only when the environment file (unchanged since the fault) names it for that target', async () => {
    const { environmentRef } = await import('../../src/targets/env-ref.ts');
    const { revertRecipe } = await import('../../src/targets/revert.ts');
    const dir = tempDir();
    const envFile = join(dir, 'env.yaml');
    // Only refusals are exercised: nothing here may send a request off this machine.
    writeFileSync(envFile, 'targets:\n  link: { kind: proxy, proxy: dep, api: "http://10.9.8.7:8474" }\n');
    const ref = environmentRef(envFile, 'link');
    const planted = {
      driver: 'proxy' as const,
      api: 'http://10.1.2.3:8474',
      proxy: 'dep',
      toxic: 'chaoskit:r1:f1',
      environment: ref,
    };
    expect(recipeProblem(planted, 'r1', 'f1')).toBeNull(); // well-formed; checked against the file at revert time
    await expect(revertRecipe(planted)).rejects.toThrow(
      /proxy dep at http:\/\/10\.1\.2\.3:8474 is not target link of .*env\.yaml; not reverting through it/,
    );
    writeFileSync(envFile, 'targets:\n  link: { kind: proxy, proxy: dep, api: "http://10.1.2.3:8474" }\n');
    await expect(revertRecipe(planted)).rejects.toThrow(
      /changed since the fault was applied \(sha256 differs\)/,
    );
  });
});
