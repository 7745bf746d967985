/** JSON Schemas generated from the zod schemas (the single source of truth), for editors and tools. */
import { z } from 'zod';
import { runResultSchema } from './result.ts';
import { environmentSchema, scenarioSchema, sloSchema } from './scenario/schema.ts';

const BASE = 'urn:chaoskit:schema';

export function jsonSchemas(): Record<string, object> {
  const gen = (schema: z.ZodType, name: string, io: 'input' | 'output') => ({
    $id: `${BASE}:${name}`,
    ...z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }),
  });
  return {
    // Files people write are described as they are written (input); results as they are produced.
    'scenario.schema.json': gen(scenarioSchema, 'scenario', 'input'),
    'environment.schema.json': gen(environmentSchema, 'environment', 'input'),
    'slo.schema.json': gen(sloSchema, 'slo', 'input'),
    'results.schema.json': gen(runResultSchema, 'results', 'output'),
  };
}
