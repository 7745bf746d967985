/**
 * JSON Schemas generated from the zod schemas (the single source of truth), for editors and tools
 * (schemas/README.md). They compile in ajv's strict mode and accept every built-in file:
 *   - `$id`s are relative (`scenario.schema.json`): they resolve against wherever the schema was
 *     read from, i.e. to the files in schemas/ (or node_modules/chaoskit/schemas/);
 *   - primitives (durations, percentages, sizes, rates) are described as people write them;
 *   - environment files may interpolate `${VAR}` anywhere, so there a URL is a URL or a value with
 *     `${`, and a number, a boolean or a patterned string (`host:port`) may also be a `${...}`
 *     string (no `format: uri` to trip on);
 *   - zod's non-standard `format`s (`starts_with`) are dropped (their `pattern` stays) and union
 *     types become `anyOf` (strict mode's strictTypes).
 */
import { z } from 'zod';
import { runResultSchema } from './result.ts';
import { environmentSchema, scenarioJsonSchema } from './scenario/schema.ts';
import { sloSchema } from './slo/schema.ts';
import { jsonSchemaHints } from './core/zod-types.ts';
import { openSloAnyDoc } from './slo/openslo.ts';
import { suiteSchema } from './suite/suite.ts';

type Json = Record<string, unknown>;

/** Formats ajv-formats knows and that a file's text can honestly be held to. */
const KEPT_FORMATS = new Set(['date-time', 'date', 'time', 'email', 'ipv4', 'ipv6', 'uuid', 'regex']);
/** A URL with a scheme, or any value holding a `${VAR}` (resolved only when the file is loaded). */
const URL_OR_VAR = '^([A-Za-z][A-Za-z0-9+.-]*://[^\\s]+|.*\\$\\{.*)$';
const VAR_STRING = { type: 'string', pattern: '\\$\\{' };
const DATA_KEYWORDS = new Set(['default', 'const', 'enum', 'examples']);

export function jsonSchemas(): Record<string, object> {
  const gen = (schema: z.ZodType, file: string, io: 'input' | 'output', interpolated = false) => {
    const json = z.toJSONSchema(schema, {
      io,
      unrepresentable: 'any',
      target: 'draft-2020-12',
      override: (ctx) => {
        const hint = jsonSchemaHints.get(ctx.zodSchema);
        if (!hint) return;
        for (const k of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as Json)[k];
        Object.assign(ctx.jsonSchema, structuredClone(hint));
      },
    }) as Json;
    const { $schema, ...rest } = json;
    return { $schema, $id: file, ...(tidy(rest, interpolated) as Json) };
  };
  return {
    // Files people write are described as they are written (input); results as they are produced.
    'scenario.schema.json': gen(scenarioJsonSchema, 'scenario.schema.json', 'input'),
    'environment.schema.json': gen(environmentSchema, 'environment.schema.json', 'input', true),
    'slo.schema.json': gen(
      z.union([sloSchema, openSloAnyDoc]).meta({
        description:
          'one YAML document of an SLO file: the native services: format or an OpenSLO v1 document',
      }),
      'slo.schema.json',
      'input',
    ),
    'suite.schema.json': gen(suiteSchema, 'suite.schema.json', 'input'),
    'results.schema.json': gen(runResultSchema, 'results.schema.json', 'output'),
  };
}

/** The strict-mode and interpolation rewrites above, applied to every subschema. */
function tidy(node: unknown, interpolated: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => tidy(n, interpolated));
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    if (DATA_KEYWORDS.has(k)) {
      out[k] = v; // values, not schemas
      continue;
    }
    // Keys of these hold property names, not schemas' keywords: keep them, tidy their values.
    out[k] =
      k === 'properties' || k === '$defs' || k === 'patternProperties'
        ? Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, tidy(s, interpolated)]))
        : tidy(v, interpolated);
  }
  if (typeof out.format === 'string' && !KEPT_FORMATS.has(out.format)) {
    const wasUri = out.format === 'uri';
    delete out.format;
    if (wasUri && interpolated && out.pattern === undefined) out.pattern = URL_OR_VAR;
  }
  if (Array.isArray(out.type)) {
    const types = out.type as string[];
    delete out.type;
    return { ...out, anyOf: types.map((t) => ({ type: t })) };
  }
  const patterned = out.type === 'string' && typeof out.pattern === 'string' && out.pattern !== URL_OR_VAR;
  if (
    interpolated &&
    (patterned || out.type === 'number' || out.type === 'integer' || out.type === 'boolean')
  ) {
    const { description, default: dflt, ...own } = out;
    return {
      ...(description !== undefined ? { description } : {}),
      ...(dflt !== undefined ? { default: dflt } : {}),
      anyOf: [own, VAR_STRING],
    };
  }
  return out;
}
