/** Writes schemas/*.schema.json from the zod schemas. `npm run schemas`; a test checks they are current. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/scenario/paths.ts';
import { jsonSchemas } from '../src/schemas.ts';

const dir = join(PACKAGE_ROOT, 'schemas');
mkdirSync(dir, { recursive: true });
for (const [name, schema] of Object.entries(jsonSchemas())) {
  writeFileSync(join(dir, name), `${JSON.stringify(schema, null, 2)}\n`);
  process.stdout.write(`wrote schemas/${name}\n`);
}
