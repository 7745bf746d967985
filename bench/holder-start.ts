/**
 * Start-to-ready of a host-fault holder: spawn → the holder's `{ready}` IPC message, N starts of
 * each entry, interleaved so both see the same machine load. A memory holder of 0 bytes, so
 * only start-up is measured.
 *
 *   npx tsx bench/holder-start.ts [--n 20] [--cli PATH_TO_bin/chaos.mjs]
 *
 * `entry`: the holder's own plain-JavaScript entry (src/stress/holder-main.mjs), as chaoskit
 * starts holders now. `cli`: the full CLI (`chaos _hold`), as holders were started before; pass
 * --cli to time another checkout's CLI (e.g. the one before this change).
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { CLI_BIN } from '../src/core/paths.ts';
import { HOLDER_MAIN } from '../src/targets/holder.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const n = Number(arg('n', '20'));
const cli = arg('cli', CLI_BIN);

function once(argv: string[]): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => (child.kill('SIGKILL'), reject(new Error('no ready within 60s'))), 60_000);
    child.once('message', (m: { ready?: boolean; error?: string }) => {
      clearTimeout(t);
      const ms = performance.now() - t0;
      child.once('exit', () => (m.ready ? resolve(ms) : reject(new Error(m.error))));
      child.kill('SIGKILL');
    });
    child.once('error', reject);
  });
}

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

const mark = `chaoskit:bench-${process.pid}:holder`;
const args = ['memory', '--mark', mark, '--max-ms', '60000', '--bytes', '0'];
const times: Record<'entry' | 'cli', number[]> = { entry: [], cli: [] };
const load0 = loadavg()[0]!;
for (let i = 0; i < n; i++) {
  times.entry.push(await once([HOLDER_MAIN, ...args]));
  times.cli.push(await once([cli, '_hold', ...args]));
}
console.log(
  `holder start-to-ready, ${n} starts each, load average ${load0.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}`,
);
for (const [name, xs] of Object.entries(times))
  console.log(
    `${name.padEnd(6)} p50 ${q(xs, 50).toFixed(0)} ms  p99 ${q(xs, 99).toFixed(0)} ms  min ${Math.min(...xs).toFixed(0)} ms  max ${Math.max(...xs).toFixed(0)} ms`,
  );
