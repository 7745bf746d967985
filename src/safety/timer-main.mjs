// A fault's self-reverting timer (armed by src/targets/self-revert.ts): plain Node while it waits, so it
// starts in a fraction of the CLI's time and holds a few MB. Glances at the ledger every 2 s and
// exits once the fault is closed; at its deadline it loads the revert code and reverts.
//   node timer-main.mjs --state DIR --run RUN --fault FAULT --mark MARK --at EPOCH_MS
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const args = {};
for (let i = 2; i + 1 < process.argv.length; i += 2)
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const at = Number(args.at);
if (!args.state || !args.run || !args.fault || !args.mark || !Number.isFinite(at)) {
  process.stderr.write('timer-main: usage: --state DIR --run RUN --fault FAULT --mark MARK --at EPOCH_MS\n');
  process.exit(2);
}
process.on('SIGTERM', () => process.exit(0));

/** Is the fault's latest ledger event `reverted`? (Only ever used to stop early, never to act.) */
function closed() {
  let text;
  try {
    const fd = openSync(join(args.state, 'ledger.jsonl'), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
  let last = null;
  const key = `"faultId":"${args.fault}"`;
  for (const line of text.split('\n')) {
    if (!line.includes(key)) continue;
    try {
      const e = JSON.parse(line);
      if (e.runId === args.run && e.faultId === args.fault) last = e.event;
    } catch {
      // a torn line
    }
  }
  return last === 'reverted';
}

for (;;) {
  const left = at - Date.now();
  if (left <= 0) break;
  await new Promise((r) => setTimeout(r, Math.min(left, 2_000)));
  if (closed()) process.exit(0);
}
const { register } = await import('tsx/esm/api');
register();
const { fireTimer } = await import('./timer-fire.ts');
process.exit(await fireTimer(args.state, args.run, args.fault));
