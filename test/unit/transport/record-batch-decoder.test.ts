/**
 * The in-place record batch reader must give exactly what kafkajs' own decoder gives (kafkajs is
 * the oracle): the same records, field for field, the same position afterwards, the same error
 * when the bytes are partial or broken, for batches of any flags, offsets, timestamps, keys,
 * values and headers, and for corrupted bytes too.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { originalRecordBatchDecoder } from '../../../src/transport/kafka/kafkajs.ts';
import { encodeProduceRequest, type ProduceMessage } from '../../../src/transport/kafka/produce-encoder.ts';
import { fastRecordBatchDecoder, type BatchDecoder, type FetchDecoder } from '../../../src/transport/kafka/record-batch-decoder.ts';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => FetchDecoder;
const kafkajsDecode = originalRecordBatchDecoder as BatchDecoder;
const fastDecode = fastRecordBatchDecoder(kafkajsDecode);

/** One record batch as a broker would put it in a Fetch response: the bytes the producer sent, with its offset, epoch and flags. */
function batchBytes(messages: ProduceMessage[], at: { baseOffset: bigint; epoch: number; flags: number; transactional: boolean }): Buffer {
  const request = encodeProduceRequest({ transactionalId: at.transactional ? 'tx' : null, acks: -1, timeout: 1, producerId: 7n, producerEpoch: 3, topicData: [{ topic: 't', partitions: [{ partition: 0, messages }] }] }, 1_764_000_000_000);
  // The body: transactional id, acks, timeout, topic count, topic, partition count, partition, size.
  const header = 2 + (at.transactional ? 2 : 0) + 2 + 4 + 4 + 2 + 1 + 4 + 4 + 4;
  const batch = Buffer.from(request.subarray(header));
  batch.writeBigInt64BE(at.baseOffset, 0);
  batch.writeInt32BE(at.epoch, 12);
  batch.writeInt16BE(batch.readInt16BE(21) | at.flags, 21);
  return batch;
}

async function outcome(decode: BatchDecoder, buffer: Buffer): Promise<unknown> {
  const decoder = new Decoder(buffer);
  const batches: unknown[] = [];
  try {
    while (decoder.offset + 49 <= buffer.length) batches.push(await decode(decoder));
    return { batches, offset: decoder.offset };
  } catch (error) {
    return { batches, offset: decoder.offset, error: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

const bytes = fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b));
const message: fc.Arbitrary<ProduceMessage> = fc.record({
  key: fc.oneof(bytes, fc.constant(null)),
  value: fc.oneof(bytes, fc.constant(null)),
  headers: fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', 'toString')), fc.oneof(bytes, fc.array(bytes, { minLength: 1, maxLength: 3 })), { maxKeys: 4 }),
  timestamp: fc.oneof(fc.integer({ min: 1_000_000_000_000, max: 9_999_999_999_999 }), fc.constant(undefined)),
});
const batch = fc.record({
  messages: fc.array(message, { minLength: 1, maxLength: 12 }),
  baseOffset: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 40n }), fc.bigInt({ min: 2n ** 53n - 5n, max: 2n ** 63n - 1n })),
  epoch: fc.integer({ min: -1, max: 1_000 }),
  // Timestamp type (log append time), transactional, control.
  flags: fc.constantFrom(0, 0x8, 0x10, 0x20, 0x30, 0x18),
  transactional: fc.boolean(),
});

describe('the in-place record batch reader', () => {
  it('gives what kafkajs gives for any run of batches, whole or cut anywhere', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(batch, { minLength: 1, maxLength: 4 }), fc.nat(), async (batches, cut) => {
        const whole = Buffer.concat(batches.map((b) => batchBytes(b.messages, b)));
        expect(await outcome(fastDecode, whole)).toEqual(await outcome(kafkajsDecode, whole));
        const partial = whole.subarray(0, cut % (whole.length + 1));
        expect(await outcome(fastDecode, partial)).toEqual(await outcome(kafkajsDecode, partial));
      }),
      { numRuns: 400 },
    );
  });

  it('gives what kafkajs gives when the batch header is corrupted or claims more records than it holds', async () => {
    // Random bytes inside the records could make kafkajs loop for billions of headers (its
    // decoder trusts any count); the header fields and the record count are what a broker's bytes
    // can plausibly get wrong without that.
    await fc.assert(
      fc.asyncProperty(batch, fc.array(fc.tuple(fc.integer({ min: 12, max: 56 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 3 }), async (b, flips, extra) => {
        const buffer = batchBytes(b.messages, b);
        for (const [at, value] of flips) buffer[at] = value;
        buffer.writeInt32BE(buffer.readInt32BE(57) + extra, 57);
        expect(await outcome(fastDecode, buffer)).toEqual(await outcome(kafkajsDecode, buffer));
      }),
      { numRuns: 600 },
    );
  });

  it('reads records with numbers for offsets and timestamps, and keys and values as views of the fetched bytes', async () => {
    const buffer = batchBytes([{ key: Buffer.from('k'), value: Buffer.from('v'), headers: { h: [Buffer.from('1'), Buffer.from('2')] }, timestamp: 1_764_000_000_123 }], { baseOffset: 41n, epoch: 0, flags: 0, transactional: false });
    const decoded = await fastDecode(new Decoder(buffer));
    expect(decoded.records[0]).toMatchObject({ offset: '41', timestamp: '1764000000123', key: Buffer.from('k'), value: Buffer.from('v'), headers: { h: [Buffer.from('1'), Buffer.from('2')] } });
    expect(decoded.records[0]?.value?.buffer).toBe(buffer.buffer);
  });
});
