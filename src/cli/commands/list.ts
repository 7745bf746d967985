import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_SCENARIOS } from '../../scenario/paths.ts';
import type { Command } from './index.ts';

/** Built-in scenarios with their descriptions. */
export async function builtinScenarios(): Promise<{ name: string; description: string; error?: string }[]> {
  const { loadScenario } = await import('../../scenario/load.ts');
  return readdirSync(BUILTIN_SCENARIOS)
    .filter((f) => f.endsWith('.yaml') && f !== 'slo.yaml')
    .sort()
    .map((f) => {
      const name = f.replace(/\.yaml$/, '');
      try {
        return { name, description: loadScenario(join(BUILTIN_SCENARIOS, f)).spec.description.trim() };
      } catch (err) {
        return { name, description: '', error: (err as Error).message.split('\n')[0] };
      }
    });
}

export const listCommand: Command = (cli) =>
  cli.command(
    'list',
    'list the built-in scenarios',
    (y) => y,
    async () => {
      const list = await builtinScenarios();
      const w = Math.max(...list.map((s) => s.name.length));
      for (const s of list) {
        const text = s.error ? `(invalid: ${s.error})` : s.description.replace(/\s+/g, ' ');
        process.stdout.write(`${s.name.padEnd(w)}  ${text}\n`);
      }
      process.stdout.write(`\nrun one with: chaos run NAME   (or a path to your own scenario file)\n`);
    },
  );
