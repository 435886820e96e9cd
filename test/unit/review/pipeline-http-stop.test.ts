/**
 * Hostile review (pipeline): `stop()` of an app whose AI-agent sink is waiting at an open circuit.
 *
 * README: while the circuit is open "calls wait instead of failing: the records stay in flight ...
 * (backpressure, no dead letters for an outage)"; "Lifecycle and graceful shutdown": in-flight
 * records get up to `shutdownTimeoutMs` to finish, "what is done is committed"; "No loss": an input
 * offset is committed only when everything derived from it was acknowledged by its sinks,
 * dead-lettered, or dropped by a filter. So records waiting at the circuit when the app stops must
 * be delivered after a restart.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTransport, StreamsApp, StreamsBuilder, silentLogger } from '../../../src/index.ts';
import { uniqueName } from '../../support/names.ts';
import { createTopics, produce } from '../../support/streams-harness.ts';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

describe('review: stop() while the HTTP sink waits at an open circuit', () => {
  it('stops within shutdownTimeoutMs and delivers the waiting records after a restart, without dead letters', async () => {
    let up = false;
    const delivered = new Set<string>();
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (!up) return void res.writeHead(503).end('down');
        delivered.add(String(req.headers['idempotency-key']));
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ratings`;

    const transport = new MemoryTransport();
    const input = uniqueName('in');
    const dlq = uniqueName('dlq');
    await createTopics(transport, [{ topic: input, partitions: 1 }, { topic: dlq, partitions: 1 }]);
    const topology = () => {
      const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
      const sink = builder.stream<string, { id: string }>(input).toHttp({ name: 'ai-agent', url, maxAttempts: 2, breakerThreshold: 2, halfOpenAfterMs: 400, backoff: { initialMs: 10, maxMs: 20 } });
      return { topology: builder.build(), sink };
    };
    const applicationId = uniqueName('app');
    const options = { applicationId, transport, logger: silentLogger(), commitIntervalMs: 50, shutdownTimeoutMs: 1_000, deadLetterTopic: dlq };
    const first = topology();
    const app = new StreamsApp(first.topology, options);
    await app.start();
    await produce(
      transport,
      ['r1', 'r2', 'r3'].map((id) => ({ topic: input, key: Buffer.from(id), value: Buffer.from(JSON.stringify({ id })) })),
    );
    const deadline = Date.now() + 5_000;
    while (first.sink.stats().circuit === 'closed' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(first.sink.stats().circuitOpened).toBeGreaterThanOrEqual(1);

    const startedStop = Date.now();
    await app.stop();
    const stopMs = Date.now() - startedStop;

    up = true;
    const second = topology();
    const next = new StreamsApp(second.topology, options);
    await next.start();
    const until = Date.now() + 5_000;
    while (delivered.size < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await next.stop();
    const deadLetters = transport.broker.read(dlq, 0, 0).map((r) => r.key?.toString());
    expect({ stopQuick: stopMs < 4_000, delivered: [...delivered].sort(), deadLetters }).toEqual({ stopQuick: true, delivered: ['r1', 'r2', 'r3'], deadLetters: [] });
  }, 30_000);
});
