/**
 * A stand-in for the AI agent the enrichment POSTs to: a real HTTP server on 127.0.0.1 that keeps
 * every body it accepted under its `Idempotency-Key`, and can be taken away to play an outage:
 * `close()` stops listening and cuts open connections (callers get "connection refused"), `reopen()`
 * listens again on the same port, and `mode = 'unavailable'` answers 503 until set back to `'ok'`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AiAgentServer {
  /** e.g. `http://127.0.0.1:41234/ratings`. */
  readonly url: string;
  readonly port: number;
  /** `'ok'` answers 200 and keeps the body; `'unavailable'` answers 503. */
  mode: 'ok' | 'unavailable';
  /** Every accepted body (parsed JSON) under its `Idempotency-Key`, in arrival order. */
  readonly accepted: ReadonlyMap<string, readonly unknown[]>;
  /** Requests answered, by status (and `'bad'` for a request this server refused as malformed: 400). */
  readonly answered: Readonly<Record<string, number>>;
  /** Stops listening and destroys open connections: new requests are refused. */
  close(): Promise<void>;
  /** Listens again on the same port. */
  reopen(): Promise<void>;
  /** Closes for good; safe to call twice. */
  stop(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startAiAgentServer(path = '/ratings'): Promise<AiAgentServer> {
  const accepted = new Map<string, unknown[]>();
  const answered: Record<string, number> = {};
  const answer = (res: ServerResponse, status: number, label = String(status)) => {
    answered[label] = (answered[label] ?? 0) + 1;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status }));
  };
  const state = { mode: 'ok' as 'ok' | 'unavailable' };
  const server = createServer((req, res) => {
    void readBody(req).then(
      (text) => {
        const key = req.headers['idempotency-key'];
        if (state.mode === 'unavailable') return answer(res, 503);
        if (req.method !== 'POST' || req.url !== path || typeof key !== 'string' || !String(req.headers['content-type']).startsWith('application/json')) {
          return answer(res, 400, 'bad');
        }
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return answer(res, 400, 'bad');
        }
        accepted.set(key, [...(accepted.get(key) ?? []), body]);
        answer(res, 200);
      },
      () => res.destroy(),
    );
  });
  const port = await listen(server, 0);
  let open = true;
  let stopped = false;
  const close = async () => {
    if (!open) return;
    open = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Keep-alive connections would otherwise keep being served.
    server.closeAllConnections();
    await closed;
  };
  return {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    get mode() {
      return state.mode;
    },
    set mode(mode) {
      state.mode = mode;
    },
    accepted,
    answered,
    close,
    async reopen() {
      if (open || stopped) return;
      await listen(server, port);
      open = true;
    },
    async stop() {
      stopped = true;
      await close();
    },
  };
}
