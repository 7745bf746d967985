/** A suite file: which scenarios, against which environment, with which SLO file and minimum score. */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { resolveEnvironmentPath, resolveScenarioPath, resolveSloPath } from '../core/paths.ts';
import { failWith, parseYamlFile, zodProblems, type Problem } from '../core/yaml.ts';

const entry = z.union([
  z.string().min(1),
  z.strictObject({
    name: z.string().min(1),
    minScore: z.number().min(0).max(100).optional(),
    environment: z.string().optional(),
  }),
]);

export const suiteSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  environment: z.string().optional(),
  slo: z.string().optional(),
  minScore: z.number().min(0).max(100).default(0),
  scenarios: z.array(entry).min(1, 'expected at least one scenario'),
});

export interface SuiteEntry {
  name: string;
  scenario: string;
  environment: string | null;
  slo: string | null;
  minScore: number;
}

export function loadSuite(file: string): { name: string; entries: SuiteEntry[] } {
  const src = parseYamlFile(file, 'suite file');
  const r = suiteSchema.safeParse(src.value, { reportInput: true });
  if (!r.success) failWith(src, 'suite file', zodProblems(r.error));
  const s = r.data;
  const dir = dirname(file);
  const problems: Problem[] = [];
  const entries = s.scenarios.map((e, i) => {
    const o = typeof e === 'string' ? { name: e } : e;
    const scenario = resolveScenarioPath(o.name, dir);
    if (!existsSync(scenario))
      problems.push({
        path: ['scenarios', i],
        message: `no scenario ${JSON.stringify(o.name)} (looked for ${scenario})`,
      });
    const envRef = o.environment ?? s.environment;
    return {
      name: o.name.replace(/^.*\//, '').replace(/\.ya?ml$/, ''),
      scenario,
      environment: envRef ? resolveEnvironmentPath(envRef, dirname(scenario)) : null,
      slo: s.slo ? resolveSloPath(s.slo, dirname(scenario)) : null,
      minScore: o.minScore ?? s.minScore,
    };
  });
  if (problems.length) failWith(src, 'suite file', problems);
  return { name: s.name, entries };
}
