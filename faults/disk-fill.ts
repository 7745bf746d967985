import { open, statfs } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { bytes } from '../src/scenario/types.ts';
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
    host: async (ctx, p) => {
      const path = join(resolve(p.directory), `${ctx.mark.replace(/[^A-Za-z0-9.-]/g, '_')}.fill`);
      return {
        recipe: { driver: 'file', path },
        description: `${(p.size / 1024 ** 2).toFixed(0)} MiB written to ${path}`,
        manualRevert: `rm -f '${path}'`,
        apply: async () => {
          const fh = await open(path, 'wx', 0o600);
          try {
            const chunk = Buffer.alloc(Math.min(CHUNK, p.size), 0x5a);
            for (let left = p.size; left > 0; left -= chunk.length) {
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
