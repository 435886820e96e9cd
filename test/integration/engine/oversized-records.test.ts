/**
 * Defect 10 on the real broker: records and sends above the broker's size limit.
 * - A malformed input record too large to dead-letter as is (1.5 MB, on an input topic that allows
 *   2 MB, the dead-letter topic at the default 1 MB) must not stop the app: it is dead-lettered
 *   truncated with its coordinates, the good records around it are processed, the input is
 *   committed past it.
 * - Output well above 1 MB per send or per transaction must be split below the limit, not refused
 *   with MESSAGE_TOO_LARGE.
 */
import { describe, expect, it } from 'vitest';
import { StreamsApp, StreamsBuilder, KafkaTransport, silentLogger, subscribeRuntimeEvents } from '../../../src/index.ts';
import { readDeadLetterHeaders } from '../../../src/errors/dead-letter.ts';
import type { IncomingRecord } from '../../../src/transport/transport.ts';
import { testKafka } from '../../support/kafka-client.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { consumeCount, consumeUntil, createTopics, waitForCommitted } from '../../support/streams-harness.ts';

const GUARANTEES = ['at-least-once', 'exactly-once'] as const;
const BIG = 1_572_864;
const SENTINEL = 'sentinel';

const idOf = (record: IncomingRecord) => (JSON.parse(record.value?.toString() ?? '{}') as { id: number }).id;

/** Produces with plain kafkajs, whose requests the engine's size limit does not touch. */
async function produceRaw(topic: string, messages: Array<{ key: string; value: Buffer | string }>, chunk = 5_000): Promise<void> {
  const producer = testKafka().producer();
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += chunk) await producer.send({ topic, messages: messages.slice(i, i + chunk) });
  } finally {
    await producer.disconnect();
  }
}

/** Runs until `work` settles, failing at once (with the app's error) if the app stops on its own. */
async function whileRunning(app: StreamsApp, work: () => Promise<void>): Promise<void> {
  let unsubscribe: () => void = () => undefined;
  const failed = new Promise<never>((_, reject) => {
    unsubscribe = app.onStateChange((state) => {
      if (state === 'failed') reject(app.error ?? new Error('app failed'));
    });
  });
  try {
    await app.start();
    await Promise.race([work(), failed]);
  } finally {
    unsubscribe();
  }
}

/** Reads `topic` (read_committed) up to a record written after the app stopped: everything it wrote. */
async function readAll(transport: KafkaTransport, topic: string): Promise<IncomingRecord[]> {
  await produceRaw(topic, [{ key: SENTINEL, value: '{"id":-1}' }]);
  const records = await consumeUntil(transport, topic, (seen) => seen.some((record) => record.key?.toString() === SENTINEL), {
    isolationLevel: 'read_committed',
    timeoutMs: 90_000,
  });
  return records.filter((record) => record.key?.toString() !== SENTINEL);
}

