/**
 * The poller races every request against its stop signal. The listener that race adds to the
 * signal must go when the request is done: the signal lives as long as the poller, so a listener
 * per request kept is memory that grows with every poll (one request per interval, for days).
 * Found by the pipeline end-to-end test (Node's MaxListenersExceededWarning on that signal).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getEventListeners } from 'node:events';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { RestPoller } from '../../../src/connectors/rest-poller.ts';
import { MemoryTransport } from '../../../src/transport/memory/index.ts';

describe('RestPoller and its stop signal', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('leaves no abort listener behind per request', async () => {
    let requests = 0;
    const server = createServer((_request, response) => {
      requests += 1;
      response.setHeader('content-type', 'application/json');
      response.end('[]');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const poller = new RestPoller({
      name: 'listener-poller',
      transport: new MemoryTransport(),
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      apiKey: 'k',
      intervalMs: 5,
      logger: pino({ level: 'silent' }),
      cursorOf: () => undefined,
      idOf: () => undefined,
      toRecords: () => [],
    });
    await poller.start();
    cleanups.push(() => poller.stop());
    await expect.poll(() => requests, { timeout: 10_000 }).toBeGreaterThanOrEqual(40);
    // The stop signal is private; reading its listeners is what this test is about.
    const signal = (poller as unknown as { readonly stopping: AbortController }).stopping.signal;
    expect(getEventListeners(signal, 'abort').length).toBeLessThanOrEqual(3);
  });
});
