/**
 * Bad input at the file boundary: interpolation on parsed scalars, alias bombs, nesting, size,
 * pipes and FIFOs. Every refusal is an InputError (exit 2) with file:line:col.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.ts';
import { loadEnvironment, loadScenario, loadSlo } from '../../src/input/load.ts';
import { CLI_BIN } from '../../src/core/paths.ts';
import { MAX_ALIASES, MAX_DEPTH, parseYamlDocs, readSource } from '../../src/core/yaml.ts';
import { MINIMAL, tempDir, writeScenario } from '../helpers/files.ts';

function write(name: string, text: string, dir = tempDir()): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** The InputError thrown by `fn` (the test fails when none is). */
function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).exitCode).toBe(2);
    return err as InputError;
  }
  throw new Error('expected an InputError, nothing was thrown');
}

describe('${VAR} interpolation on parsed scalars', () => {
  const ENV = `targets:
  api: { kind: http, url: "http://127.0.0.1:\${PORT:-8080}", health: /health }
  dep:
    kind: proxy
    proxy: dependency
    api: http://127.0.0.1:8474
    token: \${TOKEN}
  gpu:
    kind: gpu
    device: \${GPU:-1}
  proc: { kind: process, match: '\${MATCH:-demo-api}', restart: "echo $\${HOME}" } # \${NOT_READ}
`;

  it('a value with a quote, a colon or a hash is taken as it is, not as YAML', () => {
    const env = loadEnvironment(write('env.yaml', ENV), { TOKEN: `it's "quoted": a # b`, PORT: '9090' });
    const t = env.spec.targets;
    expect(t.dep).toMatchObject({ kind: 'proxy', token: `it's "quoted": a # b` });
    expect(t.api).toMatchObject({ url: 'http://127.0.0.1:9090' });
  });

  it('defaults apply when unset or empty; an unquoted number stays a number; $${...} is a literal', () => {
    const env = loadEnvironment(write('env.yaml', ENV), { TOKEN: 't', PORT: '' });
    const t = env.spec.targets;
    expect(t.api).toMatchObject({ url: 'http://127.0.0.1:8080' });
    expect(t.gpu).toEqual({ kind: 'gpu', device: 1 });
    expect(t.proc).toMatchObject({ match: 'demo-api', restart: 'echo ${HOME}' });
  });

  it('a quoted value stays a string even when it reads as a number', () => {
    const file = write('env.yaml', 'targets:\n  gpu: { kind: gpu, device: "${GPU:-1}" }\n');
    expect(inputError(() => loadEnvironment(file, {})).message).toContain(
      'env.yaml:2:29: targets.gpu.device: expected number, got string',
    );
  });

  it('an unset variable names the variable, the file, line, column and field', () => {
    const file = write('env.yaml', ENV);
    expect(inputError(() => loadEnvironment(file, {})).message).toBe(
      `${file}:7:12: targets.dep.token: environment variable TOKEN is not set and has no default (write \${TOKEN:-value} for one)`,
    );
  });

  it('an unquoted ${VAR} inside { } is a YAML error with a hint to quote it', () => {
    const file = write('env.yaml', 'targets:\n  h: { kind: http, url: ${URL} }\n');
    expect(inputError(() => loadEnvironment(file, { URL: 'http://127.0.0.1:1' })).message).toContain(
      `${file}:2:26: Unexpected flow-map-start at node end (a \${VAR} inside { } or [ ] needs quotes: "\${VAR}")`,
    );
  });

  it('variables in comments are not read', () => {
    const file = write('env.yaml', '# ${UNSET_IN_COMMENT}\ntargets:\n  h: { kind: host } # ${ALSO_UNSET}\n');
    expect(loadEnvironment(file, {}).spec.targets.h).toEqual({ kind: 'host' });
  });
});

