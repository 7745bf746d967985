/**
 * CPU stress: N worker threads, each busy for `dutyPct` of every 100 ms slice and idle for
 * the rest, so "2 cores at 50%" is what `top` shows.
 */
import { Worker } from 'node:worker_threads';

const WORKER = `
const { workerData } = require('node:worker_threads');
const slice = 100, busy = slice * workerData.duty;
function tick() {
  const start = Date.now();
  while (Date.now() - start < busy) { /* spin */ }
  setTimeout(tick, Math.max(0, slice - (Date.now() - start)));
}
tick();
`;

export function holdCpu(cores: number, dutyPct: number): Worker[] {
  return Array.from(
    { length: cores },
    () => new Worker(WORKER, { eval: true, workerData: { duty: dutyPct / 100 } }),
  );
}
