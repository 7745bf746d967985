/** The demo system's ports from the environment (src/demo/ports.ts): each its own, each a port. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_DEMO_PORTS, demoPorts } from '../../src/demo/ports.ts';
import { InputError } from '../../src/core/errors.ts';

describe('demoPorts', () => {
  it('takes each port from its variable, the default otherwise', () => {
    expect(demoPorts({})).toEqual(DEFAULT_DEMO_PORTS);
    expect(demoPorts({ CHAOSKIT_DEMO_API_PORT: '9080', CHAOSKIT_DEMO_INFERENCE_HTTP_PORT: '9091' })).toEqual({
      ...DEFAULT_DEMO_PORTS,
      api: 9080,
      inferenceHttpHop: 9091,
    });
  });

  it('two services on one port is invalid input naming both variables', () => {
    const twice = {
      CHAOSKIT_DEMO_INFERENCE_UPSTREAM_PORT: '33117',
      CHAOSKIT_DEMO_INFERENCE_HTTP_UPSTREAM_PORT: '33117',
    };
    expect(() => demoPorts(twice)).toThrow(InputError);
    expect(() => demoPorts(twice)).toThrow(
      'CHAOSKIT_DEMO_INFERENCE_UPSTREAM_PORT and CHAOSKIT_DEMO_INFERENCE_HTTP_UPSTREAM_PORT are both 33117: each demo service needs a port of its own (unset one, or move it)',
    );
    // A variable set to another service's default.
    expect(() => demoPorts({ CHAOSKIT_DEMO_HOP_PORT: '8080' })).toThrow(
      'CHAOSKIT_DEMO_API_PORT (default) and CHAOSKIT_DEMO_HOP_PORT are both 8080',
    );
  });

  it('a value that is not a port number is invalid input naming the variable', () => {
    for (const raw of ['abc', '0', '65536', '80.5', '-1'])
      expect(() => demoPorts({ CHAOSKIT_DEMO_API_PORT: raw })).toThrow(
        `CHAOSKIT_DEMO_API_PORT must be a port number from 1 to 65535, got "${raw}"`,
      );
  });
});
