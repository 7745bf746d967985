// Builds dist/ and then records when the build started, in dist/build-info.json. bin/chaos.mjs
// runs dist/ only while no source file is newer than that; a failed build leaves no record.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const info = join(root, 'dist', 'build-info.json');
const startedAt = Date.now();
rmSync(info, { force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
writeFileSync(info, `${JSON.stringify({ startedAt })}\n`);
