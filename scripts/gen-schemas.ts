/**
 * Writes schemas/*.schema.json from the zod schemas. `npm run schemas`; a test runs it with
 * `--out DIR` and checks that the result is byte for byte what is committed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../src/core/paths.ts';
import { jsonSchemas } from '../src/schemas.ts';

const at = process.argv.indexOf('--out');
const dir = at >= 0 && process.argv[at + 1] ? resolve(process.argv[at + 1]!) : join(PACKAGE_ROOT, 'schemas');
mkdirSync(dir, { recursive: true });
for (const [name, schema] of Object.entries(jsonSchemas())) {
  writeFileSync(join(dir, name), `${JSON.stringify(schema, null, 2)}\n`);
  process.stdout.write(`wrote ${join(dir, name)}\n`);
}
