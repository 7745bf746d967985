/**
 * The published JSON Schemas, checked by a real consumer (ajv in strict mode, draft 2020-12, with
 * ajv-formats): they compile, their `$id`s resolve to the files, every built-in YAML file names
 * its schema on its first line (yaml-language-server) and validates against it as written, and
 * the committed files are exactly what `npm run schemas` writes.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { PACKAGE_ROOT } from '../../src/core/paths.ts';
import { tempDir } from '../helpers/files.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const SCHEMAS = join(PACKAGE_ROOT, 'schemas');
const schemaFiles = readdirSync(SCHEMAS).filter((f) => f.endsWith('.schema.json'));
const readJson = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as { $id: string; $schema: string };

function strictAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  for (const f of schemaFiles) ajv.addSchema(readJson(join(SCHEMAS, f)));
  return ajv;
}

/** Every YAML file under scenarios/, with the schema its first line names. */
function builtInFiles(): { file: string; schema: string | null }[] {
  const out: { file: string; schema: string | null }[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e.name)) {
        const first = readFileSync(p, 'utf8').split('\n', 1)[0]!;
        const m = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
        out.push({ file: p, schema: m ? resolve(dirname(p), m[1]!) : null });
      }
    }
  };
  walk(join(PACKAGE_ROOT, 'scenarios'));
  return out;
}

const expectedSchema = (file: string) => {
  const rel = relative(join(PACKAGE_ROOT, 'scenarios'), file);
  if (rel.startsWith('environments/')) return 'environment.schema.json';
  if (rel.startsWith('suites/')) return 'suite.schema.json';
  if (rel === 'slo.yaml') return 'slo.schema.json';
  return 'scenario.schema.json';
};

const errorsText = (errs: ErrorObject[] | null | undefined) =>
  (errs ?? []).map((e) => `${e.instancePath} ${e.message}`).join('; ');

describe('JSON Schemas in schemas/', () => {
  it('compile in ajv strict mode (draft 2020-12, ajv-formats)', () => {
    expect(schemaFiles.sort()).toEqual([
      'environment.schema.json',
      'results.schema.json',
      'scenario.schema.json',
      'slo.schema.json',
      'suite.schema.json',
    ]);
    const ajv = strictAjv();
    for (const f of schemaFiles)
      expect(() => ajv.getSchema(f) ?? ajv.compile(readJson(join(SCHEMAS, f)))).not.toThrow();
  });

  it('$ids are relative and resolve, against where the schema was read from, to the file itself', () => {
    for (const f of schemaFiles) {
      const s = readJson(join(SCHEMAS, f));
      expect(s.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(fileURLToPath(new URL(s.$id, pathToFileURL(join(SCHEMAS, f))))).toBe(join(SCHEMAS, f));
    }
  });

  it('every built-in YAML file names its schema on the first line, and the path resolves to it', () => {
    const files = builtInFiles();
    expect(files.length).toBeGreaterThanOrEqual(15);
    for (const { file, schema } of files) {
      expect(schema, `${file}: first line`).toBe(join(SCHEMAS, expectedSchema(file)));
    }
  });

  it('every built-in file validates as written (with ${VAR:-default} values) against its schema', () => {
    const ajv = strictAjv();
    for (const { file } of builtInFiles()) {
      const validate = ajv.getSchema(expectedSchema(file))!;
      const docs = parseAllDocuments(readFileSync(file, 'utf8'));
      for (const doc of Array.isArray(docs) ? docs : []) {
        const value = doc.toJS() as unknown;
        expect(validate(value), `${file}: ${errorsText(validate.errors)}`).toBe(true);
      }
    }
  });

  it('the schemas are not vacuous: they reject what the loader rejects', () => {
    const ajv = strictAjv();
    const scenario = ajv.getSchema('scenario.schema.json')!;
    const ok = {
      name: 'x',
      load: { target: 'api', pattern: [{ kind: 'constant', rate: 10, duration: '10s' }] },
    };
    expect(scenario(ok), errorsText(scenario.errors)).toBe(true);
    for (const bad of [
      { ...ok, bogus: 1 },
      { ...ok, load: { ...ok.load, pattern: [{ kind: 'constant', rate: 10, duration: 10 }] } },
      { ...ok, load: { ...ok.load, pattern: [{ kind: 'constant', rate: -1, duration: '10s' }] } },
      { ...ok, faults: [{ type: 'partition', target: 'a', duration: '1s', probability: '150%' }] },
    ])
      expect(scenario(bad), JSON.stringify(bad)).toBe(false);

    const env = ajv.getSchema('environment.schema.json')!;
    expect(env({ targets: { gpu: { kind: 'gpu', device: '${GPU:-0}' } } }), errorsText(env.errors)).toBe(
      true,
    );
    expect(env({ targets: { api: { kind: 'http', url: 'http://127.0.0.1:${PORT:-8080}' } } })).toBe(true);
    expect(env({ targets: { api: { kind: 'http', url: 'not a url' } } })).toBe(false);
    expect(env({ targets: { gpu: { kind: 'gpu', device: 'zero' } } })).toBe(false);

    const slo = ajv.getSchema('slo.schema.json')!;
    expect(slo({ services: { api: { availability: '99.9%', latency: { p99: '300ms' } } } })).toBe(true);
    expect(slo({ services: { api: { availability: '150%' } } })).toBe(false);
    const sli = { apiVersion: 'openslo/v1', kind: 'SLI', metadata: { name: 's' }, spec: {} };
    expect(slo(sli), errorsText(slo.errors)).toBe(true);
    expect(slo({ ...sli, kind: 'AlertPolicy' }), errorsText(slo.errors)).toBe(true);
    expect(slo({ ...sli, apiVersion: 'openslo/v2alpha' })).toBe(false);
  });

  it('npm run schemas writes exactly the committed files (no drift)', () => {
    const out = tempDir();
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/gen-schemas.ts', '--out', out], {
      cwd: PACKAGE_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(schemaFiles.sort());
    for (const f of schemaFiles) {
      expect(readFileSync(join(out, f), 'utf8'), `schemas/${f} is stale: run npm run schemas`).toBe(
        readFileSync(join(SCHEMAS, f), 'utf8'),
      );
    }
  });
});
