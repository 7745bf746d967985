/**
 * The peer: a tight grpc-js client loop, as a developer would write it. `concurrency` loops each
 * call Complete through a generated client (makeGenericClientConstructor, protobufjs messages) and
 * call again as soon as the answer comes. mode `ttfe`: sequential Generate calls, time from the
 * call to its first message. Counts OK answers that end in the window.
 */
import * as grpc from '@grpc/grpc-js';
import { INFERENCE_PROTO, INFERENCE_SERVICE } from '../../src/demo/inference.ts';
import { grpcServiceDefinition, loadProto } from '../../src/load/grpc-proto.ts';

interface Args {
  address: string;
  mode: 'throughput' | 'ttfe';
  durationMs: number;
  concurrency: number;
  window: [number, number];
  firstDelayMs: number;
  calls: number;
}
const a = JSON.parse(process.env.BENCH_ARGS ?? '{}') as Args;
const def = grpcServiceDefinition(loadProto(INFERENCE_PROTO).lookupService(INFERENCE_SERVICE));
const Client = grpc.makeGenericClientConstructor(def as unknown as grpc.ServiceDefinition, 'Inference');
const client = new Client(a.address, grpc.credentials.createInsecure()) as unknown as {
  Complete(req: object, cb: (err: grpc.ServiceError | null) => void): void;
  Generate(req: object): NodeJS.EventEmitter;
  close(): void;
};
const t0 = performance.now();
let windowOk = 0;
let errors = 0;

if (a.mode === 'throughput') {
  let stopping = false;
  let live = 0;
  await new Promise<void>((resolve) => {
    const loop = () => {
      live++;
      client.Complete({ prompt: 'x' }, (err) => {
        live--;
        const t = performance.now() - t0;
        if (err) errors++;
        else if (t >= a.window[0] && t < a.window[1]) windowOk++;
        if (t >= a.durationMs) stopping = true;
        if (!stopping) loop();
        else if (live === 0) resolve();
      });
    };
    for (let i = 0; i < a.concurrency; i++) loop();
  });
  process.stdout.write(
    `RESULT ${JSON.stringify({ windowOk, windowMs: a.window[1] - a.window[0], errors })}\n`,
  );
} else {
  const firsts: number[] = [];
  for (let i = 0; i < a.calls; i++) {
    const start = performance.now();
    await new Promise<void>((resolve) => {
      const call = client.Generate({ prompt: 'x', max_tokens: 2, token_delay_ms: a.firstDelayMs });
      let first = true;
      call.on('data', () => {
        if (first) firsts.push(performance.now() - start);
        first = false;
      });
      call.on('end', () => resolve());
      call.on('error', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 20));
  }
  firsts.sort((x, y) => x - y);
  process.stdout.write(
    `RESULT ${JSON.stringify({ p50: firsts[firsts.length >> 1], min: firsts[0], max: firsts[firsts.length - 1] })}\n`,
  );
}
client.close();
process.exit(0);
