/**
 * The one-pass Produce request writer must put on the wire exactly the bytes kafkajs' own encoder
 * writes, for any mix of topics, partitions, keys, values, headers, timestamps, sequences and
 * transactional ids the transport sends (kafkajs' own encoder is the oracle here); the CRC-32C
 * must be kafkajs' too. The linear grouping must give kafkajs' grouping.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchCrc32c, crc32c, encodable, encodeProduceRequest, type ProduceMessage, type ProduceTopic } from '../../../src/transport/kafka/produce-encoder.ts';
import { fastPaths, groupMessagesPerPartition } from '../../../src/transport/kafka/kafkajs.ts';

const require = createRequire(import.meta.url);
// kafkajs' own encoders, untouched by the transport (it replaces their use, not the modules).
const kafkajsRequestV3 = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (args: unknown) => { encode(): Promise<{ buffer: Buffer }> };
const kafkajsCrc32C = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (buffer: Buffer) => number;
const kafkajsGrouping = (args: { topic: string; partitionMetadata: unknown[]; messages: unknown[]; partitioner: (a: { message: unknown }) => number }) => {
  // The original, as kafkajs ships it (the module cache holds the linear one once the transport loaded).
  if (args.partitionMetadata.length === 0) return {};
  return args.messages.reduce<Record<number, unknown[]>>((result, message) => {
    const partition = args.partitioner({ message });
    return Object.assign(result, { [partition]: [...(result[partition] ?? []), message] });
  }, {});
};

const bytesOrText = fc.oneof(fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)), fc.string({ maxLength: 40, unit: 'grapheme' }));
const headerValue = fc.oneof(bytesOrText, fc.array(bytesOrText, { minLength: 1, maxLength: 3 }));
const message: fc.Arbitrary<ProduceMessage> = fc.record(
  {
    key: fc.oneof(bytesOrText, fc.constant(null)),
    value: fc.oneof(bytesOrText, fc.constant(null)),
    headers: fc.dictionary(fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }), headerValue, { maxKeys: 4 }),
    // Kafka timestamps of today's length (13 digits), as strings (the transport's) or numbers.
    timestamp: fc.oneof(
      fc.integer({ min: 1_000_000_000_000, max: 9_999_999_999_999 }).map(String),
      fc.integer({ min: 1_000_000_000_000, max: 9_999_999_999_999 }),
      fc.constant(undefined),
    ),
  },
  { requiredKeys: ['value'] },
);
const topicData: fc.Arbitrary<ProduceTopic[]> = fc.uniqueArray(
  fc.record({
    topic: fc.string({ minLength: 1, maxLength: 30 }),
    partitions: fc.uniqueArray(
      fc.record({ partition: fc.integer({ min: 0, max: 200 }), firstSequence: fc.integer({ min: 0, max: 2 ** 31 - 1 }), messages: fc.array(message, { minLength: 1, maxLength: 20 }) }),
      { selector: (p) => p.partition, minLength: 1, maxLength: 4 },
    ),
  }),
  { selector: (t) => t.topic, minLength: 1, maxLength: 3 },
);

describe('the one-pass Produce request writer', () => {
  it('writes the bytes kafkajs writes, for any request the transport sends', async () => {
    await fc.assert(
      fc.asyncProperty(
        topicData,
        fc.oneof(fc.constant(null), fc.string({ minLength: 1, maxLength: 20 })),
        fc.constantFrom(-1, 1, 0),
        fc.bigInt({ min: -1n, max: 2n ** 62n }),
        fc.integer({ min: 0, max: 32_767 }),
        async (topics, transactionalId, acks, producerId, producerEpoch) => {
          const now = 1_764_000_000_000;
          const body = { transactionalId, acks, timeout: 30_000, producerId, producerEpoch, topicData: topics };
          expect(encodable(body)).toBe(true);
          const realNow = Date.now;
          // kafkajs reads the clock for messages without a timestamp: both see the same time.
          Date.now = () => now;
          try {
            const expected = (await kafkajsRequestV3({ ...body, producerId: { value: producerId }, compression: 0 }).encode()).buffer;
            expect(encodeProduceRequest(body, now).equals(expected)).toBe(true);
          } finally {
            Date.now = realNow;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('computes kafkajs’ CRC-32C for any bytes and any slice of them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2_000 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const buffer = Buffer.from(bytes);
        expect(crc32c(buffer)).toBe(kafkajsCrc32C(buffer));
        const start = buffer.length === 0 ? 0 : a % buffer.length;
        const end = start + (buffer.length === 0 ? 0 : b % (buffer.length - start + 1));
        expect(crc32c(buffer, start, end)).toBe(kafkajsCrc32C(buffer.subarray(start, end)));
        expect(batchCrc32c(buffer, start, end)).toBe(kafkajsCrc32C(buffer.subarray(start, end)));
      }),
    );
    // The check value of CRC-32C.
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('leaves to kafkajs what it does not write: header values that are null, keys of other types', () => {
    const base = { transactionalId: null, acks: -1, timeout: 30_000, producerId: -1, producerEpoch: 0 };
    const partition = (m: unknown) => [{ topic: 't', partitions: [{ partition: 0, messages: [m as ProduceMessage] }] }];
    expect(encodable({ ...base, topicData: partition({ value: Buffer.from('v'), headers: { h: null } }) })).toBe(false);
    expect(encodable({ ...base, topicData: partition({ key: 42, value: Buffer.from('v') }) })).toBe(false);
    expect(encodable({ ...base, topicData: partition({ value: Buffer.from('v'), timestamp: 'soon' }) })).toBe(false);
    expect(encodable({ ...base, topicData: partition({ value: Buffer.from('v'), timestamp: '1764000000000' }) })).toBe(true);
  });
});

describe('the linear grouping by partition', () => {
  it('groups like kafkajs: the same partitions, the messages of each in order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 300 }), (partitions) => {
        const messages = partitions.map((partition, i) => ({ partition, i }));
        const args = { topic: 't', partitionMetadata: [{}], messages, partitioner: ({ message }: { message: unknown }) => (message as { partition: number }).partition };
        expect(groupMessagesPerPartition(args)).toEqual(kafkajsGrouping(args));
      }),
    );
  });

  it('is installed in this process, and so are the one-pass writer and the in-place batch reader', () => {
    expect(fastPaths()).toEqual({ grouping: true, encoding: true, decoding: true });
  });

  it('is installed in a process that loads the engine through its public entry point, which warns of nothing', () => {
    const script = "const m = await import('./src/index.ts'); new m.KafkaTransport({ brokers: ['127.0.0.1:1'] }); const f = await import('./src/transport/kafka/kafkajs.ts'); console.log(JSON.stringify(f.fastPaths()));";
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: new URL('../../..', import.meta.url).pathname });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout.trim())).toEqual({ grouping: true, encoding: true, decoding: true });
  });
});
