/**
 * Live progress. It only listens to run events: on a TTY one line redrawn in place; elsewhere
 * one plain line every few seconds (CI logs stay readable).
 */
import type { Progress, RunHandle } from '../run.ts';
import { formatDuration } from '../core/units.ts';

export function progressLine(p: Progress, width = 20): string {
  const frac = Math.min(1, p.elapsedMs / Math.max(1, p.durationMs));
  const filled = Math.round(frac * width);
  const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
  const p99 = p.p99Ms === null ? '–' : `${p.p99Ms < 10 ? p99Fmt(p.p99Ms) : Math.round(p.p99Ms)}ms`;
  const errPct = p.ok + p.failed > 0 ? ((p.failed / (p.ok + p.failed)) * 100).toFixed(1) : '0.0';
  const faults = p.activeFaults.length ? `  faults ${p.activeFaults.join(',')}` : '';
  const sat = p.saturated ? '  ⚠ generator saturated' : '';
  return `${bar} ${formatDuration(p.elapsedMs).padStart(6)}/${formatDuration(p.durationMs)}  rate ${p.achievedRate}/${p.requestedRate} req/s  p99 ${p99}  errors ${errPct}%  total ${p.totalSent}${faults}${sat}`;
}

function p99Fmt(ms: number): string {
  return ms.toFixed(1);
}

export function attachProgress(run: RunHandle, out: NodeJS.WriteStream, everyS = 5): () => void {
  const tty = out.isTTY === true;
  let last = '';
  const onProgress = (p: Progress) => {
    const line = progressLine(p);
    if (tty) {
      out.write(`\r\x1b[2K${line.slice(0, (out.columns || 120) - 1)}`);
      last = line;
    } else if (p.second % everyS === everyS - 1) {
      out.write(`${line}\n`);
    }
  };
  const onLog = (l: string) => out.write(`${tty && last ? '\r\x1b[2K' : ''}${l}\n`);
  run.on('second', onProgress);
  run.on('log', onLog);
  return () => {
    run.off('second', onProgress);
    run.off('log', onLog);
    if (tty && last) out.write('\n');
  };
}
