/**
 * Exactly-once keeps in-flight records and memory bounded on a real broker: records go into the
 * task's open transaction as they come, and an input record counts as done only once its output
 * was acknowledged, so `maxInFlight` bounds what is held between intake and the log even when
 * commits are rare.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { StreamsApp, StreamsBuilder, silentLogger } from '../../../src/index.ts';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import type { Transport, TransportProducer, TransportTransaction } from '../../../src/transport/transport.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { consumeCount, createTopics, produce } from '../../support/streams-harness.ts';

/** Counts the records every transactional send of the app got acknowledged. */
function countingAcks(inner: Transport, acked: { count: number }): Transport {
  return {
    kind: inner.kind,
    admin: () => inner.admin(),
    consumer: (options) => inner.consumer(options),
    producer: (options): TransportProducer => {
      const producer = inner.producer(options);
      return Object.assign(Object.create(producer) as TransportProducer, {
        transaction: async (): Promise<TransportTransaction> => {
          const transaction = await producer.transaction();
          return Object.assign(Object.create(transaction) as TransportTransaction, {
            send: async (records: Parameters<TransportTransaction['send']>[0]) => {
              await transaction.send(records);
              acked.count += records.length;
            },
          });
        },
      });
    },
  };
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe.skipIf(!hasKafka)('exactly-once memory bound on a real broker', () => {
  it('holds at most maxInFlight records between intake and an acknowledged send, with commits far apart', { timeout: 90_000 }, async () => {
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'eos-bound-test', logLevel: 'nothing' });
    const input = uniqueName('bound-in');
    const output = uniqueName('bound-out');
    await createTopics(transport, [
      { topic: input, partitions: 2 },
      { topic: output, partitions: 2 },
    ]);
    const total = 4_000;
    const maxInFlight = 50;
    await produce(
      transport,
      Array.from({ length: total }, (_, id) => ({ topic: input, key: Buffer.from(`k${id % 13}`), value: Buffer.from(JSON.stringify({ id, pad: 'x'.repeat(200) })) })),
    );
    const acked = { count: 0 };
    let taken = 0;
    let highest = 0;
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder
      .stream<string, { id: number }>(input)
      .peek(() => {
        taken += 1;
        highest = Math.max(highest, taken - acked.count);
      })
      .to(output);
    const app = new StreamsApp(builder.build(), {
      applicationId: uniqueName('bound-app'),
      transport: countingAcks(transport, acked),
      logger: silentLogger(),
      processingGuarantee: 'exactly-once',
      maxInFlight,
      // Far apart, but within kafkajs' 60 s transaction timeout.
      commitIntervalMs: 30_000,
      producerBatch: { maxRecords: 20, lingerMs: 5 },
    });
    onTestFinished(() => app.stop());
    await app.start();
    await waitFor(() => taken >= total, 60_000, () => `every record taken in (${taken})`);
    expect(highest, 'records taken in and not yet acknowledged by the log').toBeLessThanOrEqual(maxInFlight);
    // The bound was really reached, so the assertion above was tested under pressure.
    expect(highest).toBeGreaterThanOrEqual(maxInFlight / 2);
    await waitFor(() => acked.count >= total, 60_000, () => `every output acknowledged (${acked.count})`);
    await app.stop();
    const outputs = await consumeCount(transport, output, total);
    expect(new Set(outputs.map((r) => (JSON.parse(r.value?.toString() ?? '{}') as { id: number }).id)).size).toBe(total);
    expect(outputs).toHaveLength(total);
  });
});