describe('aliases, nesting and size are bounded', () => {
  it('an alias bomb (a billion laughs) is refused with the location of an alias', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) {
      const name = String.fromCharCode(97 + i);
      lines.push(
        `${name}: &${name} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(', ')}]`,
      );
    }
    const file = write('slo.yaml', lines.join('\n') + '\n');
    const t = performance.now();
    expect(inputError(() => loadSlo(file)).message).toBe(
      `${file}:2:8: b[0]: aliases of aliases in this document multiply past ${MAX_ALIASES} (an alias bomb?); write the values out instead`,
    );
    expect(performance.now() - t).toBeLessThan(2000);
  });

  it('more than 100 alias nodes in one document is refused at the one past the limit', () => {
    const text = `x: &x 1\nl: [${Array(MAX_ALIASES + 1)
      .fill('*x')
      .join(', ')}]\n`;
    expect(inputError(() => parseYamlDocs('f.yaml', text)).message).toBe(
      `f.yaml:2:${5 + MAX_ALIASES * 4}: l[${MAX_ALIASES}]: more than ${MAX_ALIASES} aliases in one document (an alias bomb?); write the values out instead`,
    );
  });

  it('deep flow nesting is refused before parsing (the parser would run out of memory)', () => {
    const text = `name: t\nload: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`;
    const t = performance.now();
    expect(inputError(() => parseYamlDocs('s.yaml', text)).message).toBe(
      `s.yaml:2:${7 + MAX_DEPTH * 2}: nesting deeper than ${MAX_DEPTH * 2} levels of [ and {, the limit for input files`,
    );
    expect(performance.now() - t).toBeLessThan(2000);
  });

  it('brackets inside JSON strings with escaped quotes do not count; a results file is scanned too', () => {
    const text = `{"a": "q\\"${'['.repeat(500)}", "b": [1]}`;
    expect(parseYamlDocs('r.json', text)[0]!.value).toEqual({ a: `q"${'['.repeat(500)}`, b: [1] });
    const file = write('results.json', `{"a": ${'['.repeat(5000)}1${']'.repeat(5000)}}`);
    expect(inputError(() => readSource(file, 'results file')).message).toBe(
      `${file}:1:${6 + MAX_DEPTH * 2}: nesting deeper than ${MAX_DEPTH * 2} levels of [ and {, the limit for input files`,
    );
  });

  it('brackets inside quoted strings and comments do not count', () => {
    const text = `a: "${'['.repeat(500)}"\nb: '${'{'.repeat(500)}'\n# ${'['.repeat(500)}\n`;
    expect(parseYamlDocs('f.yaml', text)[0]!.value).toEqual({ a: '['.repeat(500), b: '{'.repeat(500) });
  });

  it('deep block nesting is refused with the field path', () => {
    let text = '';
    for (let i = 0; i < MAX_DEPTH + 5; i++) text += `${' '.repeat(i)}k${i}:\n`;
    expect(inputError(() => parseYamlDocs('f.yaml', text)).message).toMatch(
      new RegExp(
        `^f\\.yaml:${MAX_DEPTH + 2}:${MAX_DEPTH + 2}: k0\\.k1\\.k2\\.k3\\.k4\\.k5\\.k6\\.k7…: nesting deeper than ${MAX_DEPTH} levels`,
      ),
    );
  });

  it('a file larger than 10 MiB is refused without parsing it', () => {
    const file = write('huge.yaml', `name: t\ndescription: ${'x'.repeat(10 * 2 ** 20)}\n`);
    expect(inputError(() => loadScenario(file)).message).toBe(
      `${file}: the scenario is larger than 10 MiB, the limit for input files; is it the right file?`,
    );
  });
});

describe('pipes and FIFOs', () => {
  it('a named pipe with no writer is refused at once instead of waiting', () => {
    const dir = tempDir();
    const fifo = join(dir, 'slo.fifo');
    spawnSync('mkfifo', [fifo]);
    const t = performance.now();
    expect(inputError(() => loadSlo(fifo)).message).toBe(
      `${fifo}: cannot read the SLO file: it is a named pipe (FIFO), which could wait forever for a writer; give a regular file, or a pipe from the shell such as <(cat file)`,
    );
    expect(performance.now() - t).toBeLessThan(1000);
  });

  it('a device is refused (it would never end)', () => {
    expect(inputError(() => readSource('/dev/zero', 'scenario')).message).toBe(
      '/dev/zero: cannot read the scenario: it is a device, not a file; give a regular file, or a pipe from the shell such as <(cat file)',
    );
  });

  it('chaos validate <(cat f) reads the pipe once and validates its real contents', async () => {
    const bad = write('slo.yaml', 'services:\n  api:\n    availability: 150%\n');
    const good = write('slo.yaml', 'services:\n  api:\n    availability: 99.5%\n');
    const run = (file: string) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const p = spawn('bash', ['-c', `"${process.execPath}" "${CLI_BIN}" validate <(cat "${file}")`], {
          env: { ...process.env, CHAOSKIT_STATE_DIR: tempDir() },
        });
        let out = '';
        p.stdout.on('data', (c: Buffer) => (out += c.toString()));
        p.stderr.on('data', (c: Buffer) => (out += c.toString()));
        const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
        p.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, out });
        });
      });
    const [b, g] = await Promise.all([run(bad), run(good)]);
    expect(b.code).toBe(2);
    expect(b.out).toMatch(
      /\/dev\/fd\/\d+:3:19: services\.api\.availability: expected a percentage of at most 100% \(or a fraction 0\.\.1\), got "150%"/,
    );
    expect(g.code).toBe(0);
    expect(g.out).toMatch(/^ok {2}\/dev\/fd\/\d+ \(slo\)/);
  }, 60_000);

  it('the scenario loader reads each file once (a scenario given through a pipe still loads)', () => {
    const file = writeScenario(MINIMAL);
    expect(loadScenario(file).spec.name).toBe('t');
  });
});
