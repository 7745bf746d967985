import { lstat, mkdir, open, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { bytes } from '../src/core/zod-types.ts';
import { armSelfRevert } from '../src/targets/self-revert.ts';
import { fillMarker, fillPath, FILL_DIR_NAME } from '../src/targets/fill.ts';
import { defineFault } from './define.ts';

const CHUNK = 8 * 1024 * 1024;

export const diskFill = defineFault({
  type: 'disk-fill',
  summary: 'write a file of a given size into a named directory (capped so the disk never fills completely)',
  params: z.strictObject({
    directory: z.string().min(1),
    size: bytes,
    /** Always leave at least this much free. */
    keepFree: bytes.default(512 * 1024 * 1024),
  }),
  preflight: async (_t, p) => {
    try {
      const fs = await statfs(p.directory);
      const free = fs.bavail * fs.bsize;
      if (free - p.size < p.keepFree) {
        return `disk-fill of ${(p.size / 1024 ** 2).toFixed(0)} MiB in ${p.directory} would leave less than keepFree (${(p.keepFree / 1024 ** 2).toFixed(0)} MiB) of ${(free / 1024 ** 2).toFixed(0)} MiB free`;
      }
      return null;
    } catch (err) {
      return `disk-fill directory ${p.directory}: ${(err as Error).message}`;
    }
  },
  on: {
    // The file goes into chaoskit's own fill directory there and starts with a marker: a revert
    // (from the ledger) deletes nothing else (src/targets/fill.ts).
    host: async (ctx, p) => {
      const path = fillPath(p.directory, ctx.mark);
      return {
        recipe: { driver: 'file', path, mark: ctx.mark },
        description: `${(p.size / 1024 ** 2).toFixed(0)} MiB written to ${path}`,
        manualRevert: `rm -f '${path}'`,
        apply: async () => {
          await fillDir(dirname(path));
          armSelfRevert(ctx);
          const fh = await open(path, 'wx', 0o600);
          try {
            const marker = Buffer.from(fillMarker(ctx.mark));
            await fh.write(marker);
            const chunk = Buffer.alloc(Math.min(CHUNK, p.size), 0x5a);
            for (let left = p.size - marker.length; left > 0; left -= chunk.length) {
              await fh.write(chunk, 0, Math.min(chunk.length, left));
            }
            await fh.sync();
          } finally {
            await fh.close();
          }
          return {};
        },
      };
    },
  },
});

/** Creates the fill directory (0700), or checks an existing one is the user's and private. */
async function fillDir(dir: string): Promise<void> {
  await mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const st = await lstat(dir);
  const me = typeof process.getuid === 'function' ? process.getuid() : null;
  if (!st.isDirectory() || (me !== null && st.uid !== me) || (st.mode & 0o022) !== 0)
    throw new Error(
      `${dir} is not a private directory of yours; chaoskit writes its ${FILL_DIR_NAME} files only there`,
    );
}
