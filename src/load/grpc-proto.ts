/**
 * .proto files for the gRPC engine: load (protobufjs), find a method, and compile a YAML message
 * template against the request type, so a field that does not fit fails before anything is sent.
 *
 *   message: { prompt: "hi {{randString 8}}", max_tokens: "{{randInt 8 32}}" }
 *     ──compileMessage(type)──> build(prng) ──> plain object ──type.encode──> bytes
 *
 * Field names may be written as in the .proto (max_tokens) or in JSON's lowerCamelCase (maxTokens).
 */
import protobuf from 'protobufjs';
import { describe } from '../core/zod-types.ts';
import type { Prng } from './prng.ts';
import { compileTemplate, TemplateError, type Template } from './templates.ts';

export interface ProtoProblem {
  /** Path inside the message template. */
  path: (string | number)[];
  message: string;
}

export interface GrpcMethod {
  /** `/package.Service/Method`, what goes on the wire. */
  path: string;
  service: string;
  name: string;
  requestType: protobuf.Type;
  responseType: protobuf.Type;
  serverStreaming: boolean;
  clientStreaming: boolean;
}

export class ProtoError extends Error {}

/** Loads and resolves a .proto file (with its imports); throws ProtoError naming the file. */
export function loadProto(file: string): protobuf.Root {
  const root = new protobuf.Root();
  try {
    root.loadSync(file, { keepCase: true });
    root.resolveAll();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new ProtoError(`${e.path ?? file}: no such .proto file`);
    const m = / \(line (\d+)\)$/.exec(e.message);
    const where = m ? `${file}:${m[1]}` : file;
    throw new ProtoError(
      `${where}: the .proto file does not parse: ${e.message.replace(/ \(line \d+\)$/, '')}`,
    );
  }
  return root;
}

/** Every service in the root, by full name. */
export function servicesOf(root: protobuf.Root): protobuf.Service[] {
  const out: protobuf.Service[] = [];
  const walk = (ns: protobuf.NamespaceBase) => {
    for (const o of ns.nestedArray) {
      if (o instanceof protobuf.Service) out.push(o);
      if (o instanceof protobuf.Namespace || o instanceof protobuf.Type) walk(o);
    }
  };
  walk(root);
  return out;
}

const fullName = (o: protobuf.ReflectionObject) => o.fullName.replace(/^\./, '');

/** Finds `service` (full or short name) and its `method`; a string says what is wrong. */
export function findMethod(root: protobuf.Root, service: string, method: string): GrpcMethod | string {
  const all = servicesOf(root);
  const matches = all.filter((s) => fullName(s) === service || s.name === service);
  if (matches.length === 0) {
    return `service ${JSON.stringify(service)} is not in the .proto (it has: ${all.map(fullName).join(', ') || 'none'})`;
  }
  if (matches.length > 1)
    return `service ${JSON.stringify(service)} is ambiguous (${matches.map(fullName).join(', ')}); use the full name`;
  const svc = matches[0]!;
  const m = svc.methods[method];
  if (!m) {
    return `method ${JSON.stringify(method)} is not in service ${fullName(svc)} (it has: ${Object.keys(svc.methods).join(', ') || 'none'})`;
  }
  m.resolve();
  if (m.requestStream)
    return `method ${method} is client-streaming; the grpc engine sends unary and server-streaming calls`;
  return {
    path: `/${fullName(svc)}/${m.name}`,
    service: fullName(svc),
    name: m.name,
    requestType: m.resolvedRequestType!,
    responseType: m.resolvedResponseType!,
    serverStreaming: m.responseStream === true,
    clientStreaming: false,
  };
}

type Build = (prng: Prng) => unknown;
interface Compiled {
  build: Build;
  isStatic: boolean;
}

const INT32 = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32 = new Set(['uint32', 'fixed32']);
const INT64 = new Set(['int64', 'sint64', 'sfixed64', 'uint64', 'fixed64']);
const FLOAT = new Set(['double', 'float']);

