#!/usr/bin/env node
// Runs the JavaScript built into dist/ (by `npm ci`/`npm run build`) while no source file is newer
// than that build, else the TypeScript sources through tsx: an edit in src/ is never run stale.
// CHAOSKIT_FROM_SOURCE=1 always runs the sources.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

/** When the build that made dist/ started (scripts/build.mjs writes it last), or NaN. */
function builtAt() {
  try {
    return JSON.parse(readFileSync(join(root, 'dist', 'build-info.json'), 'utf8')).startedAt;
  } catch {
    return NaN;
  }
}

/** Whether a file or folder under `dir` (a folder's own time covers removed and renamed files) is newer. */
function changedSince(dir, t) {
  if (statSync(dir).mtimeMs > t) return true;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() ? changedSince(p, t) : statSync(p).mtimeMs > t) return true;
  }
  return false;
}

function distIsFresh() {
  if (process.env.CHAOSKIT_FROM_SOURCE === '1') return false;
  const t = builtAt();
  if (!Number.isFinite(t)) return false;
  try {
    return !['src', 'faults', 'reporters'].some((d) => changedSince(join(root, d), t));
  } catch {
    return false;
  }
}

let main;
if (distIsFresh()) {
  ({ main } = await import('../dist/src/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
