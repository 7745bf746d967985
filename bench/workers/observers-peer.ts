/**
 * The other side of the observability bench, in its own process (pinned to the target core, so
 * none of its work lands on the generator's): an OTLP/HTTP sink that takes every export and
 * answers as the Collector does (an empty protobuf response is a valid one), and `clients` pages
 * that follow a dashboard's /events stream. Prints `READY {port}` once listening, and on SIGTERM
 * a `RESULT {json}` line with what it received. Exits by itself after 10 minutes.
 */
import http from 'node:http';

const { clients, dashboardUrl } = JSON.parse(process.env.BENCH_ARGS ?? '{}') as {
  clients?: number;
  dashboardUrl?: string;
};
const got = { exports: 0, bytes: 0, sseMessages: 0, sseBytes: 0 };

const sink = http.createServer((req, res) => {
  req.on('data', (c: Buffer) => (got.bytes += c.length));
  req.on('end', () => {
    got.exports++;
    res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': '0' });
    res.end();
  });
});
sink.keepAliveTimeout = 60_000;
sink.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY ${(sink.address() as { port: number }).port}\n`);
});

async function follow(url: string): Promise<void> {
  for (let tries = 0; tries < 300; tries++) {
    try {
      const res = await fetch(url);
      for await (const chunk of res.body!) {
        const s = Buffer.from(chunk).toString();
        got.sseBytes += s.length;
        got.sseMessages += s.split('\n\n').length - 1;
      }
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
if (dashboardUrl) for (let i = 0; i < (clients ?? 0); i++) void follow(`${dashboardUrl}events`);

const bye = () => {
  process.stdout.write(`RESULT ${JSON.stringify(got)}\n`);
  process.exit(0);
};
process.on('SIGTERM', bye);
process.on('SIGINT', bye);
setTimeout(bye, 10 * 60_000).unref();
