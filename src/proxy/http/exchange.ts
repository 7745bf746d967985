/**
 * HTTP-aware faults for one connection: a request router at the head of the upstream chain and
 * a response sequencer at the head of the downstream chain.
 *
 *   client ──requests──> router ──(forward / hold / drop)──> ... ──> upstream
 *   client <── ... <── sequencer <──responses── upstream
 *                        └─ injected error responses, slotted in request order
 *
 * Each request gets a slot; an answered-by-us request's response is emitted only after the
 * responses to every earlier request, so keep-alive and pipelined clients see the right order.
 */
import { STATUS_CODES } from 'node:http';
import { DelayQueue } from '../toxics/delay-queue.ts';
import type { ToxicDefinition } from '../toxic-def.ts';
import type { RequestAction, Stage, StageContext } from '../types.ts';
import { type FrameEvent, HttpFramer, type MessageHead } from './framer.ts';

export const HTTP_STAGE = '#http';

export interface HttpToxicSource {
  /** The proxy's current request-scoped toxics, read at every request. */
  httpToxics(): readonly ToxicDefinition[];
}

type Slot = { method: string } | { bytes: Buffer; close: boolean };

class ResponseSequencer implements Stage {
  private slots: Slot[] = [];
  private readonly framer: HttpFramer;
  private done = false;

  constructor(
    private readonly ctx: StageContext,
    synced: boolean,
  ) {
    const requestMethod = (): string | undefined => {
      const s = this.slots[0];
      return s && 'method' in s ? s.method : undefined;
    };
    this.framer = new HttpFramer('response', { synced, requestMethod });
  }

  expect(method: string): void {
    this.slots.push({ method });
  }

  inject(bytes: Buffer, close: boolean): void {
    this.slots.push({ bytes, close });
    this.drain();
  }

  write(chunk: Buffer): void {
    if (this.done) return;
    const events: FrameEvent[] = [];
    this.framer.feed(chunk, events);
    this.handle(events);
  }

  end(): void {
    if (this.done) return;
    const events: FrameEvent[] = [];
    this.framer.finish(events);
    this.handle(events);
    // The upstream is gone: answers still owed by it never come; ours are sent anyway.
    this.slots = this.slots.filter((s) => 'bytes' in s);
    this.drain();
    if (!this.done) {
      this.done = true;
      this.ctx.end();
    }
  }

  flush(): void {}
  destroy(): void {
    this.slots = [];
  }

  private handle(events: FrameEvent[]): void {
    for (const e of events) {
      if (e.type === 'data') this.ctx.push(e.bytes);
      else if (e.type === 'end' && e.final) {
        if (this.slots[0] && 'method' in this.slots[0]) this.slots.shift();
        this.drain();
      }
    }
  }

  private drain(): void {
    let s = this.slots[0];
    while (s && 'bytes' in s && !this.done) {
      this.slots.shift();
      this.ctx.push(s.bytes);
      if (s.close) {
        // Half-close towards the client after the answer; it closes its side in turn.
        this.done = true;
        this.ctx.end();
      }
      s = this.slots[0];
    }
  }
}

class RequestRouter implements Stage {
  private readonly framer: HttpFramer;
  private readonly queue: DelayQueue;
  private dropping = false;
  private releaseAt = 0;

  constructor(
    private readonly ctx: StageContext,
    private readonly seq: ResponseSequencer,
    private readonly source: HttpToxicSource,
    synced: boolean,
  ) {
    this.framer = new HttpFramer('request', { synced });
    this.queue = new DelayQueue(ctx, 1024 * 1024);
  }

  write(chunk: Buffer): void {
    const events: FrameEvent[] = [];
    this.framer.feed(chunk, events);
    for (const e of events) this.on(e);
  }

  end(): void {
    const events: FrameEvent[] = [];
    this.framer.finish(events);
    for (const e of events) this.on(e);
    this.queue.addEnd(0);
  }

  flush(): void {
    this.queue.flush();
  }

  destroy(): void {
    this.queue.destroy();
  }

  private on(e: FrameEvent): void {
    if (e.type === 'head') this.route(e.head);
    else if (e.type === 'data') {
      if (!this.dropping) this.queue.add(e.bytes, this.releaseAt);
    } else {
      this.dropping = false;
      this.releaseAt = 0;
    }
  }

  private route(head: MessageHead): void {
    let delayMs = 0;
    let error: Extract<RequestAction, { kind: 'error' }> | undefined;
    for (const def of this.source.httpToxics()) {
      if (this.ctx.random() >= def.toxicity) continue;
      const action = def.kind.onRequest?.(def.attributes, head, this.ctx.random);
      if (action?.kind === 'delay') delayMs += action.ms;
      else if (action?.kind === 'error') error ??= action;
    }
    if (error) {
      this.dropping = true;
      const close = wantsClose(head);
      this.seq.inject(errorResponse(head, error.status, error.body, close), close);
      return;
    }
    this.seq.expect(head.method);
    this.releaseAt = delayMs > 0 ? this.ctx.clock.now() + delayMs : 0;
  }
}

/** Puts the router and sequencer at the head of a connection's two chains. */
export function installHttp(
  add: {
    up: (make: (ctx: StageContext) => Stage) => void;
    down: (make: (ctx: StageContext) => Stage) => void;
  },
  source: HttpToxicSource,
  synced: boolean,
): void {
  let seq: ResponseSequencer | undefined;
  add.down((ctx) => (seq = new ResponseSequencer(ctx, synced)));
  add.up((ctx) => new RequestRouter(ctx, seq!, source, synced));
}

function wantsClose(head: MessageHead): boolean {
  const connection = head.headers.get('connection') ?? '';
  if (/\bclose\b/i.test(connection)) return true;
  // We answer before any body arrives; a client waiting for 100-continue must not send it.
  if (/100-continue/i.test(head.headers.get('expect') ?? '')) return true;
  return head.version === '1.0' && !/keep-alive/i.test(connection);
}

function errorResponse(head: MessageHead, status: number, body: string, close: boolean): Buffer {
  const payload = Buffer.from(body, 'utf8');
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Injected Fault'}`,
    'content-type: text/plain; charset=utf-8',
    `content-length: ${payload.length}`,
    'x-chaoskit-fault: http_error',
    `connection: ${close ? 'close' : 'keep-alive'}`,
    '',
    '',
  ];
  const headBytes = Buffer.from(lines.join('\r\n'), 'latin1');
  return head.method === 'HEAD' ? headBytes : Buffer.concat([headBytes, payload]);
}
