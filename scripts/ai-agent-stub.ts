/**
 * `node dist/scripts/ai-agent-stub.js` (or `tsx scripts/ai-agent-stub.ts`): a stand-in for the AI
 * agent the enrichment POSTs each enriched rating to, for the compose stack. It accepts JSON, counts
 * what it got and answers at once; it does not judge anything.
 *
 * - `POST /ratings` with a JSON body: 200 `{ "accepted": true, "duplicate": <seen that Idempotency-Key> }`;
 *   400 for a body that is not JSON; 401 when `AI_AGENT_TOKEN` is set and the bearer token differs.
 * - `GET /healthz`: 200 `{ "status": "ok" }`. `GET /stats`: the counters.
 *
 * Environment: `PORT` (8090), `HOST` (0.0.0.0), `AI_AGENT_TOKEN` (unset: no check). Stops on
 * SIGTERM / SIGINT and prints its counters.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

export interface AiAgentStubOptions {
  readonly port?: number;
  readonly host?: string;
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Idempotency keys remembered for duplicate counting; the oldest are forgotten first. Default 100,000. */
  readonly rememberKeys?: number;
}

export interface AiAgentStubStats {
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
}

export interface AiAgentStub {
  readonly url: string;
  stats(): AiAgentStubStats;
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startAiAgentStub(options: AiAgentStubOptions = {}): Promise<AiAgentStub> {
  const remember = options.rememberKeys ?? 100_000;
  // A Set iterates in insertion order, so its first entry is the oldest key.
  const seen = new Set<string>();
  let accepted = 0;
  let duplicates = 0;
  let rejected = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://stub').pathname;
    if (req.method === 'GET' && path === '/healthz') return send(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === '/stats') return send(res, 200, { accepted, duplicates, rejected });
    if (path !== '/ratings') return send(res, 404, { error: 'not_found' });
    if (req.method !== 'POST') return send(res, 405, { error: 'method_not_allowed' });
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      rejected++;
      return send(res, 401, { error: 'unauthorized' });
    }
    const body = await readBody(req);
    try {
      if (body === undefined) throw new Error('too large');
      JSON.parse(body);
    } catch {
      rejected++;
      return send(res, 400, { error: 'bad_request' });
    }
    const key = req.headers['idempotency-key'];
    const duplicate = typeof key === 'string' && seen.has(key);
    if (duplicate) duplicates++;
    else if (typeof key === 'string') {
      seen.add(key);
      if (seen.size > remember) seen.delete(seen.values().next().value as string);
    }
    accepted++;
    send(res, 200, { accepted: true, duplicate });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { error: 'internal' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8090, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    stats: () => ({ accepted, duplicates, rejected }),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function main(): Promise<void> {
  const env = process.env;
  const stub = await startAiAgentStub({
    port: Number(env['PORT'] ?? '8090'),
    host: env['HOST'] ?? '0.0.0.0',
    ...(env['AI_AGENT_TOKEN'] ? { token: env['AI_AGENT_TOKEN'] } : {}),
  });
  process.stdout.write(`${stub.url}/ratings\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  await stub.stop();
  process.stderr.write(`AI agent stub stopped on ${signal}: ${JSON.stringify(stub.stats())}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
