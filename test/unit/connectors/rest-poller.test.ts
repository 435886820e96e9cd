/**
 * The REST polling source against a real HTTP server on loopback and the in-memory log: pagination
 * until caught up, overlapping pages and repeats dropped, the cursor committed with the records
 * and resumed from, faults (5xx, malformed bodies, 429 with Retry-After, 401) handled as documented.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { RestPoller, retryAfterMs, type RestPollerOptions } from '../../../src/connectors/rest-poller.ts';
import { MemoryTransport } from '../../../src/transport/memory/index.ts';

interface Item {
  readonly id: string;
  readonly timestamp: number;
}

/** A list API over `items` sorted by (timestamp, id): `since`, `after_id`, `limit`; `fault` may answer instead. */
function listApi(source: readonly Item[] | (() => readonly Item[]), fault: (request: IncomingMessage, count: number) => ((response: ServerResponse) => void) | undefined = () => undefined) {
  let count = 0;
  const requests: Array<{ readonly at: number; readonly url: string; readonly auth: string | undefined }> = [];
  const server: Server = createServer((request, response) => {
    count += 1;
    requests.push({ at: Date.now(), url: request.url ?? '', auth: request.headers.authorization });
    const injected = fault(request, count);
    if (injected) return injected(response);
    const items = typeof source === 'function' ? source() : source;
    const url = new URL(request.url ?? '/', 'http://x');
    const since = Number(url.searchParams.get('since') ?? '-1');
    const afterId = url.searchParams.get('after_id');
    const limit = Number(url.searchParams.get('limit') ?? '100');
    const page = items
      .filter((item) => item.timestamp > since || (item.timestamp === since && (afterId === null || item.id > afterId)))
      .slice(0, limit);
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(page));
  });
  return {
    requests,
    start: () => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const items: Item[] = Array.from({ length: 250 }, (_, i) => ({ id: `r${String(i).padStart(6, '0')}`, timestamp: 1_000 + Math.floor(i / 3) }));

function pollerOptions(transport: MemoryTransport, baseUrl: string, extra: Partial<RestPollerOptions> = {}): RestPollerOptions {
  return {
    name: 'test-poller',
    transport,
    baseUrl,
    apiKey: 'sk-secret-key-123',
    intervalMs: 20,
    pageSize: 40,
    backoff: { initialMs: 5, maxMs: 20 },
    logger: pino({ level: 'silent' }),
    cursorOf: (item) => ({ timestamp: (item as Item).timestamp, id: (item as Item).id }),
    idOf: (item) => (item as Item).id,
    toRecords: (item, raw) => [{ topic: 'out', key: Buffer.from((item as Item).id), value: raw }],
    ...extra,
  };
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const emittedIds = (transport: MemoryTransport) => transport.broker.read('out', 0, 0).map((record) => record.key?.toString());

describe('RestPoller', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(api: ReturnType<typeof listApi>, extra: Partial<RestPollerOptions> = {}, transport = new MemoryTransport()) {
    transport.broker.createTopic({ topic: 'out', partitions: 1 });
    const url = await api.start();
    cleanups.push(() => api.stop());
    const poller = new RestPoller(pollerOptions(transport, url, extra));
    cleanups.push(() => poller.stop());
    return { transport, poller, url };
  }

  it('walks every page until caught up and writes each item once, with the cursor in the same transactions', async () => {
    const api = listApi(items);
    const { transport, poller } = await setup(api);
    await poller.start();
    await until(() => emittedIds(transport).length >= items.length, 'every item');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(emittedIds(transport)).toEqual(items.map((item) => item.id));
    const cursorRecords = transport.broker.read('test-poller-cursor', 0, 0);
    const last = items.at(-1) as Item;
    expect(JSON.parse(cursorRecords.at(-1)?.value?.toString() ?? '{}')).toEqual({
      timestamp: last.timestamp,
      id: last.id,
      atCursor: items.filter((item) => item.timestamp === last.timestamp).map((item) => item.id),
      recent: [],
    });
    // One cursor per transaction that wrote items: ceil(250 / 40) pages.
    expect(cursorRecords.length).toBe(Math.ceil(items.length / 40));
    expect(api.requests.every((request) => request.auth === 'Bearer sk-secret-key-123')).toBe(true);
  });

  it('leaves no listener behind on its stop signal per request, however long it polls', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    cleanups.push(async () => void process.off('warning', onWarning));
    const api = listApi([]);
    const { poller } = await setup(api, { intervalMs: 1 });
    await poller.start();
    // Node warns once an AbortSignal holds more than 10 listeners of one event.
    await until(() => api.requests.length >= 30, '30 polls');
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.filter((warning) => warning.includes('MaxListenersExceeded'))).toEqual([]);
  });

  it('drops items at or before the cursor and repeats inside a page, when pages overlap', async () => {
    // Every answer also repeats the 5 items before the asked position and doubles its first item.
    const api = listApi(items, (request) => {
      const url = new URL(request.url ?? '/', 'http://x');
      const since = Number(url.searchParams.get('since') ?? '-1');
      const afterId = url.searchParams.get('after_id') ?? '';
      const start = items.findIndex((item) => item.timestamp > since || (item.timestamp === since && item.id > afterId));
      if (start < 0) return (response) => response.end('[]');
      const page = items.slice(Math.max(0, start - 5), start + 40);
      return (response) => response.end(JSON.stringify([page[0], ...page]));
    });
    const { transport, poller } = await setup(api);
    await poller.start();
    await until(() => emittedIds(transport).length >= items.length, 'every item');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(emittedIds(transport)).toEqual(items.map((item) => item.id));
    expect(poller.stats().duplicatesDropped).toBeGreaterThan(0);
  });

  it('a new instance resumes after the committed cursor; the old one is fenced at its next write', async () => {
    let available = items.slice(0, 100);
    const api = listApi(() => available);
    const { transport, poller, url } = await setup(api);
    await poller.start();
    await until(() => emittedIds(transport).length >= 100, 'the first 100');
    const second = new RestPoller(pollerOptions(transport, url));
    cleanups.push(() => second.stop());
    await second.start();
    expect(second.position?.id).toBe(items[99]?.id);
    // New items: both instances see them; only the second may write them.
    available = items;
    await until(() => poller.state === 'fenced', 'the first instance to be fenced');
    expect(poller.health()).toMatchObject({ healthy: false, state: 'fenced' });
    await until(() => emittedIds(transport).length >= items.length, 'every item');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(emittedIds(transport)).toEqual(items.map((item) => item.id));
  });

  it('an item without a cursor never moves it and is emitted once, also after a restart', async () => {
    // `x` items have no usable place in the order (as an invalid rating), and the API keeps serving them.
    const withBad: Item[] = [...items.slice(0, 10), { id: 'x-bad', timestamp: 1_000_000 }];
    const api = listApi(withBad);
    const extra = { cursorOf: (item: unknown) => ((item as Item).id.startsWith('x') ? undefined : { timestamp: (item as Item).timestamp, id: (item as Item).id }) };
    const { transport, poller, url } = await setup(api, extra);
    await poller.start();
    await until(() => emittedIds(transport).length >= 11, 'every item');
    await until(() => api.requests.length >= 5, 'a few more polls');
    await poller.stop();
    expect(poller.position?.id).toBe(items[9]?.id);
    const again = new RestPoller(pollerOptions(transport, url, extra));
    cleanups.push(() => again.stop());
    await again.start();
    const before = api.requests.length;
    await until(() => api.requests.length >= before + 3, 'polls after the restart');
    expect(emittedIds(transport)).toEqual(withBad.map((item) => item.id));
  });

  it('retries 5xx and malformed answers, and honours Retry-After on 429; nothing lost or repeated', async () => {
    const api = listApi(items, (_request, count) => {
      if (count % 5 === 1) return (response) => ((response.statusCode = 503), response.end('busy'));
      if (count % 5 === 2) return (response) => response.end('[{"id": "r0000');
      if (count % 5 === 3) return (response) => response.end('{"not": "a list"}');
      if (count === 4) return (response) => (response.setHeader('retry-after', '1'), (response.statusCode = 429), response.end());
      return undefined;
    });
    const { transport, poller } = await setup(api);
    await poller.start();
    await until(() => emittedIds(transport).length >= items.length, 'every item', 20_000);
    expect(emittedIds(transport)).toEqual(items.map((item) => item.id));
    const stats = poller.stats();
    expect(stats.retries).toBeGreaterThan(0);
    expect(stats.malformedResponses).toBeGreaterThan(0);
    expect(stats.rateLimited).toBe(1);
    // The request after the 429 came no sooner than Retry-After (1 s) asked.
    const gap = (api.requests[4]?.at ?? 0) - (api.requests[3]?.at ?? 0);
    expect(gap).toBeGreaterThanOrEqual(950);
  });

  it('401: stops polling, reports unhealthy with a clear reason, and never logs the key', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) }));
    const api = listApi(items, () => (response) => ((response.statusCode = 401), response.end('{"error":"bad key sk-secret-key-123"}')));
    const { poller } = await setup(api, { logger });
    await poller.start();
    await until(() => poller.state === 'unauthorized', 'the unauthorized state');
    const requests = api.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(api.requests.length).toBe(requests);
    const health = poller.health();
    expect(health.healthy).toBe(false);
    expect(health.reason).toMatch(/answered 401: the API key was refused; set a valid key \(OPENCLAW_API_KEY\) and restart/);
    expect(lines.join('\n')).toMatch(/the API refused the credentials/);
    expect(lines.join('\n')).not.toContain('sk-secret-key-123');
    expect(JSON.stringify(health)).not.toContain('sk-secret-key-123');
  });

  it('refuses bad options, naming them', () => {
    const transport = new MemoryTransport();
    expect(() => new RestPoller(pollerOptions(transport, 'not a url'))).toThrow(/baseUrl "not a url" is not a URL/);
    expect(() => new RestPoller(pollerOptions(transport, 'http://user:pw@127.0.0.1'))).toThrow(/put credentials in apiKey, not in baseUrl/);
    expect(() => new RestPoller(pollerOptions(transport, 'http://127.0.0.1', { pageSize: 0 }))).toThrow(/pageSize must be a whole number > 0 \(got 0\)/);
  });

  it('reads Retry-After in seconds or as a date', () => {
    expect(retryAfterMs('3')).toBe(3_000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});
