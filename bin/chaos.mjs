#!/usr/bin/env node
// chaoskit runs its TypeScript sources directly (tsx), so `npm ci` is the only setup step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