describe.skipIf(!hasKafka)('oversized records on a real broker', () => {
  for (const guarantee of GUARANTEES) {
    it(`${guarantee}: a 1.5 MB undecodable record is dead-lettered truncated with its coordinates and the app keeps going`, async () => {
      const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'oversized-dlq', logLevel: 'nothing' });
      const input = uniqueName('big-in');
      const output = uniqueName('big-out');
      const applicationId = uniqueName('big-app');
      await createTopics(transport, [{ topic: input, partitions: 1 }, { topic: output, partitions: 1 }]);
      const admin = testKafka().admin();
      await admin.connect();
      try {
        await admin.alterConfigs({
          validateOnly: false,
          resources: [{ type: 2 /* TOPIC */, name: input, configEntries: [{ name: 'max.message.bytes', value: String(2 * 1_048_576) }] }],
        });
      } finally {
        await admin.disconnect();
      }
      const good = (id: number) => ({ key: `k${id}`, value: JSON.stringify({ id }) });
      await produceRaw(input, [...[0, 1, 2, 3, 4].map(good), { key: 'bad', value: Buffer.alloc(BIG, '{') }, ...[5, 6, 7, 8, 9].map(good)]);
      const badOffset = 5;

      const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
      builder.stream<string, { id: number }>(input).mapValues((value) => ({ ...value, ok: true })).to(output);
      const app = new StreamsApp(builder.build(), {
        applicationId,
        transport,
        processingGuarantee: guarantee,
        logger: silentLogger(),
        commitIntervalMs: 200,
      });
      try {
        await whileRunning(app, async () => {
          await waitForCommitted(transport, applicationId, input, 60_000);
        });
        expect(app.state).toBe('running');
      } finally {
        await app.stop();
      }
      expect(app.error).toBeUndefined();

      const outputs = await readAll(transport, output);
      expect([...new Set(outputs.map(idOf))].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

      const [dead, ...more] = await consumeCount(transport, `${applicationId}-dlq`, 1);
      expect(more).toEqual([]);
      const headers = readDeadLetterHeaders(dead?.headers ?? {});
      expect(headers).toMatchObject({
        payloadTruncated: 'true',
        valueSize: String(BIG),
        keySize: '3',
        sourceTopic: input,
        sourcePartition: '0',
        sourceOffset: String(badOffset),
        errorCode: 'DESERIALIZATION_FAILED',
        errorStage: 'deserialization',
      });
      expect(headers.correlationId).toMatch(/.+/);
      expect(dead?.key?.toString()).toBe('bad');
      expect(dead?.value?.length).toBeGreaterThan(0);
      expect(dead?.value?.length).toBeLessThan(1_000_000);
      expect(dead?.value?.toString()).toMatch(/^\{+$/);
    });

    it(`${guarantee}: output of 30,000 records (~4 MB) per send or transaction is split below the broker's limit`, { timeout: 180_000 }, async () => {
      const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'oversized-out', logLevel: 'nothing' });
      const input = uniqueName('many-in');
      const output = uniqueName('many-out');
      const applicationId = uniqueName('many-app');
      const total = 30_000;
      await createTopics(transport, [{ topic: input, partitions: 1 }, { topic: output, partitions: 1 }]);
      const pad = 'x'.repeat(80);
      await produceRaw(input, Array.from({ length: total }, (_, id) => ({ key: `k${id}`, value: JSON.stringify({ id, pad }) })));

      let largestFlush = 0;
      const unsubscribe = subscribeRuntimeEvents((event) => {
        if (event.app === applicationId && event.type === 'records.written') largestFlush = Math.max(largestFlush, event.count);
      });
      const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
      builder.stream<string, { id: number; pad: string }>(input).mapValues((value) => ({ ...value, ok: true })).to(output);
      const app = new StreamsApp(builder.build(), {
        applicationId,
        transport,
        processingGuarantee: guarantee,
        logger: silentLogger(),
        // Everything in flight at once, so one send (at-least-once) or one transaction
        // (exactly-once) carries far more than the broker's 1 MB.
        maxInFlight: 40_000,
        commitIntervalMs: guarantee === 'exactly-once' ? 3_000 : 1_000,
        producerBatch: { maxRecords: 40_000, lingerMs: 1_000 },
      });
      try {
        await whileRunning(app, async () => {
          await waitForCommitted(transport, applicationId, input, 150_000);
        });
      } finally {
        unsubscribe();
        await app.stop();
      }
      expect(app.error).toBeUndefined();
      if (guarantee === 'at-least-once') expect(largestFlush).toBeGreaterThan(10_000);

      const counts = new Map<number, number>();
      for (const record of await readAll(transport, output)) counts.set(idOf(record), (counts.get(idOf(record)) ?? 0) + 1);
      const ids = Array.from({ length: total }, (_, id) => id);
      expect(ids.filter((id) => (counts.get(id) ?? 0) < 1)).toEqual([]);
      if (guarantee === 'exactly-once') expect(ids.filter((id) => counts.get(id) !== 1)).toEqual([]);
    });
  }
});
