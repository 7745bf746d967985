/** The observer flags of `chaos run`: each bad value is exit 2 before anything starts, naming the flag. */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

describe('observer flags', () => {
  it('refuses bad --otlp, --trace-sample and --dashboard values before anything starts', async () => {
    const bad = async (args: string[], message: string, env: NodeJS.ProcessEnv = {}) => {
      const r = await runCli(['run', 'spike-with-partition', ...args], env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toBe(`chaos: ${message}\n`);
    };
    await bad(['--otlp', 'nope'], '--otlp must be an http:// or https:// URL, got "nope"');
    await bad(
      ['--otlp'],
      '--otlp without a URL needs OTEL_EXPORTER_OTLP_ENDPOINT (or both OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and OTEL_EXPORTER_OTLP_METRICS_ENDPOINT)',
      { OTEL_EXPORTER_OTLP_ENDPOINT: '' },
    );
    await bad(
      ['--trace-sample', '1%'],
      '--trace-sample needs --otlp: sampled requests are exported as spans over OTLP',
    );
    await bad(
      ['--otlp', 'http://127.0.0.1:4318', '--trace-sample', '200%'],
      '--trace-sample must be a share from 0% to 100% (like 1% or 0.01), got "200%"',
    );
    await bad(
      ['--otlp', 'http://127.0.0.1:4318'],
      'OTEL_EXPORTER_OTLP_PROTOCOL=grpc: chaoskit exports OTLP over http/protobuf only; unset it or set http/protobuf',
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
    );
    await bad(['--dashboard', '70000'], '--dashboard must be a port number from 0 to 65535, got 70000');
  }, 60_000);
});
