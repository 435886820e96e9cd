/**
 * Defect 5 on the real broker: a heartbeat inside `eachBatch` that fails with a connection error
 * makes kafkajs deliver the same batch again, into the same open task. The task must not take in
 * an offset it already took: with exactly-once every id appears once in the read_committed output,
 * with at-least-once every id is processed once as long as its task stays open.
 *
 * The fault comes from a TCP proxy between the app and the broker: when the app's consumer sends a
 * Heartbeat in the middle of a slow batch, the proxy resets the consumer's connections.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StreamsApp, StreamsBuilder, KafkaTransport, silentLogger, subscribeRuntimeEvents } from '../../../src/index.ts';
import type { IncomingRecord } from '../../../src/transport/transport.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { consumeUntil, createTopics, produce, waitForCommitted } from '../../support/streams-harness.ts';
import { KAFKA_API, TcpProxy } from '../../support/tcp-proxy.ts';

const TOTAL = 300;
const SENTINEL = 'sentinel';

function brokerTarget(): { host: string; port: number } {
  const [host = '127.0.0.1', port = '9092'] = (kafkaBrokers()[0] ?? '').split(':');
  return { host, port: Number(port) };
}

const idOf = (record: IncomingRecord) => (JSON.parse(record.value?.toString() ?? '{}') as { id: number }).id;

function countBy<T>(items: readonly T[]): Map<T, number> {
  const counts = new Map<T, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

describe.skipIf(!hasKafka)('a heartbeat that fails with a connection error inside eachBatch (real broker, TCP proxy)', () => {
  let proxy: TcpProxy;
  beforeEach(async () => {
    proxy = await TcpProxy.start(brokerTarget());
  });
  afterEach(async () => {
    await proxy.close();
  });

  for (const guarantee of ['exactly-once', 'at-least-once'] as const) {
    it(`${guarantee}: the batch delivered again is not processed again by the same task`, { timeout: 120_000 }, async () => {
      const direct = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'heartbeat-loss-test', logLevel: 'nothing' });
      const input = uniqueName('hb-loss-in');
      const output = uniqueName('hb-loss-out');
      await createTopics(direct, [
        { topic: input, partitions: 1 },
        { topic: output, partitions: 1 },
      ]);
      // Produced before the app starts, so the first fetch returns them all as one long batch.
      await produce(
        direct,
        Array.from({ length: TOTAL }, (_, id) => ({ topic: input, key: Buffer.from(`k${id}`), value: Buffer.from(JSON.stringify({ id })) })),
      );

      const applicationId = uniqueName('hb-loss-app');
      const consumerClientId = `${applicationId}-consumer`;
      const processed: number[] = [];
      let delivered = 0;
      let revoked = 0;
      const unsubscribe = subscribeRuntimeEvents((event) => {
        if (event.app !== applicationId) return;
        if (event.type === 'records.in') delivered += event.count;
        if (event.type === 'rebalance' && event.change === 'revoked') revoked += 1;
      });

      const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
      const tagged = builder.stream<string, { id: number }>(input).mapValues((value) => ({ ...value, seen: true }));
      tagged.to(output);
      // A slow sink keeps the batch running long enough for several heartbeats inside it.
      tagged.forEach(
        async (_key, value) => {
          await new Promise((resolve) => setTimeout(resolve, 10));
          processed.push(value.id);
        },
        { concurrency: 1 },
      );
      const app = new StreamsApp(builder.build(), {
        applicationId,
        transport: new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'heartbeat-loss', logLevel: 'nothing', routeBroker: () => proxy.address }),
        processingGuarantee: guarantee,
        logger: silentLogger(),
        maxInFlight: 10,
        commitIntervalMs: 200,
        consumer: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 300, rebalanceTimeoutMs: 15_000 },
      });
      const fault = { cuts: 0, revokedWhileRunning: -1 };
      try {
        await app.start();
        // Mid-batch: some records are done, most are still to come in this same delivery.
        await waitUntil(() => processed.length >= 30, 60_000, 'the first records to be processed');
        await proxy.nextRequest((request) => request.apiKey === KAFKA_API.Heartbeat && request.connection.clientId === consumerClientId);
        fault.cuts = proxy.cut((connection) => connection.clientId === consumerClientId);
        await waitForCommitted(direct, applicationId, input, 90_000);
        fault.revokedWhileRunning = revoked;
      } finally {
        unsubscribe();
        await app.stop();
      }

      expect(fault.cuts).toBeGreaterThan(0);
      // The fault really made kafkajs deliver records again; otherwise this test proves nothing.
      expect(delivered).toBeGreaterThan(TOTAL);
      expect(app.error).toBeUndefined();

      // Every transaction of the stopped app has ended: a record written after them all marks the end of the output.
      await produce(direct, [{ topic: output, key: Buffer.from(SENTINEL), value: Buffer.from('{"id":-1}') }]);
      const records = await consumeUntil(direct, output, (seen) => seen.some((record) => record.key?.toString() === SENTINEL), {
        isolationLevel: 'read_committed',
      });
      const outputCounts = countBy(records.filter((record) => record.key?.toString() !== SENTINEL).map(idOf));
      const processedCounts = countBy(processed);
      const ids = Array.from({ length: TOTAL }, (_, id) => id);

      if (guarantee === 'exactly-once') {
        expect(ids.filter((id) => outputCounts.get(id) !== 1)).toEqual([]);
      } else {
        expect(ids.filter((id) => (outputCounts.get(id) ?? 0) < 1)).toEqual([]);
      }
      expect(ids.filter((id) => (processedCounts.get(id) ?? 0) < 1)).toEqual([]);
      // No revocation: every record went through one task, which must take each offset once.
      expect(fault.revokedWhileRunning).toBe(0);
      expect([...processedCounts].filter(([, count]) => count > 1)).toEqual([]);
    });
  }
});

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
