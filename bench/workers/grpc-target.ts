/**
 * gRPC bench target: the demo's Inference service shape, answering at once. Complete: an empty
 * completion. Generate: `max_tokens` messages, the first after `token_delay_ms` (the known delay
 * the time-to-first-event bench measures against), then one every `token_delay_ms`. An SSE twin on
 * HTTP does the same at /sse?delay=MS&n=N. GET /stats: the median delay after which first events
 * actually went out since the last /stats. Prints `READY grpcPort httpPort`; exits at its deadline.
 */
import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { INFERENCE_PROTO, INFERENCE_SERVICE } from '../../src/demo/inference.ts';
import { grpcServiceDefinition, loadProto } from '../../src/load/grpc-proto.ts';

const args = JSON.parse(process.env.BENCH_ARGS ?? '{}') as { lifetimeMs: number };
setTimeout(() => process.exit(0), args.lifetimeMs ?? 600_000).unref();
process.on('SIGTERM', () => process.exit(0));

interface Req {
  max_tokens: number;
  token_delay_ms: number;
}
/** How long after a stream began its first event actually went out (timers fire late on a busy machine). */
let firstSends: number[] = [];
const server = new grpc.Server();
const svc = loadProto(INFERENCE_PROTO).lookupService(INFERENCE_SERVICE);
server.addService(grpcServiceDefinition(svc) as unknown as grpc.ServiceDefinition, {
  Complete: (_call: grpc.ServerUnaryCall<Req, unknown>, cb: grpc.sendUnaryData<unknown>) =>
    cb(null, { text: '', tokens: 0 }),
  Generate: (call: grpc.ServerWritableStream<Req, unknown>) => {
    const n = call.request.max_tokens || 1;
    const began = performance.now();
    let i = 0;
    const next = () => {
      if (i === 0) firstSends.push(performance.now() - began);
      call.write({ text: 't', index: i });
      if (++i < n) setTimeout(next, call.request.token_delay_ms);
      else call.end();
    };
    setTimeout(next, call.request.token_delay_ms);
  },
});
const web = http.createServer((req, res) => {
  const u = new URL(req.url ?? '/', 'http://x');
  if (u.pathname === '/stats') {
    const xs = firstSends.sort((x, y) => x - y);
    firstSends = [];
    res.end(JSON.stringify({ firstSendP50: xs[xs.length >> 1] ?? null, n: xs.length }));
    return;
  }
  const began = performance.now();
  const delay = Number(u.searchParams.get('delay') ?? 0);
  const n = Number(u.searchParams.get('n') ?? 1);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  let i = 0;
  const next = () => {
    if (i === 0) firstSends.push(performance.now() - began);
    res.write(`data: ${i}\n\n`);
    if (++i < n) setTimeout(next, delay);
    else res.end('data: [DONE]\n\n');
  };
  setTimeout(next, delay);
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  web.listen(0, '127.0.0.1', () => {
    const hp = (web.address() as { port: number }).port;
    process.stdout.write(`READY ${port} ${hp}\n`);
  });
});
