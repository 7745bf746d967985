import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_SCENARIOS } from '../../core/paths.ts';
import { jsonOption, writeJson } from '../options.ts';
import type { Command } from './index.ts';

/** One entry of `chaos list --json` (docs/cli.md). */
export interface ListedScenario {
  name: string;
  file: string;
  description: string;
  /** Set only when the file could not be read as YAML; `chaos validate NAME` says more. */
  error?: string;
}

/**
 * Built-in scenarios with their descriptions. Read as plain YAML, not validated: validating
 * pulls in the whole schema and fault registry (0.6 s); `chaos validate` is the check.
 */
export async function builtinScenarios(): Promise<ListedScenario[]> {
  const { parse } = await import('yaml');
  return readdirSync(BUILTIN_SCENARIOS)
    .filter((f) => f.endsWith('.yaml') && f !== 'slo.yaml')
    .sort()
    .map((f) => {
      const name = f.replace(/\.yaml$/, '');
      const file = join(BUILTIN_SCENARIOS, f);
      try {
        const doc = parse(readFileSync(file, 'utf8')) as { description?: unknown } | null;
        const description = typeof doc?.description === 'string' ? doc.description.trim() : '';
        return { name, file, description };
      } catch (err) {
        return { name, file, description: '', error: (err as Error).message.split('\n')[0]! };
      }
    });
}

export const listCommand: Command = (cli) =>
  cli.command(
    'list',
    'list the built-in scenarios',
    (y) => jsonOption(y, 'print {"scenarios": [{name, file, description}]}'),
    async (args) => {
      const list = await builtinScenarios();
      if (args.json) return writeJson({ scenarios: list });
      const w = Math.max(...list.map((s) => s.name.length));
      for (const s of list) {
        const text = s.error ? `(unreadable: ${s.error})` : s.description.replace(/\s+/g, ' ');
        process.stdout.write(`${s.name.padEnd(w)}  ${text}\n`);
      }
      process.stdout.write(`\nrun one with: chaos run NAME   (or a path to your own scenario file)\n`);
    },
  );
