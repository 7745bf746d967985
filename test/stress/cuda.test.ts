/**
 * koffi is an optional dependency: loaded on first use, and its absence is a clear preflight
 * message for GPU faults instead of a crash at start-up. The GPU itself is exercised on a real
 * NVIDIA GPU separately (docs/faults.md); these run anywhere.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/core/paths.ts';
import { CudaUnavailable, KOFFI_MISSING, loadKoffi } from '../../src/stress/cuda.ts';

describe('loading koffi', () => {
  it('a missing package is CudaUnavailable saying how to install it', () => {
    const err = (() => {
      try {
        loadKoffi('chaoskit-no-such-package');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CudaUnavailable);
    expect((err as Error).message).toBe('gpu faults need the optional package koffi: npm install koffi');
    expect(KOFFI_MISSING).toBe((err as Error).message);
  });

  it('the installed package loads on demand', () => {
    expect(typeof loadKoffi().load).toBe('function');
  });

  it('without koffi, GPU fault preflights refuse with that message (a real process without the package)', () => {
    const script = `
      const { faults } = await import('./faults/index.ts');
      const out = [];
      for (const [type, params] of [['gpu-memory-pressure', { amount: '1GiB' }], ['gpu-stress', { utilization: '50%' }]]) {
        const def = faults[type];
        out.push(await def.preflight({ kind: 'gpu', device: 0 }, def.params.parse(params)));
      }
      process.stdout.write(JSON.stringify(out));`;
    const r = spawnSync(
      process.execPath,
      [
        '--require',
        join(PACKAGE_ROOT, 'test/fixtures/hide-koffi.cjs'),
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        script,
      ],
      { cwd: PACKAGE_ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.stderr).toBe('');
    const messages = JSON.parse(r.stdout) as string[];
    expect(messages).toHaveLength(2);
    for (const m of messages)
      expect(m).toMatch(/^gpu faults need the optional package koffi: npm install koffi; /);
  });
});
