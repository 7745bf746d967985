/**
 * The demo inference service's session API and uploads (HTTP), beside /v1/generate:
 *
 *   POST   /v1/conversations                 → 201 {"id"}             a conversation starts empty
 *   POST   /v1/conversations/ID/messages     → SSE answer            {"content": TEXT, "max_tokens"?: N}
 *   GET    /v1/conversations/ID              → {"id","turns","contextTokens"}
 *   DELETE /v1/conversations/ID              → 204
 *   POST   /v1/vision   multipart: image     → {"labels","bytes"}     cost grows with the image's size
 *   POST   /v1/speech   multipart: audio     → {"transcript","bytes"} cost grows with the clip's size
 *
 * A message's answer is generated on the same "GPU slots" as /v1/generate, after a prefill that
 * grows with the conversation's context (every earlier message and answer): later turns are slower,
 * as they are on real inference servers. Conversations are bounded (the oldest are forgotten).
 */
import type http from 'node:http';

export interface SessionApiOptions {
  /** Prefill time per token of context already in the conversation. */
  contextMsPerToken: number;
  /** Processing time per KiB of an uploaded image or clip. */
  uploadMsPerKiB: number;
  maxConversations: number;
  maxUploadBytes: number;
}

export const DEFAULT_SESSION_API: SessionApiOptions = {
  contextMsPerToken: 0.5,
  uploadMsPerKiB: 0.2,
  maxConversations: 10_000,
  maxUploadBytes: 10 << 20,
};

/** What the session API needs from the service: a generation on its slots, and slot time for uploads. */
export interface Generator {
  /** Streams `tokens` tokens after `extraPrefillMs` more prefill; `refused` when the queue is full. Returns cancel. */
  generate(
    req: { prompt: string; max_tokens: number; extraPrefillMs: number },
    emit: (text: string, index: number) => void,
    done: () => void,
    refused: () => void,
  ): () => void;
  /** Holds a slot for `ms` (an upload being processed); `refused` when the queue is full. Returns cancel. */
  work(ms: number, done: () => void, refused: () => void): () => void;
}

interface Conversation {
  turns: number;
  contextTokens: number;
}

const tokensOf = (text: string) => Math.max(1, Math.ceil(text.length / 4));

export function sessionApi(gen: Generator, o: SessionApiOptions = DEFAULT_SESSION_API) {
  const conversations = new Map<string, Conversation>();
  let next = 0;

  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const readBody = (req: http.IncomingMessage, limit: number, then: (b: Buffer | null) => void) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n <= limit) chunks.push(c);
    });
    req.on('end', () => then(n > limit ? null : Buffer.concat(chunks)));
  };

  const message = (req: http.IncomingMessage, res: http.ServerResponse, id: string) => {
    readBody(req, 1 << 20, (b) => {
      const conv = conversations.get(id);
      if (!conv) return json(res, 404, { error: `no conversation ${id}` });
      let body: { content?: unknown; max_tokens?: unknown };
      try {
        body = JSON.parse(b?.toString() || '{}') as typeof body;
      } catch {
        return json(res, 400, { error: 'expected a JSON body like {"content": "hello"}' });
      }
      if (typeof body.content !== 'string' || body.content === '')
        return json(res, 400, { error: 'expected {"content": TEXT}' });
      const tokens = Math.min(512, Math.max(1, Number(body.max_tokens) || 16));
      const extraPrefillMs = conv.contextTokens * o.contextMsPerToken;
      conv.contextTokens += tokensOf(body.content);
      let open = true;
      const cancel = gen.generate(
        { prompt: body.content, max_tokens: tokens, extraPrefillMs },
        (text, index) => {
          if (index === 0)
            res.writeHead(200, {
              'content-type': 'text/event-stream',
              'cache-control': 'no-cache',
              'x-context-tokens': String(conv.contextTokens),
            });
          conv.contextTokens++;
          res.write(`data: ${JSON.stringify({ text, index, turn: conv.turns + 1 })}\n\n`);
        },
        () => {
          open = false;
          conv.turns++;
          res.end('event: done\ndata: [DONE]\n\n');
        },
        () => {
          open = false;
          json(res, 429, { error: 'inference queue is full' });
        },
      );
      res.on('close', () => open && cancel());
    });
  };

  const upload = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    field: string,
    kind: 'vision' | 'speech',
  ) => {
    const type = req.headers['content-type'] ?? '';
    if (!type.startsWith('multipart/form-data'))
      return void req.resume().on('end', () => json(res, 415, { error: 'expected multipart/form-data' }));
    readBody(req, o.maxUploadBytes, (b) => {
      if (!b) return json(res, 413, { error: `uploads are limited to ${o.maxUploadBytes} bytes` });
      void new Response(new Uint8Array(b), { headers: { 'content-type': type } })
        .formData()
        .then(async (form) => {
          const file = form.get(field);
          if (!(file instanceof Blob))
            return json(res, 400, { error: `expected a file part named ${field}` });
          const bytes = file.size;
          const ms = (bytes / 1024) * o.uploadMsPerKiB;
          let open = true;
          const cancel = gen.work(
            ms,
            () => {
              open = false;
              json(
                res,
                200,
                kind === 'vision'
                  ? { labels: ['cat', 'keyboard'], bytes }
                  : { transcript: 'the quick model streams tokens', bytes },
              );
            },
            () => {
              open = false;
              json(res, 429, { error: 'inference queue is full' });
            },
          );
          res.on('close', () => open && cancel());
        })
        .catch(() => json(res, 400, { error: 'the multipart body could not be parsed' }));
    });
  };

  /** Handles a session-API request; false when the path is not one of its own. */
  return (req: http.IncomingMessage, res: http.ServerResponse, path: string): boolean => {
    const m = /^\/v1\/conversations(?:\/([^/]+))?(\/messages)?$/.exec(path);
    if (m) {
      const [, id, messages] = m;
      if (!id && req.method === 'POST') {
        const key = `c${(++next).toString(36)}`;
        conversations.set(key, { turns: 0, contextTokens: 0 });
        if (conversations.size > o.maxConversations) conversations.delete(conversations.keys().next().value!);
        req.resume().on('end', () => json(res, 201, { id: key }));
      } else if (id && messages && req.method === 'POST') message(req, res, id);
      else if (id && !messages && req.method === 'GET') {
        const c = conversations.get(id);
        req
          .resume()
          .on('end', () =>
            c ? json(res, 200, { id, ...c }) : json(res, 404, { error: `no conversation ${id}` }),
          );
      } else if (id && !messages && req.method === 'DELETE') {
        const had = conversations.delete(id);
        req.resume().on('end', () => {
          if (had) res.writeHead(204).end();
          else json(res, 404, { error: `no conversation ${id}` });
        });
      } else req.resume().on('end', () => json(res, 405, { error: 'method not allowed' }));
      return true;
    }
    if (path === '/v1/vision' && req.method === 'POST') {
      upload(req, res, 'image', 'vision');
      return true;
    }
    if (path === '/v1/speech' && req.method === 'POST') {
      upload(req, res, 'audio', 'speech');
      return true;
    }
    return false;
  };
}
