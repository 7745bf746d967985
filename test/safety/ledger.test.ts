/** The fault ledger: open() semantics, torn lines, file modes, and concurrent writers. */
import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ledger, type LedgerEvent } from '../../src/safety/ledger.ts';
import { PACKAGE_ROOT } from '../../src/core/paths.ts';
import type { RevertRecipe } from '../../src/targets/types.ts';
import { tempDir } from '../helpers/files.ts';
import { killAll, spawnProc } from '../helpers/procs.ts';

afterEach(killAll);

const recipe = (toxic: string): RevertRecipe => ({
  driver: 'proxy',
  api: 'http://127.0.0.1:9',
  proxy: 'dep',
  toxic,
});

function intent(runId: string, faultId: string): LedgerEvent {
  return {
    event: 'intent',
    runId,
    faultId,
    type: 'latency',
    target: 'link',
    recipe: recipe(`chaoskit:${runId}:${faultId}`),
    description: `latency ${faultId}`,
    manualRevert: `curl -X DELETE ${faultId}`,
  };
}

describe('Ledger.open()', () => {
  it('follows intent → applied → reverted | revert-failed for each fault', () => {
    const l = new Ledger(tempDir());
    expect(l.open()).toEqual([]);

    l.append(intent('r1', 'f1'));
    expect(l.open()).toMatchObject([{ runId: 'r1', faultId: 'f1', applied: false, lastError: null }]);
    // An intent alone is open: the apply may have happened before the writer died.
    l.append({ event: 'applied', runId: 'r1', faultId: 'f1' });
    expect(l.open()).toMatchObject([{ faultId: 'f1', applied: true }]);

    l.append(intent('r1', 'f2'));
    l.append({ event: 'applied', runId: 'r1', faultId: 'f2' });
    l.append({ event: 'revert-failed', runId: 'r1', faultId: 'f2', by: 'schedule', error: 'proxy down' });
    // A failed revert leaves the fault open, with the error.
    expect(l.open().map((f) => [f.faultId, f.lastError])).toEqual([
      ['f1', null],
      ['f2', 'proxy down'],
    ]);

    l.append({ event: 'reverted', runId: 'r1', faultId: 'f1', by: 'schedule', outcome: 'reverted' });
    expect(l.open().map((f) => f.faultId)).toEqual(['f2']);
    l.append({
      event: 'reverted',
      runId: 'r1',
      faultId: 'f2',
      by: 'emergency-stop',
      outcome: 'already-gone',
    });
    expect(l.open()).toEqual([]);
    expect(l.read()).toHaveLength(7);
  });

  it('keeps runs apart, orders by intent (oldest first) and ignores events without an intent', () => {
    const l = new Ledger(tempDir());
    l.append(intent('a', 'f1'));
    l.append(intent('b', 'f1'));
    l.append(intent('a', 'f2'));
    l.append({ event: 'applied', runId: 'c', faultId: 'f9' }); // no intent: nothing to revert
    l.append({ event: 'revert-failed', runId: 'c', faultId: 'f8', by: 'guard', error: 'x' });
    l.append({ event: 'reverted', runId: 'b', faultId: 'f1', by: 'guard', outcome: 'reverted' });
    expect(l.open().map((f) => `${f.runId}/${f.faultId}`)).toEqual(['a/f1', 'a/f2']);
    expect(l.open('a').map((f) => f.faultId)).toEqual(['f1', 'f2']);
    expect(l.open('b')).toEqual([]);
    const [first, second] = l.open();
    expect(first!.seq).toBeLessThan(second!.seq);
    // The recipe comes back exactly as written: a process that never saw the fault can undo it.
    expect(first!.recipe).toEqual(recipe('chaoskit:a:f1'));
  });

  it('reopens a fault whose apply landed after another layer reverted it (the latest event counts)', () => {
    const l = new Ledger(tempDir());
    // emergency-stop read the intent and found nothing yet (already gone); the apply in flight then landed.
    l.append(intent('r1', 'f1'));
    l.append({
      event: 'reverted',
      runId: 'r1',
      faultId: 'f1',
      by: 'emergency-stop',
      outcome: 'already-gone',
    });
    expect(l.open()).toEqual([]);
    l.append({ event: 'applied', runId: 'r1', faultId: 'f1' });
    expect(l.open()).toMatchObject([
      { runId: 'r1', faultId: 'f1', applied: true, recipe: recipe('chaoskit:r1:f1') },
    ]);
    l.append({ event: 'reverted', runId: 'r1', faultId: 'f1', by: 'runner-exit', outcome: 'reverted' });
    expect(l.open()).toEqual([]);
  });

  it('tolerates a torn last line, and an entry appended after it is not lost', () => {
    const dir = tempDir();
    const l = new Ledger(dir);
    l.append(intent('r1', 'f1'));
    l.append({ event: 'applied', runId: 'r1', faultId: 'f1' });
    // A writer died mid-line: partial JSON, no newline.
    appendFileSync(l.file, '{"ts":"2026-01-01T00:00:00.000Z","event":"reverted","runId":"r1","fau');
    expect(l.read()).toHaveLength(2);
    expect(l.open().map((f) => f.faultId)).toEqual(['f1']);

    // The next writer must not glue its entry onto the torn line (that would lose the entry).
    l.append({ event: 'reverted', runId: 'r1', faultId: 'f1', by: 'guard', outcome: 'reverted' });
    expect(l.open()).toEqual([]);
    l.append(intent('r2', 'f1'));
    expect(new Ledger(dir).open().map((f) => `${f.runId}/${f.faultId}`)).toEqual(['r2/f1']);
    expect(l.read()).toHaveLength(4);
  });

  it('skips garbage lines in the middle without dropping their neighbours', () => {
    const l = new Ledger(tempDir());
    l.append(intent('r1', 'f1'));
    appendFileSync(l.file, 'not json at all\n\n   \n');
    l.append(intent('r1', 'f2'));
    expect(l.open().map((f) => f.faultId)).toEqual(['f1', 'f2']);
  });
});