/** Compiles a message template; problems (wrong field, wrong type, bad tag) are collected, not thrown. */
export function compileMessage(
  template: unknown,
  type: protobuf.Type,
  problems: ProtoProblem[],
  path: (string | number)[] = [],
): Compiled {
  if (template === null || template === undefined) template = {};
  if (typeof template !== 'object' || Array.isArray(template)) {
    problems.push({
      path,
      message: `expected a mapping for message ${fullName(type)}, got ${describe(template)}`,
    });
    return constant({});
  }
  const byName = new Map<string, protobuf.Field>();
  for (const f of type.fieldsArray) {
    byName.set(f.name, f);
    byName.set(camel(f.name), f);
  }
  const fields: [string, Compiled][] = [];
  const oneofs = new Map<string, string>();
  for (const [key, value] of Object.entries(template as Record<string, unknown>)) {
    const f = byName.get(key);
    if (!f) {
      problems.push({
        path: [...path, key],
        message: `unknown field ${JSON.stringify(key)} in message ${fullName(type)} (it has: ${type.fieldsArray.map((x) => x.name).join(', ') || 'no fields'})`,
      });
      continue;
    }
    if (f.partOf) {
      const other = oneofs.get(f.partOf.name);
      if (other)
        problems.push({
          path: [...path, key],
          message: `${key} and ${other} are both in oneof ${f.partOf.name}; set only one`,
        });
      oneofs.set(f.partOf.name, key);
    }
    f.resolve();
    fields.push([f.name, compileField(value, f, problems, [...path, key])]);
  }
  if (fields.every(([, c]) => c.isStatic)) {
    const obj = Object.fromEntries(fields.map(([k, c]) => [k, c.build(null as unknown as Prng)]));
    return constant(obj);
  }
  return {
    isStatic: false,
    build: (prng) => {
      const obj: Record<string, unknown> = {};
      for (const [k, c] of fields) obj[k] = c.build(prng);
      return obj;
    },
  };
}

function compileField(
  value: unknown,
  f: protobuf.Field,
  problems: ProtoProblem[],
  path: (string | number)[],
): Compiled {
  if (f instanceof protobuf.MapField) {
    if (!isMapping(value)) {
      problems.push({ path, message: `expected a mapping for map field ${f.name}, got ${describe(value)}` });
      return constant({});
    }
    return combine(
      Object.entries(value).map(([k, v]) => [k, compileSingle(v, f, problems, [...path, k])] as const),
      true,
    );
  }
  if (f.repeated) {
    if (!Array.isArray(value)) {
      problems.push({
        path,
        message: `expected a list for repeated field ${f.name}, got ${describe(value)}`,
      });
      return constant([]);
    }
    return combine(
      value.map((v, i) => [i, compileSingle(v, f, problems, [...path, i])] as const),
      false,
    );
  }
  return compileSingle(value, f, problems, path);
}

function compileSingle(
  value: unknown,
  f: protobuf.Field,
  problems: ProtoProblem[],
  path: (string | number)[],
): Compiled {
  const rt = f.resolvedType;
  if (rt instanceof protobuf.Type) return compileMessage(value, rt, problems, path);
  if (rt instanceof protobuf.Enum) return compileEnum(value, rt, problems, path);
  const t = f.type;
  const bad = (what: string) => {
    problems.push({ path, message: `field ${f.name} is ${t}: expected ${what}, got ${describe(value)}` });
    return constant(undefined);
  };
  if (t === 'string' || t === 'bytes') {
    if (typeof value !== 'string') return bad('a string');
    const tpl = template(value, problems, path);
    if (!tpl) return constant(undefined);
    const conv = t === 'bytes' ? (s: string) => Buffer.from(s, 'utf8') : (s: string) => s;
    return tpl.isStatic ? constant(conv(value)) : { isStatic: false, build: (p) => conv(tpl.render(p)) };
  }
  if (t === 'bool') {
    if (typeof value === 'boolean') return constant(value);
    const tpl = typeof value === 'string' ? template(value, problems, path) : null;
    const ch = tpl?.single?.choices;
    if (!tpl?.single || !ch || !ch.every((c) => c === 'true' || c === 'false'))
      return bad('true, false or {{pick true false}}');
    const tag = tpl.single;
    return { isStatic: false, build: (p) => tag.gen(p) === 'true' };
  }
  const integer = INT32.has(t) || UINT32.has(t) || INT64.has(t);
  if (integer || FLOAT.has(t)) {
    const what = integer
      ? 'a whole number or a numeric tag like {{randInt 1 100}}'
      : 'a number or a numeric tag like {{randFloat 0 1}}';
    if (typeof value === 'number') {
      if (integer && !Number.isInteger(value)) return bad(what);
      if (INT32.has(t) && (value < -(2 ** 31) || value >= 2 ** 31)) return bad('a value that fits 32 bits');
      if (UINT32.has(t) && (value < 0 || value >= 2 ** 32)) return bad('a value from 0 that fits 32 bits');
      return constant(value);
    }
    if (typeof value !== 'string') return bad(what);
    const tpl = template(value, problems, path);
    if (!tpl) return constant(undefined);
    if (tpl.isStatic)
      return /^-?\d+(\.\d+)?$/.test(value) && (!integer || /^-?\d+$/.test(value))
        ? constant(Number(value))
        : bad(what);
    const tag = tpl.single;
    if (!tag || tag.kind !== 'number') return bad(what);
    const round = integer ? (n: number) => Math.round(n) : (n: number) => n;
    return { isStatic: false, build: (p) => round(tag.gen(p) as number) };
  }
  return bad('a supported scalar');
}

