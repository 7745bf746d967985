/** Memory pressure: allocate and touch `bytes` so they are resident, in 64 MiB chunks. */
const CHUNK = 64 * 1024 * 1024;

export function holdMemory(bytes: number): Buffer[] {
  const held: Buffer[] = [];
  for (let left = bytes; left > 0; left -= CHUNK) {
    // Buffer.alloc zero-fills, which writes every page: the memory is resident, not just reserved.
    held.push(Buffer.alloc(Math.min(CHUNK, left), 1));
  }
  return held;
}
