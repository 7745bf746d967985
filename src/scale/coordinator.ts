/**
 * The coordinator's HTTP/JSON endpoint for segments (`--runners N --listen HOST:PORT`, and on
 * loopback for `--workers N`). Runners call it; it never calls them (a pod reaches a Service, not
 * the other way round):
 *
 *   POST /v1/join {version, index?, host, pid}  ──> {runner, index, count} │ 401 token │ 409 refused
 *   GET  /v1/control?runner=ID  ──> NDJSON, one message a line: clock pings, the run, warm-up,
 *        start, fault windows, stop, end; a `beat` every 500 ms (a runner silent-checks on it)
 *   POST /v1/messages?runner=ID [messages…]  ──> 200 │ 410 (this runner was given up)
 *
 * A runner is admitted once its control channel is open and its clock offset is within the
 * bound; admission closes when N are in: a runner that joins late, or asks for an index already
 * taken, is refused with the reason. Its channel closing (the process died) loses it at once.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { realClock, type Clock } from '../core/clock.ts';
import { AbortedError, InputError } from '../core/errors.ts';
import { formatDuration } from '../core/units.ts';
import { VERSION } from '../version.ts';
import { measureClock } from './clock-sync.ts';
import type { SegmentLink } from './engine.ts';
import {
  API,
  BEAT_MS,
  MAX_CLOCK_OFFSET_MS,
  parseFromSegment,
  type FromSegment,
  type ToSegment,
} from './protocol.ts';

export interface CoordinatorOptions {
  host: string;
  port: number;
  /** Required of every runner when set (and required to listen beyond loopback). */
  token: string | null;
  count: number;
  kind: 'workers' | 'runners';
  clock?: Clock;
  version?: string;
  maxOffsetMs?: number;
  log(line: string): void;
}

interface Member {
  id: string;
  index: number;
  host: string;
  joinedAt: number;
  state: 'joined' | 'measuring' | 'admitted' | 'gone';
  res: ServerResponse | null;
  beat: NodeJS.Timeout | null;
  link: SegmentLink | null;
  listener: ((m: FromSegment) => void) | null;
  expire: NodeJS.Timeout | null;
}

/** A joined runner must open its control channel within this long. */
const CHANNEL_WAIT_MS = 10_000;
const MAX_BODY = 32 * 1024 * 1024;

export class Coordinator {
  private readonly members = new Map<string, Member>();
  private readonly refusals: string[] = [];
  private open = true;
  private waiter: { resolve(l: SegmentLink[]): void; reject(e: Error): void } | null = null;
  private readonly clock: Clock;
  private readonly sockets = new Set<Socket>();
  private closedIn = 0;
  private closedOut = 0;

