/** HTTP/1.x framing: boundaries are found whatever the chunking, and no byte is changed. */
import { describe, expect, it } from 'vitest';
import { type FrameEvent, HttpFramer } from '../../../src/proxy/http/framer.ts';

/** Feeds `text` in pieces of `step` bytes; returns a compact trace and the bytes passed on. */
function frame(
  kind: 'request' | 'response',
  text: string,
  step: number,
  opts: { synced?: boolean; method?: string } = {},
): { trace: string[]; bytes: string } {
  const f = new HttpFramer(kind, { synced: opts.synced ?? true, requestMethod: () => opts.method });
  const events: FrameEvent[] = [];
  const input = Buffer.from(text, 'latin1');
  for (let i = 0; i < input.length; i += step) f.feed(input.subarray(i, i + step), events);
  f.finish(events);
  const trace: string[] = [];
  let bytes = '';
  for (const e of events) {
    if (e.type === 'head')
      trace.push(kind === 'request' ? `${e.head.method} ${e.head.target}` : `${e.head.status}`);
    else if (e.type === 'end') trace.push(e.final ? 'end' : 'interim');
    else bytes += e.bytes.toString('latin1');
  }
  return { trace, bytes };
}

function everyChunking(kind: 'request' | 'response', text: string, expected: string[], opts = {}): void {
  for (const step of [1, 2, 3, 7, 16, 1000]) {
    const { trace, bytes } = frame(kind, text, step, opts);
    expect(trace, `step ${step}`).toEqual(expected);
    expect(bytes, `step ${step}`).toBe(text);
  }
}

describe('requests', () => {
  it('content-length and bodyless requests, back to back', () => {
    const text =
      'GET /a HTTP/1.1\r\nhost: x\r\n\r\n' +
      'POST /b?q=1 HTTP/1.1\r\ncontent-length: 5\r\n\r\nhello' +
      '\r\nDELETE /c HTTP/1.0\r\n\r\n';
    everyChunking('request', text, ['GET /a', 'end', 'POST /b?q=1', 'end', 'DELETE /c', 'end']);
  });

  it('chunked bodies with extensions and trailers', () => {
    const text =
      'POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nx-trailer: yes\r\n\r\n' +
      'GET /next HTTP/1.1\r\n\r\n';
    everyChunking('request', text, ['POST /up', 'end', 'GET /next', 'end']);
  });

  it('unsynced framing waits for a request line; CONNECT and upgrades become a tunnel', () => {
    everyChunking('request', 'tail of an old body', [], { synced: false });
    const { trace } = frame('request', 'rest of body\r\n', 100, { synced: false });
    expect(trace).toEqual([]);
    const tunnel = 'CONNECT h:443 HTTP/1.1\r\n\r\nGET /not-parsed HTTP/1.1\r\n\r\n';
    everyChunking('request', tunnel, ['CONNECT h:443', 'end']);
  });

  it('malformed heads are passed on untouched and framing stops', () => {
    everyChunking('request', 'GET / HTTP/1.1\r\nno colon here\r\n\r\nmore', []);
    const dup = 'POST / HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab';
    everyChunking('request', dup, []);
  });
});

describe('responses', () => {
  it('length, chunked, 204 and 304, and HEAD responses', () => {
    const text =
      'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok' +
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n' +
      'HTTP/1.1 204 No Content\r\n\r\n' +
      'HTTP/1.1 304 Not Modified\r\ncontent-length: 10\r\n\r\n';
    everyChunking('response', text, ['200', 'end', '200', 'end', '204', 'end', '304', 'end']);
    everyChunking('response', 'HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n', ['200', 'end'], {
      method: 'HEAD',
    });
  });

  it('1xx interim responses do not complete an exchange; a close-delimited body ends at EOF', () => {
    const text = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nuntil the end';
    everyChunking('response', text, ['100', 'interim', '200', 'end']);
  });

  it('101 switches to a tunnel', () => {
    everyChunking('response', 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n\x81\x05hello', [
      '101',
      'end',
    ]);
  });
});
