/**
 * Hostile review: the OpenClaw ingest (topologies/openclaw-ingest.ts) against the simulator on
 * loopback, with the in-memory transport (read_committed reads).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startOpenClawSimulator } from '../../../src/connectors/openclaw/simulator.ts';
import { MemoryTransport } from '../../../src/transport/memory/index.ts';
import { openClawIngest } from '../../../topologies/openclaw-ingest.ts';
import { emittedIds, sleep, until } from './ingest-helpers.ts';

describe('review: OpenClaw ingest', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.race([cleanup().catch(() => undefined), sleep(1_000)]);
  });

  function memory() {
    const transport = new MemoryTransport();
    transport.broker.createTopic({ topic: 'ratings', partitions: 1 });
    transport.broker.createTopic({ topic: 'ratings_dlq', partitions: 1 });
    return transport;
  }

  it('a high invalid rate with a small page does not stall ingestion', async () => {
    // Expected: "every rating reaches Kafka once" (openclaw-ingest header); the simulator header says a
    // client keeps its cursor at an invalid rating "and will see that rating again" — with a page
    // made only of invalid ratings the poller must still get past them. Here (invalidRate 0.6,
    // pageSize 3) it asks for the same all-invalid page forever.
    const sim = await startOpenClawSimulator({ apiKey: 'k', total: 200, seed: 11, invalidRate: 0.6 });
    cleanups.push(() => sim.stop());
    const transport = memory();
    const ingest = openClawIngest({ transport, url: sim.url, apiKey: 'k', format: 'json', pageSize: 3, intervalMs: 10, logger: pino({ level: 'silent' }) });
    cleanups.push(() => ingest.stop());
    await ingest.start();
    const expected = sim.expectedValid().length + sim.expectedInvalid().length;
    const done = () => emittedIds(transport, 'ratings').length + emittedIds(transport, 'ratings_dlq').length >= expected;
    await until(done, 'every rating', 6_000).catch(() => undefined);
    const dlq = emittedIds(transport, 'ratings_dlq');
    expect(emittedIds(transport, 'ratings'), `dead-lettered so far: ${dlq.join(',')}; first served: ${sim.ratings().slice(0, 5).map((r) => `${r.id}${sim.isInvalid(r.id) ? '(invalid)' : ''}`).join(',')}`).toEqual(sim.expectedValid());
    expect([...emittedIds(transport, 'ratings_dlq')].sort()).toEqual([...sim.expectedInvalid()].sort());
  }, 15_000);

  it('a hanging alert webhook blocks neither ingestion nor stop()', async () => {
    // Expected (brief / dead-letter-alerts header): alerts are a side channel; a webhook that never
    // answers must not hold up pages nor make ingest.stop() (which awaits alerts.flush()) hang.
    const hung: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => { hung.closeAllConnections(); hung.close(() => resolve()); }));
    const sim = await startOpenClawSimulator({ apiKey: 'k', total: 300, seed: 3, invalidRate: 0.2 });
    cleanups.push(() => sim.stop());
    const transport = memory();
    const ingest = openClawIngest({
      transport, url: sim.url, apiKey: 'k', format: 'json', pageSize: 50, intervalMs: 10, logger: pino({ level: 'silent' }),
      alerts: { webhookUrl: `http://127.0.0.1:${(hung.address() as AddressInfo).port}/hook`, threshold: 1, windowMs: 60_000, minIntervalMs: 1 },
    });
    cleanups.push(() => ingest.stop());
    await ingest.start();
    await until(() => emittedIds(transport, 'ratings').length >= sim.expectedValid().length, 'every valid rating', 6_000);
    const started = Date.now();
    await Promise.race([ingest.stop(), sleep(5_000)]);
    expect(Date.now() - started).toBeLessThan(3_000);
  }, 15_000);
});
