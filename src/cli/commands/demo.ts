import { demoPorts } from '../../demo/ports.ts';
import type { Command } from './index.ts';

export const demoCommand: Command = (cli) =>
  cli.command(
    'demo',
    'run the built-in demo system in the foreground (api → fault proxy → dependency on loopback)',
    (y) => y.option('supervised', { type: 'boolean', default: false, hidden: true }),
    async (args) => {
      const { DemoSystem } = await import('../../demo/system.ts');
      const workMs = Number(process.env.CHAOSKIT_DEMO_DEPENDENCY_WORK_MS ?? 1);
      const sys = await DemoSystem.start(demoPorts(), {
        workMs: Number.isFinite(workMs) && workMs >= 0 ? workMs : 1,
      });
      const p = sys.ports;
      const stopped = new Promise<void>((resolve) => {
        const stop = () => void sys.stop().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        // Supervised by a run: leave when the run goes away, however it ended (also when it went
        // away while the demo was still starting: the channel is already closed then).
        process.once('disconnect', stop);
        if (args.supervised && !process.connected) stop();
      });
      if (args.supervised && process.send) {
        process.send({ ready: true, ports: p });
      } else {
        sys.on('log', (l) => process.stderr.write(`${l}\n`));
        process.stdout.write(
          [
            'demo system running on loopback (Ctrl-C to stop):',
            `  api         http://127.0.0.1:${p.api}   (GET /items/42, POST /items, GET /health)`,
            `  dependency  http://127.0.0.1:${p.dependency}`,
            `  fault proxy 127.0.0.1:${p.hop} → dependency; Toxiproxy-compatible API http://127.0.0.1:${p.proxyApi}`,
            `  inference   grpc 127.0.0.1:${p.inferenceGrpcHop} (chaoskit.demo.v1.Inference, through the fault proxy), SSE http://127.0.0.1:${p.inferenceHttpHop}/v1/generate`,
            '',
          ].join('\n'),
        );
      }
      await stopped;
    },
  );

export const demoApiCommand: Command = (cli) =>
  cli.command({
    command: 'demo-api',
    describe: false,
    builder: (y) =>
      y
        .option('port', { type: 'number', demandOption: true })
        .option('dependency', { type: 'string', demandOption: true })
        .option('timeout-ms', { type: 'number', default: 1000 }),
    handler: async (args) => {
      const { startApi } = await import('../../demo/api.ts');
      const server = await startApi({
        port: args.port,
        dependencyUrl: args.dependency,
        timeoutMs: args.timeoutMs,
      });
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', () => server.close(() => resolve()));
        process.once('SIGINT', () => server.close(() => resolve()));
      });
      process.exit(0);
    },
  });
