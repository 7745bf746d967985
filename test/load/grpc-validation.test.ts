import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INFERENCE_PROTO } from '../../src/demo/inference.ts';
import { InputError } from '../../src/core/errors.ts';
import { loadScenario } from '../../src/input/load.ts';
import { runCli } from '../helpers/cli.ts';
import { tempDir, TEST_ENV, writeScenario } from '../helpers/files.ts';

const ENV = `${TEST_ENV}  llm: { kind: grpc, address: "127.0.0.1:9" }
probes:
  web: { kind: http, url: "http://127.0.0.1:9/health" }
`;

const grpcScenario = (grpc: string, extra = '') => `name: t
environment: ./env.yaml
engine: grpc
load:
  target: llm
  grpc:
${grpc
  .trim()
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
  pattern:
    - { kind: constant, rate: 10, duration: 10s }
${extra}`;

const OK = `proto: ${INFERENCE_PROTO}
service: chaoskit.demo.v1.Inference
method: Generate
message: { prompt: "hi {{randString 4}}", max_tokens: "{{randInt 1 9}}" }`;

/** Loads a scenario that must fail; returns its problem lines with the temp directory removed. */
function problems(yaml: string, files: Record<string, string> = {}): string[] {
  const dir = tempDir();
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const file = writeScenario(yaml, ENV, dir);
  let err: unknown;
  try {
    loadScenario(file);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InputError);
  expect((err as InputError).exitCode).toBe(2);
  return (err as Error).message
    .split('\n')
    .slice(1)
    .map((l) => l.trim().replaceAll(`${dir}/`, ''));
}

