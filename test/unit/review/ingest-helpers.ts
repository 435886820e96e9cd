/** Shared helpers for the hostile review of the REST poller / OpenClaw ingest (not a test file). */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { RestPollerOptions } from '../../../src/connectors/rest-poller.ts';
import type { MemoryTransport } from '../../../src/transport/memory/index.ts';

export interface Item {
  readonly id: string;
  readonly timestamp: number;
}

export type Handler = (request: IncomingMessage, response: ServerResponse, count: number) => void;

/** A raw HTTP server on loopback; `handler` answers everything. */
export function rawApi(handler: Handler) {
  let count = 0;
  const requests: Array<{ readonly at: number; readonly url: string }> = [];
  const server: Server = createServer((request, response) => {
    count += 1;
    requests.push({ at: Date.now(), url: request.url ?? '' });
    handler(request, response, count);
  });
  return {
    requests,
    start: () => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))),
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export function query(request: IncomingMessage) {
  const url = new URL(request.url ?? '/', 'http://x');
  return {
    since: url.searchParams.has('since') ? Number(url.searchParams.get('since')) : undefined,
    afterId: url.searchParams.get('after_id') ?? undefined,
    limit: Number(url.searchParams.get('limit') ?? '100'),
  };
}

/** Answers a page of `items` following since/after_id, with `compareIds` as the API's own id order. */
export function pageOf(items: readonly Item[], request: IncomingMessage, compareIds: (a: string, b: string) => number = (a, b) => (a < b ? -1 : a > b ? 1 : 0)): Item[] {
  const { since, afterId, limit } = query(request);
  const sorted = [...items].sort((a, b) => a.timestamp - b.timestamp || compareIds(a.id, b.id));
  return sorted
    .filter((item) => since === undefined || item.timestamp > since || (item.timestamp === since && (afterId === undefined || compareIds(item.id, afterId) > 0)))
    .slice(0, limit);
}

export function json(response: ServerResponse, body: unknown, status = 200): void {
  response.statusCode = status;
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify(body));
}

export function captureLogger() {
  const lines: string[] = [];
  const logger = pino({ level: 'trace' }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) }));
  return { lines, logger };
}

export function pollerOptions(transport: MemoryTransport, baseUrl: string, extra: Partial<RestPollerOptions> = {}): RestPollerOptions {
  return {
    name: 'review-poller',
    transport,
    baseUrl,
    apiKey: 'sk-review-key-123',
    intervalMs: 20,
    pageSize: 10,
    timeoutMs: 2_000,
    backoff: { initialMs: 5, maxMs: 20 },
    logger: pino({ level: 'silent' }),
    cursorOf: (item) => ({ timestamp: (item as Item).timestamp, id: (item as Item).id }),
    idOf: (item) => (item as Item).id,
    toRecords: (item, raw) => [{ topic: 'out', key: Buffer.from((item as Item).id), value: raw }],
    ...extra,
  };
}

export async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const emittedIds = (transport: MemoryTransport, topic = 'out') => transport.broker.read(topic, 0, 0).map((record) => record.key?.toString());
