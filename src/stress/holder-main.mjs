// A resource holder for host faults (src/targets/holder.ts): takes CPU, memory or GPU and keeps
// it until killed or its own deadline passes. Plain JavaScript so that it starts without the
// TypeScript loader or the CLI (the GPU kinds load it, for the CUDA bindings, only when asked).
//   node holder-main.mjs KIND --mark M --max-ms N [--cores C --duty PCT --bytes B --fraction F --device D]
// Reports {ready} or {error} over IPC, then holds.
import { pathToFileURL } from 'node:url';
import { Buffer } from 'node:buffer';
import { setInterval } from 'node:timers';
import { Worker } from 'node:worker_threads';

const KINDS = ['cpu', 'memory', 'gpu-memory', 'gpu-stress'];

// N worker threads, each busy for `duty` of every 100 ms slice: "2 cores at 50%" is what top shows.
const CPU_WORKER = `
const { workerData } = require('node:worker_threads');
const slice = 100, busy = slice * workerData.duty;
function tick() {
  const start = Date.now();
  while (Date.now() - start < busy) { /* spin */ }
  setTimeout(tick, Math.max(0, slice - (Date.now() - start)));
}
tick();
`;

/** Resolves once every worker runs: the holder reports ready only when the cores are busy. */
export async function holdCpu(cores, dutyPct) {
  const workers = Array.from(
    { length: cores },
    () => new Worker(CPU_WORKER, { eval: true, workerData: { duty: dutyPct / 100 } }),
  );
  await Promise.all(
    workers.map(
      (w) => new Promise((resolve, reject) => (w.once('online', resolve), w.once('error', reject))),
    ),
  );
  return workers;
}

const MEMORY_CHUNK = 64 * 1024 * 1024;

/** Allocates and touches `bytes` (Buffer.alloc fills every page: resident, not just reserved). */
export function holdMemory(bytes) {
  const held = [];
  for (let left = bytes; left > 0; left -= MEMORY_CHUNK)
    held.push(Buffer.alloc(Math.min(MEMORY_CHUNK, left), 1));
  return held;
}

function parse(argv) {
  const [kind, ...rest] = argv;
  const o = { kind, cores: 1, duty: 100, device: 0 };
  for (let i = 0; i < rest.length; i += 2) {
    const key = rest[i]?.replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    const value = rest[i + 1];
    if (!key || value === undefined)
      throw new Error(`holder: expected --option value pairs, got ${rest.join(' ')}`);
    o[key] = key === 'mark' ? value : Number(value);
  }
  if (!KINDS.includes(o.kind)) throw new Error(`holder: kind must be one of ${KINDS.join(', ')}`);
  if (!o.mark || !(o.maxMs > 0)) throw new Error('holder: --mark and --max-ms are required');
  return o;
}

async function take(o) {
  if (o.kind === 'cpu') return holdCpu(o.cores, o.duty);
  if (o.kind === 'memory') return holdMemory(o.bytes ?? 0);
  const { register } = await import('tsx/esm/api');
  register();
  const gpu = await import('./gpu.ts');
  if (o.kind === 'gpu-memory')
    return gpu.holdGpuMemory(o.device, {
      ...(o.bytes !== undefined ? { bytes: o.bytes } : {}),
      ...(o.fraction !== undefined ? { fraction: o.fraction } : {}),
    });
  return gpu.holdGpuCompute(o.device, o.duty);
}

export async function main(argv) {
  const send = (m) => process.send?.(m);
  let o;
  let keep;
  try {
    o = parse(argv);
    // The last layer of "nothing is left broken": even if every other layer failed, we end.
    setTimeout(() => process.exit(0), o.maxMs).unref();
    keep = await take(o);
  } catch (err) {
    send({ error: err instanceof Error ? err.message : String(err) });
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 100).unref();
    return;
  }
  send({ ready: true, detail: keep && typeof keep === 'object' && 'bytes' in keep ? keep : undefined });
  process.on('disconnect', () => {});
  await new Promise((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
    setInterval(() => void keep, 60_000); // hold the event loop (and `keep`) until signalled
  });
  process.exit(0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  await main(process.argv.slice(2));
