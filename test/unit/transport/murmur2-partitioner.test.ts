import fc from 'fast-check';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { MemoryBroker, murmur2, partitionForKey } from '../../../src/transport/memory/index.ts';
import { checkedPartitioner } from '../../../src/transport/kafka/kafka-producer.ts';
import { TransportError } from '../../../src/errors/streams-error.ts';

const partitioner = Partitioners.DefaultPartitioner();

/** kafkajs's own choice, the reference a real producer in this project would make. */
function kafkajsPartition(key: Buffer, partitions: number): number {
  const partitionMetadata: PartitionMetadata[] = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
  }));
  return partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
}

describe('murmur2 key partitioner', () => {
  it('hashes the test vectors of Kafka’s Java client (Utils.murmur2)', () => {
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
    expect(murmur2(Buffer.from('abc'))).toBe(479470107);
  });

  it('picks the same partition as kafkajs’s DefaultPartitioner for 5,000 string keys and several partition counts', () => {
    for (let i = 0; i < 5_000; i++) {
      const key = Buffer.from(`user-${i}-${'x'.repeat(i % 7)}`);
      for (const partitions of [1, 3, 4, 12, 50]) expect(partitionForKey(key, partitions), `${key.toString()} over ${partitions}`).toBe(kafkajsPartition(key, partitions));
    }
  });

  it('agrees with kafkajs on arbitrary bytes, including empty keys and every tail length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 67 }), fc.integer({ min: 1, max: 100 }), (bytes, partitions) => {
        const key = Buffer.from(bytes);
        expect(partitionForKey(key, partitions)).toBe(kafkajsPartition(key, partitions));
      }),
      { numRuns: 2_000 },
    );
  });

  it('is what the broker uses for keyed records, while keyless records go round-robin', () => {
    const broker = new MemoryBroker();
    broker.createTopic({ topic: 'keyed', partitions: 6 });
    for (let i = 0; i < 50; i++) {
      const key = Buffer.from(`k${i}`);
      expect(broker.append({ topic: 'keyed', key, value: null }).partition).toBe(kafkajsPartition(key, 6));
      expect(broker.partitionFor('keyed', key)).toBe(kafkajsPartition(key, 6));
    }
    const keyless = Array.from({ length: 7 }, () => broker.append({ topic: 'keyed', key: null, value: Buffer.from('v') }).partition);
    expect(keyless).toEqual([0, 1, 2, 3, 4, 5, 0]);
  });
});

describe('the Kafka producer’s partitioner', () => {
  const metadata = (partitions: number, leaderless: readonly number[] = []): PartitionMetadata[] =>
    Array.from({ length: partitions }, (_, partitionId) => ({ partitionErrorCode: 0, partitionId, leader: leaderless.includes(partitionId) ? -1 : 0, replicas: [0], isr: [0] }));

  it('puts a keyed record where kafkajs’ DefaultPartitioner does, for keys as bytes or text', () => {
    const ours = checkedPartitioner();
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)), fc.string()), fc.integer({ min: 1, max: 64 }), (key, partitions) => {
        const message = { key, value: null };
        expect(ours({ topic: 't', partitionMetadata: metadata(partitions), message })).toBe(partitioner({ topic: 't', partitionMetadata: metadata(partitions), message }));
      }),
      { numRuns: 2_000 },
    );
  });

  it('takes an explicit partition the topic has, and refuses one it does not, naming both', () => {
    const ours = checkedPartitioner();
    expect(ours({ topic: 't', partitionMetadata: metadata(4), message: { key: Buffer.from('k'), value: null, partition: 3 } })).toBe(3);
    for (const partition of [4, -1, 1.5]) {
      expect(() => ours({ topic: 't', partitionMetadata: metadata(4), message: { key: null, value: null, partition } })).toThrow(TransportError);
      expect(() => ours({ topic: 't', partitionMetadata: metadata(4), message: { key: null, value: null, partition } })).toThrow(`partition ${partition} of topic t does not exist (it has 4)`);
    }
  });

  it('sends keyless records round-robin over the partitions that have a leader', () => {
    const ours = checkedPartitioner();
    const picks = Array.from({ length: 8 }, () => ours({ topic: 't', partitionMetadata: metadata(5, [1, 3]), message: { key: null, value: Buffer.from('v') } }));
    expect(new Set(picks)).toEqual(new Set([0, 2, 4]));
    // One after another in turn: every third pick is the same partition.
    expect(picks.slice(3, 6)).toEqual(picks.slice(0, 3));
  });
});