describe('gRPC scenario validation names the file and the field', () => {
  it('accepts a valid gRPC scenario (short service names too)', () => {
    const s = loadScenario(writeScenario(grpcScenario(OK), ENV));
    expect(s.spec.engine).toBe('grpc');
    expect(s.spec.load.grpc!.channels).toBe(1);
    expect(() =>
      loadScenario(writeScenario(grpcScenario(OK.replace('chaoskit.demo.v1.Inference', 'Inference')), ENV)),
    ).not.toThrow();
  });

  it('a .proto that does not parse', () => {
    const out = problems(grpcScenario(`proto: bad.proto\nservice: S\nmethod: M`), {
      'bad.proto': 'syntax = "proto3";\nmessage A { string a = 1 }\n',
    });
    expect(out).toEqual([
      "scenario.yaml:7:12: load.grpc.proto: bad.proto:2: the .proto file does not parse: illegal token '}', ';' expected",
    ]);
  });

  it('a .proto that does not exist', () => {
    expect(problems(grpcScenario(`proto: none.proto\nservice: S\nmethod: M`))).toEqual([
      'scenario.yaml:7:12: load.grpc.proto: none.proto: no such .proto file',
    ]);
  });

  it('a service or a method that is not in the .proto', () => {
    expect(
      problems(grpcScenario(OK.replace('service: chaoskit.demo.v1.Inference', 'service: Nope')))[0],
    ).toMatch(
      /^scenario\.yaml:8:14: load\.grpc\.service: .*inference\.proto: service "Nope" is not in the \.proto \(it has: chaoskit\.demo\.v1\.Inference\)$/,
    );
    expect(problems(grpcScenario(OK.replace('method: Generate', 'method: Chat')))[0]).toMatch(
      /^scenario\.yaml:9:13: load\.grpc\.method: .*inference\.proto: method "Chat" is not in service chaoskit\.demo\.v1\.Inference \(it has: Generate, Complete\)$/,
    );
  });

  it('message templates that do not fit the message type', () => {
    const out = problems(
      grpcScenario(
        OK.replace(
          'message: { prompt: "hi {{randString 4}}", max_tokens: "{{randInt 1 9}}" }',
          'message: { prompt: 7, max_tokens: "lots", bogus: 1, model: "{{nope}}", token_delay_ms: 1.5 }',
        ),
      ),
    );
    expect(out).toEqual([
      'scenario.yaml:10:24: load.grpc.message.prompt: field prompt is string: expected a string, got 7',
      'scenario.yaml:10:39: load.grpc.message.max_tokens: field max_tokens is int32: expected a whole number or a numeric tag like {{randInt 1 100}}, got "lots"',
      'scenario.yaml:10:54: load.grpc.message.bogus: unknown field "bogus" in message chaoskit.demo.v1.GenerateRequest (it has: prompt, max_tokens, model, token_delay_ms)',
      'scenario.yaml:10:64: load.grpc.message.model: {{nope}}: unknown tag "nope" (known: randInt, randFloat, pick, randString, uuid, seq)',
      'scenario.yaml:10:92: load.grpc.message.token_delay_ms: field token_delay_ms is int32: expected a whole number or a numeric tag like {{randInt 1 100}}, got 1.5',
    ]);
  });

  it('a string tag in a numeric field, and lowerCamelCase field names', () => {
    const out = problems(
      grpcScenario(OK.replace('max_tokens: "{{randInt 1 9}}"', 'maxTokens: "{{randString 3}}"')),
    );
    expect(out).toEqual([
      'scenario.yaml:10:58: load.grpc.message.maxTokens: field max_tokens is int32: expected a whole number or a numeric tag like {{randInt 1 100}}, got "{{randString 3}}"',
    ]);
  });

  it('a message file with a field that does not fit names the file and the field', () => {
    const out = problems(
      grpcScenario(
        `proto: ${INFERENCE_PROTO}\nservice: Inference\ncalls:\n  - { name: a, method: Generate, messageFile: msg.yaml }`,
      ),
      { 'msg.yaml': 'prompt: hi\nmax_tokens: many\n' },
    );
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(
      /^scenario\.yaml:10:51: load\.grpc\.calls\[0\]\.messageFile: .*msg\.yaml: max_tokens: field max_tokens is int32: expected a whole number/,
    );
  });

  it('engine and target kinds must match; load.grpc needs engine grpc', () => {
    expect(problems(grpcScenario(OK).replace('target: llm', 'target: api'))).toEqual([
      'scenario.yaml:5:11: load.target: the grpc engine needs a grpc target; api is a http target',
    ]);
    const httpWithGrpc = grpcScenario(OK).replace('engine: grpc\n', '').replace('target: llm', 'target: api');
    expect(problems(httpWithGrpc)).toEqual(['scenario.yaml:6:5: load.grpc: load.grpc needs engine: grpc']);
  });

  it('bad request templates and body files in the http engine', () => {
    const yaml = `name: t
environment: ./env.yaml
load:
  target: api
  requests:
    - { path: "/x/{{randInt 9 1}}", body: "{{pick}}" }
    - { bodyFile: nope.json, streamEnd: "[DONE]" }
  pattern:
    - { kind: constant, rate: 10, duration: 10s }
`;
    expect(problems(yaml)).toEqual([
      'scenario.yaml:6:15: load.requests[0].path: {{randInt 9 1}}: the minimum 9 is above the maximum 1',
      'scenario.yaml:6:43: load.requests[0].body: {{pick}}: pick needs at least one choice, like {{pick a b c}}',
      'scenario.yaml:7:41: load.requests[1].streamEnd: streamEnd needs stream: sse',
      expect.stringMatching(
        /^scenario\.yaml:7:19: load\.requests\[1\]\.bodyFile: .*nope\.json: no such file$/,
      ),
    ]);
  });

  it('steadyState.require needs probes in the environment; probe timeouts fit in a second', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'env.yaml'), `${TEST_ENV}  llm: { kind: grpc, address: "127.0.0.1:9" }\n`);
    const file = join(dir, 'scenario.yaml');
    writeFileSync(file, `${grpcScenario(OK)}steadyState: { require: true, for: 3s }\n`);
    expect(() => loadScenario(file)).toThrow(
      /scenario\.yaml:13:14: steadyState: steadyState\.require needs probes: the environment has no probes: section/,
    );
    writeFileSync(
      join(dir, 'env.yaml'),
      `${TEST_ENV}probes:\n  p: { kind: grpc, address: nope, timeout: 2s }\n`,
    );
    expect(() => loadScenario(file)).toThrow(
      /env\.yaml:6:.*probes\.p\.address: expected host:port.*\n.*probes\.p\.timeout: a probe timeout is at most 1s/,
    );
  });

  it('the CLI exits 2 and names the file and the field', async () => {
    const file = writeScenario(grpcScenario(OK.replace('method: Generate', 'method: Chat')), ENV);
    const r = await runCli(['validate', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /scenario\.yaml:9:13: load\.grpc\.method: .*inference\.proto: method "Chat" is not in service/,
    );
  });
});
