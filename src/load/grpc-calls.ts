/**
 * load.grpc (scenario) → the engine's call profiles: the .proto loaded relative to the scenario,
 * each call's method found and its message template compiled against the request type. Used
 * twice: by the loader (problems, located in the scenario) and by the runner (the calls).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Problem } from '../core/yaml.ts';
import type { GrpcCallSpec } from './grpc-engine.ts';
import {
  compileMessage,
  findMethod,
  loadProto,
  messageEncoder,
  ProtoError,
  type ProtoProblem,
} from './grpc-proto.ts';
import type { GrpcSpec } from '../scenario/grpc-schema.ts';

export interface CompiledCalls {
  calls: GrpcCallSpec[];
  problems: Problem[];
  protoFile: string;
}

const BASE = ['load', 'grpc'];

export function compileGrpcCalls(spec: GrpcSpec, scenarioDir: string): CompiledCalls {
  const protoFile = isAbsolute(spec.proto) ? spec.proto : resolve(scenarioDir, spec.proto);
  const problems: Problem[] = [];
  let root;
  try {
    root = loadProto(protoFile);
  } catch (err) {
    if (!(err instanceof ProtoError)) throw err;
    return { calls: [], problems: [{ path: [...BASE, 'proto'], message: err.message }], protoFile };
  }
  const entries = spec.calls ?? [{ weight: 1, metadata: {} }];
  const calls: GrpcCallSpec[] = [];
  entries.forEach((c, i) => {
    const at = spec.calls ? [...BASE, 'calls', i] : BASE;
    const methodName = c.method ?? spec.method;
    if (!methodName) {
      problems.push({
        path: [...at, 'method'],
        message: 'required field is missing: the gRPC method to call (here or in load.grpc)',
      });
      return;
    }
    const m = findMethod(root, spec.service, methodName);
    if (typeof m === 'string') {
      const where = m.startsWith('service')
        ? [...BASE, 'service']
        : c.method
          ? [...at, 'method']
          : [...BASE, 'method'];
      problems.push({ path: where, message: `${protoFile}: ${m}` });
      return;
    }
    const own = c.message !== undefined || c.messageFile !== undefined;
    const src = own ? c : spec;
    if (src.message !== undefined && src.messageFile !== undefined) {
      problems.push({
        path: [...(own ? at : BASE), 'messageFile'],
        message: 'give message or messageFile, not both',
      });
      return;
    }
    let template: unknown = src.message ?? {};
    let msgPath: (string | number)[] = [...(own ? at : BASE), 'message'];
    let fileLabel = '';
    if (src.messageFile !== undefined) {
      const file = isAbsolute(src.messageFile) ? src.messageFile : resolve(scenarioDir, src.messageFile);
      msgPath = [...(own ? at : BASE), 'messageFile'];
      fileLabel = `${file}: `;
      try {
        template = parseYaml(readFileSync(file, 'utf8')) as unknown;
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        problems.push({
          path: msgPath,
          message: `${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message.split('\n')[0]}`,
        });
        return;
      }
    }
    const pp: ProtoProblem[] = [];
    const compiled = compileMessage(template, m.requestType, pp);
    for (const p of pp) {
      // Problems inside a message file name the file and the field inside it; inline ones point into the scenario.
      if (fileLabel)
        problems.push({
          path: msgPath,
          message: `${fileLabel}${p.path.join('.') || '(top level)'}: ${p.message}`,
        });
      else problems.push({ path: [...msgPath, ...p.path], message: p.message });
    }
    let encode: GrpcCallSpec['encode'];
    try {
      encode = messageEncoder(m.requestType, compiled);
    } catch (err) {
      problems.push({
        path: msgPath,
        message: `${fileLabel}the message does not encode as ${m.requestType.fullName.slice(1)}: ${(err as Error).message}`,
      });
      return;
    }
    calls.push({
      name: c.name ?? (spec.calls ? `${m.name}#${i}` : m.name),
      weight: c.weight,
      path: m.path,
      serverStreaming: m.serverStreaming,
      encode,
      metadata: { ...spec.metadata, ...c.metadata },
    });
  });
  return { calls, problems, protoFile };
}
