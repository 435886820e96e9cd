import { describe, expect, it } from 'vitest';
import { CompressionTypes } from 'kafkajs';
import { hasKafka, uniqueName } from '../../support/services.ts';
import { consumeUntil, testKafka } from '../../support/kafka-client.ts';

const MESSAGES = 10_000;
const KEYS = 97;
const PARTITIONS = 6;

describe.skipIf(!hasKafka)('10,000 keyed messages through the real broker', () => {
  it('arrive complete, each key on one partition, in order per partition', async () => {
    const kafka = testKafka();
    const topic = uniqueName('keyed');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS }] });
    await admin.disconnect();

    // Each key's messages carry a sequence number so per-key order can be checked on the way out.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const nextSeq = new Map<string, number>();
    const messages = Array.from({ length: MESSAGES }, (_, i) => {
      const key = `user-${i % KEYS}`;
      const seq = nextSeq.get(key) ?? 0;
      nextSeq.set(key, seq + 1);
      return { key, value: JSON.stringify({ key, seq, i }) };
    });
    for (let start = 0; start < MESSAGES; start += 1_000) {
      await producer.send({ topic, compression: CompressionTypes.None, messages: messages.slice(start, start + 1_000) });
    }
    await producer.disconnect();

    const seen = await consumeUntil(kafka, topic, (all) => all.length >= MESSAGES);
    expect(seen).toHaveLength(MESSAGES);

    const usedPartitions = new Set(seen.map((m) => m.partition));
    expect(usedPartitions.size).toBeGreaterThan(1);

    const partitionOfKey = new Map<string, number>();
    const lastOffset = new Map<number, bigint>();
    const lastSeq = new Map<string, number>();
    const indexes = new Set<number>();
    for (const message of seen) {
      const body = JSON.parse(message.value ?? 'null') as { key: string; seq: number; i: number };
      expect(body.key).toBe(message.key);
      indexes.add(body.i);

      const partition = partitionOfKey.get(body.key) ?? message.partition;
      expect(message.partition, `key ${body.key} moved partitions`).toBe(partition);
      partitionOfKey.set(body.key, partition);

      const offset = BigInt(message.offset);
      expect(offset > (lastOffset.get(message.partition) ?? -1n), `offsets out of order on partition ${message.partition}`).toBe(true);
      lastOffset.set(message.partition, offset);

      expect(body.seq, `key ${body.key} out of order`).toBe((lastSeq.get(body.key) ?? -1) + 1);
      lastSeq.set(body.key, body.seq);
    }
    expect(indexes.size).toBe(MESSAGES);
    expect([...lastSeq.entries()].sort()).toEqual([...nextSeq.entries()].map(([k, n]) => [k, n - 1]).sort());
  });
});