function compileEnum(
  value: unknown,
  e: protobuf.Enum,
  problems: ProtoProblem[],
  path: (string | number)[],
): Compiled {
  const names = Object.keys(e.values);
  const byName = (s: string) => e.values[s];
  if (typeof value === 'number' && Object.values(e.values).includes(value)) return constant(value);
  if (typeof value === 'string') {
    const direct = byName(value);
    if (direct !== undefined) return constant(direct);
    const tpl = template(value, problems, path);
    const ch = tpl?.single?.choices;
    if (tpl?.single && ch && ch.every((c) => byName(c) !== undefined)) {
      const tag = tpl.single;
      return { isStatic: false, build: (p) => byName(String(tag.gen(p))) };
    }
    if (!tpl) return constant(undefined);
  }
  problems.push({
    path,
    message: `expected one of the enum ${fullName(e)} values (${names.join(', ')}) or {{pick …}} of them, got ${describe(value)}`,
  });
  return constant(undefined);
}

function template(text: string, problems: ProtoProblem[], path: (string | number)[]): Template | null {
  try {
    return compileTemplate(text);
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    problems.push({ path, message: err.message });
    return null;
  }
}

function combine(items: readonly (readonly [string | number, Compiled])[], asObject: boolean): Compiled {
  const make = (vals: unknown[]) =>
    asObject ? Object.fromEntries(items.map(([k], i) => [k, vals[i]])) : vals;
  if (items.every(([, c]) => c.isStatic))
    return constant(make(items.map(([, c]) => c.build(null as unknown as Prng))));
  return { isStatic: false, build: (p) => make(items.map(([, c]) => c.build(p))) };
}

function constant(v: unknown): Compiled {
  return { isStatic: true, build: () => v };
}

function camel(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A request encoder: fixed bytes for a static message, else build + encode per call. */
export function messageEncoder(type: protobuf.Type, c: Compiled): (prng: Prng) => Buffer {
  const enc = (obj: unknown) => Buffer.from(type.encode(obj as Record<string, unknown>).finish());
  if (c.isStatic) {
    const bytes = enc(c.build(null as unknown as Prng));
    return () => bytes;
  }
  return (prng) => enc(c.build(prng));
}

/** A grpc-js service definition for a protobufjs service (servers in the demo and in tests). */
export function grpcServiceDefinition(svc: protobuf.Service): Record<string, GrpcMethodDefinition> {
  const out: Record<string, GrpcMethodDefinition> = {};
  for (const m of svc.methodsArray) {
    m.resolve();
    const req = m.resolvedRequestType!;
    const res = m.resolvedResponseType!;
    out[m.name] = {
      path: `/${fullName(svc)}/${m.name}`,
      requestStream: m.requestStream === true,
      responseStream: m.responseStream === true,
      requestSerialize: (v: object) => Buffer.from(req.encode(req.fromObject(v)).finish()),
      requestDeserialize: (b: Buffer) => req.toObject(req.decode(b), { enums: String, defaults: true }),
      responseSerialize: (v: object) => Buffer.from(res.encode(res.fromObject(v)).finish()),
      responseDeserialize: (b: Buffer) => res.toObject(res.decode(b), { enums: String, defaults: true }),
      originalName: m.name,
    };
  }
  return out;
}

/** The fields grpc-js reads from a method definition. */
export interface GrpcMethodDefinition {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize: (v: object) => Buffer;
  requestDeserialize: (b: Buffer) => object;
  responseSerialize: (v: object) => Buffer;
  responseDeserialize: (b: Buffer) => object;
  originalName: string;
}
