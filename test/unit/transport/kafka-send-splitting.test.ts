/**
 * Sends are split by estimated bytes below the broker's size limit: every chunk fits, records keep
 * their order, and a record that can never fit fails before anything is sent.
 */
import { describe, expect, it } from 'vitest';
import type { Kafka, Producer, ProducerBatch, Transaction } from 'kafkajs';
import { ConfigError, TransportError } from '../../../src/errors/streams-error.ts';
import { KafkaProducer } from '../../../src/transport/kafka/kafka-producer.ts';
import { DEFAULT_MAX_REQUEST_BYTES, resolveKafkaOptions, type ResolvedKafkaOptions } from '../../../src/transport/kafka/options.ts';
import { estimateRecordBytes, splitBySize } from '../../../src/transport/kafka/records.ts';
import type { OutgoingRecord } from '../../../src/transport/transport.ts';

const record = (i: number, valueBytes = 100, partition?: number, topic = 'out'): OutgoingRecord => ({
  topic,
  key: Buffer.from(`key-${i}`),
  value: Buffer.alloc(valueBytes, 'x'),
  headers: { 'correlation-id': Buffer.from(`c-${i}`) },
  ...(partition === undefined ? {} : { partition }),
});

describe('splitBySize', () => {
  it('keeps a send that fits in one chunk', () => {
    const records = Array.from({ length: 50 }, (_, i) => record(i));
    expect(splitBySize(records, DEFAULT_MAX_REQUEST_BYTES)).toEqual([records]);
  });

  it('splits 30,000 small records into chunks below the limit, in order, none lost', () => {
    const records = Array.from({ length: 30_000 }, (_, i) => record(i, 100, i % 3));
    const chunks = splitBySize(records, DEFAULT_MAX_REQUEST_BYTES);
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.flat()).toEqual(records);
    for (const chunk of chunks) {
      const payload = chunk.reduce((sum, r) => sum + estimateRecordBytes(r), 0);
      expect(payload).toBeLessThanOrEqual(DEFAULT_MAX_REQUEST_BYTES);
      // Not needlessly small either: each chunk but the last is close to the limit.
      if (chunk !== chunks.at(-1)) expect(payload).toBeGreaterThan(DEFAULT_MAX_REQUEST_BYTES * 0.95);
    }
  });

  it('counts the framing of each partition batch', () => {
    const limit = 8_192;
    const onePartition = Array.from({ length: 100 }, (_, i) => ({ ...record(i, 10, 0) }));
    const manyPartitions = Array.from({ length: 100 }, (_, i) => ({ ...record(i, 10, i) }));
    expect(splitBySize(manyPartitions, limit).length).toBeGreaterThan(splitBySize(onePartition, limit).length);
  });

  it('fails with RECORD_TOO_LARGE naming topic, partition and size when one record cannot fit', () => {
    const records = [record(0), record(1, 2_000_000, 4, 'big-topic'), record(2)];
    let thrown: unknown;
    try {
      splitBySize(records, DEFAULT_MAX_REQUEST_BYTES);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TransportError);
    const error = thrown as TransportError;
    expect(error.code).toBe('RECORD_TOO_LARGE');
    expect(error.retriable).toBe(false);
    expect(error.context).toEqual({ topic: 'big-topic', partition: 4 });
    expect(error.message).toMatch(/"big-topic" partition 4 needs about 200\d{4} bytes/);
    expect(error.message).toContain(String(DEFAULT_MAX_REQUEST_BYTES));
  });
});

/** A kafkajs producer stand-in that records each `sendBatch` and lets the test hold one open. */
function fakeProducer(): { shared: ResolvedKafkaOptions; sent: ProducerBatch[] } {
  const sent: ProducerBatch[] = [];
  const producer = {
    on: () => undefined,
    events: {},
    sendBatch: async (batch: ProducerBatch) => {
      sent.push(batch);
      return [];
    },
    transaction: async () => ({ sendBatch: producer.sendBatch }) as unknown as Transaction,
  };
  const shared: ResolvedKafkaOptions = {
    clientId: 'test',
    redact: (text) => text,
    onRequest: undefined,
    maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
    // Only `producer()` is used by KafkaProducer; the rest of kafkajs' client is not needed here.
    kafka: () => ({ producer: () => producer as unknown as Producer }) as unknown as Kafka,
  };
  return { shared, sent };
}

const messagesOf = (batch: ProducerBatch) => (batch.topicMessages ?? []).flatMap((topic) => topic.messages.map((m) => m.key?.toString()));

describe('KafkaProducer and KafkaTransaction send in size-bounded chunks', () => {
  it('a send above the limit goes out as several sendBatch calls, in order', async () => {
    const { shared, sent } = fakeProducer();
    const producer = new KafkaProducer(shared);
    const records = Array.from({ length: 30_000 }, (_, i) => record(i, 100, 0));
    await producer.send(records);
    expect(sent.length).toBeGreaterThan(3);
    expect(sent.flatMap(messagesOf)).toEqual(records.map((r) => r.key?.toString()));
  });

  it('a transactional send is split the same way', async () => {
    const { shared, sent } = fakeProducer();
    const producer = new KafkaProducer(shared, { transactionalId: 'tx' });
    const transaction = await producer.transaction();
    const records = Array.from({ length: 30_000 }, (_, i) => record(i, 100));
    await transaction.send(records);
    expect(sent.length).toBeGreaterThan(3);
    expect(sent.flatMap(messagesOf)).toEqual(records.map((r) => r.key?.toString()));
  });

  it('a record that cannot fit fails the send before anything is sent', async () => {
    const { shared, sent } = fakeProducer();
    const producer = new KafkaProducer(shared);
    await expect(producer.send([record(0), record(1, 1_100_000, undefined, 'huge')])).rejects.toMatchObject({
      code: 'RECORD_TOO_LARGE',
      retriable: false,
      context: { topic: 'huge' },
    });
    expect(sent).toEqual([]);
  });
});

describe('KafkaTransport option maxRequestBytes', () => {
  it('defaults below the broker default message.max.bytes and is validated', () => {
    expect(resolveKafkaOptions({ brokers: ['127.0.0.1:9092'] }).maxRequestBytes).toBe(DEFAULT_MAX_REQUEST_BYTES);
    expect(DEFAULT_MAX_REQUEST_BYTES).toBeLessThan(1_048_588);
    expect(resolveKafkaOptions({ brokers: ['127.0.0.1:9092'], maxRequestBytes: 3_000_000 }).maxRequestBytes).toBe(3_000_000);
    for (const bad of [0, 100, 1.5e6 + 0.5, Number.NaN]) {
      expect(() => resolveKafkaOptions({ brokers: ['127.0.0.1:9092'], maxRequestBytes: bad })).toThrow(ConfigError);
    }
  });
});