  private constructor(
    private readonly server: Server,
    private readonly o: CoordinatorOptions,
    readonly url: string,
  ) {
    this.clock = o.clock ?? realClock;
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => {
        this.sockets.delete(s);
        this.closedIn += s.bytesRead;
        this.closedOut += s.bytesWritten;
      });
    });
  }

  /** Bytes received from and sent to segments so far (HTTP included): the coordinator's wire cost. */
  wire(): { bytesIn: number; bytesOut: number } {
    let bytesIn = this.closedIn;
    let bytesOut = this.closedOut;
    for (const s of this.sockets) {
      bytesIn += s.bytesRead;
      bytesOut += s.bytesWritten;
    }
    return { bytesIn, bytesOut };
  }

  /** Binds HOST:PORT before anything starts: a port in use is bad input (exit 2), nothing started. */
  static async listen(o: CoordinatorOptions): Promise<Coordinator> {
    const server = createServer();
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new InputError(
            `--listen ${o.host}:${o.port}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.code === 'EADDRNOTAVAIL' ? 'no such address on this machine' : err.message}; nothing was started`,
          ),
        ),
      );
      server.listen(o.port, o.host, () => resolve());
    });
    const a = server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    const c = new Coordinator(server, o, `http://${host}:${a.port}`);
    server.on('request', (req, res) => c.handle(req, res));
    return c;
  }

  /** Resolves with N admitted segments (in index order); rejects after `timeoutMs` saying who is missing. */
  admitted(timeoutMs: number): Promise<SegmentLink[]> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiter = null;
        const n = this.admittedLinks().length;
        const who = this.o.kind === 'workers' ? 'workers' : 'runners';
        reject(
          new AbortedError(
            `only ${n} of ${this.o.count} ${who} joined ${this.url} within ${formatDuration(timeoutMs)}${this.refusals.length ? ` (refused: ${this.refusals.join('; ')})` : ''}; nothing was started or applied`,
          ),
        );
      }, timeoutMs);
      this.waiter = {
        resolve: (l) => {
          clearTimeout(t);
          resolve(l);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      };
      this.checkAdmitted();
    });
  }

  /** Ends every channel and stops listening. */
  async close(): Promise<void> {
    this.open = false;
    this.waiter?.reject(new AbortedError('the coordinator closed'));
    this.waiter = null;
    for (const m of this.members.values()) this.drop(m);
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private admittedLinks(): SegmentLink[] {
    return [...this.members.values()]
      .filter((m) => m.state === 'admitted' && m.link)
      .sort((a, b) => a.index - b.index)
      .map((m) => m.link!);
  }

  private checkAdmitted(): void {
    const links = this.admittedLinks();
    if (links.length < this.o.count) return;
    this.open = false;
    this.waiter?.resolve(links);
    this.waiter = null;
  }

  // ---- HTTP -----------------------------------------------------------------------------------

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://coordinator');
    const reply = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ chaoskit: 'coordinator', ...body }));
    };
    if (!this.authorised(req)) {
      reply(401, {
        error: `${this.o.kind === 'workers' ? 'a worker' : 'the runner'} gave ${req.headers.authorization ? 'a wrong' : 'no'} token: set CHAOSKIT_TOKEN to the coordinator's`,
      });
      req.resume();
      return;
    }
    const route = `${req.method} ${url.pathname}`;
    if (route === `POST ${API}/join`) void this.body(req, res).then((b) => b !== null && this.join(b, reply));
    else if (route === `GET ${API}/control`) this.control(url.searchParams.get('runner') ?? '', res, reply);
    else if (route === `POST ${API}/messages`)
      void this.body(req, res).then(
        (b) => b !== null && this.messages(url.searchParams.get('runner') ?? '', b, reply),
      );
    else {
      req.resume();
      reply(404, { error: `no such endpoint: ${route}` });
    }
  }

  private authorised(req: IncomingMessage): boolean {
    if (!this.o.token) return true;
    const got = Buffer.from(req.headers.authorization ?? '');
    const want = Buffer.from(`Bearer ${this.o.token}`);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  private body(req: IncomingMessage, res: ServerResponse): Promise<unknown | null> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_BODY) chunks.push(c);
      });
      req.on('end', () => {
        if (size > MAX_BODY) {
          res.writeHead(413).end();
          return resolve(null);
        }
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
        } catch {
          res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"the body is not JSON"}');
          resolve(null);
        }
      });
      req.on('error', () => resolve(null));
    });
  }

  private join(body: unknown, reply: (status: number, body: object) => void): void {
    const b = (body ?? {}) as { version?: unknown; index?: unknown; host?: unknown };
    const host = typeof b.host === 'string' ? b.host.slice(0, 200) : 'unknown host';
    const version = this.o.version ?? VERSION;
    const refuse = (why: string) => {
      this.refusals.push(`${host}: ${why}`);
      this.o.log(`refused a runner from ${host}: ${why}`);
      reply(409, { error: why });
    };
    if (b.version !== version)
      return refuse(
        `this coordinator is chaoskit ${version} but the runner is ${typeof b.version === 'string' ? b.version : 'unknown'}: versions must match`,
      );
    const taken = new Map(
      [...this.members.values()].filter((m) => m.state !== 'gone').map((m) => [m.index, m]),
    );
    if (!this.open) {
      const who = [...taken.values()].map((m) => `${m.index} from ${m.host}`).join(', ');
      return refuse(
        `the run already has its ${this.o.count} runner(s) (${who}); a runner that joins late is refused`,
      );
    }
    let index: number;
    if (b.index === undefined || b.index === null) {
      index = [...Array(this.o.count).keys()].find((i) => !taken.has(i)) ?? -1;
      if (index < 0)
        return refuse(`all ${this.o.count} indexes are taken; a runner that joins late is refused`);
    } else {
      if (!Number.isInteger(b.index) || (b.index as number) < 0 || (b.index as number) >= this.o.count)
        return refuse(
          `index ${String(b.index)} is not among 0..${this.o.count - 1} (--runners ${this.o.count})`,
        );
      index = b.index as number;
      const m = taken.get(index);
      if (m)
        return refuse(
          `index ${index} is taken by a runner from ${m.host}; a runner that joins twice is refused`,
        );
    }
    const m: Member = {
      id: randomBytes(12).toString('hex'),
      index,
      host,
      joinedAt: this.clock.now(),
      state: 'joined',
      res: null,
      beat: null,
      link: null,
      listener: null,
      expire: null,
    };
    m.expire = setTimeout(() => m.state === 'joined' && this.drop(m), CHANNEL_WAIT_MS);
    this.members.set(m.id, m);
    this.o.log(`${this.o.kind === 'workers' ? 'worker' : 'runner'} ${index} joined from ${host}`);
    reply(200, { runner: m.id, index, count: this.o.count });
  }

  private control(id: string, res: ServerResponse, reply: (status: number, body: object) => void): void {
    const m = this.members.get(id);
    if (!m || m.state !== 'joined') return reply(410, { error: 'unknown runner: join first' });
    clearTimeout(m.expire ?? undefined);
    m.state = 'measuring';
    m.res = res;
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    const send = (msg: ToSegment) => {
      if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify(msg)}\n`);
    };
    m.beat = setInterval(() => send({ type: 'beat' }), BEAT_MS);
    res.on('close', () => {
      const link = m.link;
      const was = m.state;
      this.drop(m);
      if (was === 'admitted') link?.onClose?.('its connection to the coordinator closed');
    });
    const link: SegmentLink = {
      index: m.index,
      host: m.host,
      offsetMs: 0,
      rttMs: 0,
      onMessage: null,
      onClose: null,
      send,
      close: () => this.drop(m),
    };
    const max = this.o.maxOffsetMs ?? MAX_CLOCK_OFFSET_MS;
    measureClock({ send, listen: (fn) => (m.listener = fn) }, this.clock).then(
      ({ offsetMs, rttMs }) => {
        if (m.state !== 'measuring') return;
        if (Math.abs(offsetMs) > max) {
          const why = `its clock is ${Math.round(offsetMs)} ms off the coordinator's (round trip ${rttMs.toFixed(1)} ms), beyond the ${max} ms bound: synchronise its clock (NTP) and start it again`;
          this.refusals.push(`${m.host}: ${why}`);
          this.o.log(`refused runner ${m.index} from ${m.host}: ${why}`);
          send({ type: 'refused', message: `refused: ${why}` });
          this.drop(m);
          return;
        }
        link.offsetMs = offsetMs;
        link.rttMs = rttMs;
        m.link = link;
        m.state = 'admitted';
        this.checkAdmitted();
      },
      (err: Error) => {
        this.refusals.push(`${m.host}: ${err.message}`);
        this.drop(m);
      },
    );
  }

  private messages(id: string, body: unknown, reply: (status: number, body: object) => void): void {
    const m = this.members.get(id);
    if (!m || m.state === 'gone' || m.state === 'joined')
      return reply(410, { error: 'the coordinator gave this runner up (or never admitted it)' });
    const list = Array.isArray(body) ? body : [body];
    const parsed: FromSegment[] = [];
    for (const raw of list) {
      const p = parseFromSegment(raw);
      if (typeof p === 'string') return reply(400, { error: p });
      parsed.push(p);
    }
    reply(200, { ok: true });
    for (const p of parsed) {
      if (m.state === 'measuring') m.listener?.(p);
      else if (m.state === 'admitted') m.link?.onMessage?.(p);
    }
  }

  /** Forgets a member: its channel ends (a live runner then stops), its index is free again if admission is open. */
  private drop(m: Member): void {
    if (m.state === 'gone') return;
    m.state = 'gone';
    clearTimeout(m.expire ?? undefined);
    clearInterval(m.beat ?? undefined);
    m.listener = null;
    if (m.res && !m.res.writableEnded) m.res.end();
    this.members.delete(m.id);
  }
}
