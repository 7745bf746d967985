import type { Command } from './index.ts';

/**
 * `chaos _hold KIND --mark M --max-ms N ...`: a resource holder (see src/targets/holder.ts).
 * Reports `{ready}` or `{error}` over IPC, then holds until killed or its own deadline passes.
 */
export const holdCommand: Command = (cli) =>
  cli.command({
    command: '_hold <kind>',
    describe: false,
    builder: (y) =>
      y
        .positional('kind', {
          choices: ['cpu', 'memory', 'gpu-memory', 'gpu-stress'] as const,
          demandOption: true,
        })
        .option('mark', { type: 'string', demandOption: true })
        .option('max-ms', { type: 'number', demandOption: true })
        .option('cores', { type: 'number', default: 1 })
        .option('duty', { type: 'number', default: 100 })
        .option('bytes', { type: 'number' })
        .option('fraction', { type: 'number' })
        .option('device', { type: 'number', default: 0 }),
    handler: async (args) => {
      const send = (m: object) => process.send?.(m);
      // The last layer of "nothing is left broken": even if every other layer failed, we end.
      setTimeout(() => process.exit(0), args.maxMs).unref();
      let keep: unknown;
      try {
        const [{ holdCpu }, { holdGpuCompute, holdGpuMemory }, { holdMemory }] = await Promise.all([
          import('../../stress/cpu.ts'),
          import('../../stress/gpu.ts'),
          import('../../stress/memory.ts'),
        ]);
        if (args.kind === 'cpu') keep = holdCpu(args.cores, args.duty);
        else if (args.kind === 'memory') keep = holdMemory(args.bytes ?? 0);
        else if (args.kind === 'gpu-memory')
          keep = holdGpuMemory(args.device, {
            ...(args.bytes !== undefined ? { bytes: args.bytes } : {}),
            ...(args.fraction !== undefined ? { fraction: args.fraction } : {}),
          });
        else keep = holdGpuCompute(args.device, args.duty);
      } catch (err) {
        send({ error: (err as Error).message });
        process.exit(1);
      }
      send({ ready: true, detail: typeof keep === 'object' && keep && 'bytes' in keep ? keep : undefined });
      process.on('disconnect', () => {});
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
        setInterval(() => void keep, 60_000); // hold the event loop (and `keep`) until signalled
      });
      process.exit(0);
    },
  });