describe('state directory and ledger permissions', () => {
  it('creates the ledger 0600 and the state directory 0700 (and leaves an existing directory’s mode alone)', () => {
    const dir = join(tempDir(), 'state');
    const l = new Ledger(dir);
    l.append(intent('r1', 'f1'));
    expect(statSync(l.file).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'runs')).mode & 0o777).toBe(0o700);

    const loose = join(tempDir(), 'loose');
    mkdirSync(loose, { mode: 0o755 });
    chmodSync(loose, 0o755);
    new Ledger(loose).append(intent('r1', 'f1'));
    // CHAOSKIT_STATE_DIR=/tmp must not lock down /tmp: only a directory we create is made 0700.
    expect(statSync(loose).mode & 0o777).toBe(0o755);
    expect(statSync(join(loose, 'ledger.jsonl')).mode & 0o777).toBe(0o600);
  });
});

describe('concurrent writers', () => {
  it('two processes appending 200 entries each (some larger than a pipe buffer) leave 400 whole lines', async () => {
    const dir = tempDir();
    const ledgerUrl = pathToFileURL(join(PACKAGE_ROOT, 'src/safety/ledger.ts')).href;
    const script = join(dir, 'writer.mts');
    writeFileSync(
      script,
      `import { Ledger } from ${JSON.stringify(ledgerUrl)};
const [stateDir, who, startAt] = process.argv.slice(2);
const l = new Ledger(stateDir);
while (Date.now() < Number(startAt)) await new Promise((r) => setTimeout(r, 5));
for (let i = 0; i < 200; i++) {
  l.append({
    event: 'intent', runId: who, faultId: 'f' + i, type: 'latency', target: 'link',
    recipe: { driver: 'proxy', api: 'http://127.0.0.1:9', proxy: 'dep', toxic: 'chaoskit:' + who + ':f' + i },
    description: (who + i + ' ').repeat(i % 10 === 0 ? 1200 : 3), manualRevert: 'x',
  });
}
`,
    );
    const state = join(dir, 'state');
    const startAt = Date.now() + 2_500; // both have loaded tsx by then, so their loops overlap
    const writers = ['A', 'B'].map((who) =>
      spawnProc(process.execPath, ['--import', 'tsx', script, state, who, String(startAt)], {
        label: `writer ${who}`,
      }),
    );
    const exits = await Promise.all(writers.map((w) => w.wait(20_000)));
    expect(
      exits.map((e) => e.code),
      writers.map((w) => w.output()).join('\n'),
    ).toEqual([0, 0]);

    const text = readFileSync(join(state, 'ledger.jsonl'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    // A writer that sees another's line still being written starts on a fresh line: at worst an
    // empty line (skipped by read()), never two entries glued together or one cut in half.
    const lines = text.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(400);
    const entries = lines.map(
      (line) => JSON.parse(line) as { runId: string; faultId: string; description: string },
    );
    for (const who of ['A', 'B']) {
      const mine = entries.filter((e) => e.runId === who);
      // Each writer's entries are all there, whole, in its own order.
      expect(mine.map((e) => e.faultId)).toEqual(Array.from({ length: 200 }, (_, i) => `f${i}`));
      for (const [i, e] of mine.entries()) expect(e.description.startsWith(`${who}${i} `)).toBe(true);
    }
    // They really interleaved (otherwise this proves little).
    const firstB = entries.findIndex((e) => e.runId === 'B');
    const lastA = entries.map((e) => e.runId).lastIndexOf('A');
    const firstA = entries.findIndex((e) => e.runId === 'A');
    const lastB = entries.map((e) => e.runId).lastIndexOf('B');
    console.log(`ledger writers interleaved: A ${firstA}..${lastA}, B ${firstB}..${lastB}`);
    expect(new Ledger(state).open()).toHaveLength(400);
  });
});
