/**
 * The scenario travels to segments as the coordinator parsed it (JSON: `${VAR}`s already resolved,
 * defaults applied) with the files it refers to, so every runner runs exactly the coordinator's
 * run whatever its own environment holds. References are rewritten to the shipped copies:
 *
 *   load.requests[i].bodyFile       ──> files/<n>/<name>
 *   load.grpc.messageFile, calls[i] ──> files/<n>/<name>
 *   load.grpc.proto                 ──> proto/<name>  (with every .proto beside it and below, for imports)
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InputError } from '../core/errors.ts';
import type { Scenario } from '../input/load.ts';
import type { SourceDoc } from '../core/yaml.ts';
import type { ShippedScenario } from './protocol.ts';

/** What a run may ship at most (a scenario's files, not a data set). */
const MAX_FILES = 200;
const MAX_BYTES = 8 * 1024 * 1024;

export function shipScenario(s: Scenario): { scenario: ShippedScenario; files: Record<string, string> } {
  const spec = structuredClone(s.spec);
  const dir = dirname(s.file);
  const files: Record<string, string> = {};
  let bytes = 0;
  // Files travel as base64: uploads (images, audio) are binary.
  const add = (key: string, abs: string) => {
    const raw = readShipped(abs);
    bytes += raw.length;
    const text = raw.toString('base64');
    if (Object.keys(files).length >= MAX_FILES || bytes > MAX_BYTES)
      throw new InputError(
        `${s.file}: the files the scenario refers to are too many or too large to ship to runners (at most ${MAX_FILES} files, ${MAX_BYTES / 1024 / 1024} MB)`,
      );
    files[key] = text;
  };
  let n = 0;
  const ship = (ref: string): string => {
    const key = `files/${n++}/${basename(ref)}`;
    add(key, isAbsolute(ref) ? ref : resolve(dir, ref));
    return key;
  };
  // Every file a request, a flow step, a multipart part or a data feeder names, at any depth.
  forEachFileRef(spec.load, ship);
  const g = spec.load.grpc;
  if (g) {
    const proto = isAbsolute(g.proto) ? g.proto : resolve(dir, g.proto);
    const root = dirname(proto);
    for (const f of protoFiles(root)) add(`proto/${relative(root, f).split(sep).join('/')}`, f);
    g.proto = `proto/${basename(proto)}`;
    if (g.messageFile !== undefined) g.messageFile = ship(g.messageFile);
    for (const c of g.calls ?? []) if (c.messageFile !== undefined) c.messageFile = ship(c.messageFile);
  }
  return {
    scenario: {
      file: basename(s.file),
      spec,
      environment: { file: s.environment.file, spec: s.environment.spec },
      slo: { file: s.slo.file, services: s.slo.services, openslo: s.slo.openslo },
    },
    files,
  };
}

/**
 * Visits every file reference in a load spec (bodyFile, multipart parts' file, data.file), in
 * requests, flows, their steps and loops; `rewrite` returns the new reference to store.
 */
export function forEachFileRef(node: unknown, rewrite: (ref: string) => string): void {
  if (Array.isArray(node)) {
    for (const x of node) forEachFileRef(x, rewrite);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const o = node as Record<string, unknown>;
  if (typeof o.bodyFile === 'string') o.bodyFile = rewrite(o.bodyFile);
  if (Array.isArray(o.multipart))
    for (const part of o.multipart as Record<string, unknown>[])
      if (part && typeof part.file === 'string') part.file = rewrite(part.file);
  const data = o.data as Record<string, unknown> | undefined;
  if (data && typeof data === 'object' && typeof data.file === 'string') data.file = rewrite(data.file);
  for (const [k, v] of Object.entries(o))
    if (k !== 'multipart' && k !== 'data' && k !== 'grpc' && typeof v === 'object')
      forEachFileRef(v, rewrite);
}

function readShipped(abs: string): Buffer {
  try {
    return readFileSync(abs);
  } catch (err) {
    throw new InputError(`${abs}: cannot be shipped to runners: ${(err as Error).message}`);
  }
}

/** Every .proto file under `root` (imports usually live beside the file or below it). */
function protoFiles(root: string, depth = 0): string[] {
  if (depth > 6) return [];
  const out: string[] = [];
  for (const name of readdirSync(root)) {
    const p = join(root, name);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...protoFiles(p, depth + 1));
    else if (name.endsWith('.proto')) out.push(p);
  }
  return out;
}

/** Writes the shipped files under `dir` and returns the Scenario a segment runs from there. */
export function unpackScenario(
  shipped: ShippedScenario,
  files: Record<string, string>,
  dir: string,
): Scenario {
  for (const [key, text] of Object.entries(files)) {
    const p = resolve(dir, key);
    // A key is a relative path below dir: anything else is not what a coordinator ships.
    if (!p.startsWith(resolve(dir) + sep))
      throw new InputError(`refusing to write a shipped file outside ${dir}: ${key}`);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, Buffer.from(text, 'base64'));
  }
  const file = join(dir, basename(shipped.file));
  return {
    file,
    spec: shipped.spec,
    environment: shipped.environment,
    slo: shipped.slo,
    // Positions in the YAML matter only to the loader's messages; the coordinator already validated it.
    source: { file, doc: null, lines: null, value: shipped.spec } as unknown as SourceDoc,
    warnings: [],
  };
}
