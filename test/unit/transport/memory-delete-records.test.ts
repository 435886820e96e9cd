/**
 * `MemoryBroker.deleteRecords()`: Kafka's DeleteRecords on the in-memory log, what a long-running
 * embedded app uses as retention. The log start offset moves, offsets stay, readers go on.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBroker, MemoryTransport } from '../../../src/transport/memory/index.ts';

const record = (topic: string, value: string) => ({ topic, key: Buffer.from(value), value: Buffer.from(value) });

describe('MemoryBroker.deleteRecords', () => {
  it('removes the records below the offset and keeps the offsets of the rest', () => {
    const broker = new MemoryBroker();
    broker.createTopic({ topic: 't', partitions: 1 });
    for (let i = 0; i < 10; i++) broker.append(record('t', `v${i}`));

    expect(broker.deleteRecords('t', 0, 6)).toBe(6);
    expect(broker.startOffset('t', 0)).toBe(6);
    expect(broker.endOffset('t', 0)).toBe(10);
    expect(broker.read('t', 0, 0).map((r) => [r.offset, r.value?.toString()])).toEqual([
      [6, 'v6'],
      [7, 'v7'],
      [8, 'v8'],
      [9, 'v9'],
    ]);
    // Below the start again, or past the end: nothing more to remove, nothing breaks.
    expect(broker.deleteRecords('t', 0, 3)).toBe(0);
    expect(broker.deleteRecords('t', 0, 100)).toBe(4);
    expect(broker.startOffset('t', 0)).toBe(10);
    expect(broker.append(record('t', 'next')).offset).toBe(10);
  });

  it('never removes what an open transaction wrote', async () => {
    const transport = new MemoryTransport();
    transport.broker.createTopic({ topic: 't', partitions: 1 });
    transport.broker.append(record('t', 'before'));
    const producer = transport.producer({ transactionalId: 'tx' });
    await producer.connect();
    const transaction = await producer.transaction();
    await transaction.send([record('t', 'pending')]);

    expect(transport.broker.deleteRecords('t', 0, 100)).toBe(1);
    await transaction.commit();
    await producer.disconnect();
    expect(transport.broker.read('t', 0, 0).map((r) => r.value?.toString())).toEqual(['pending']);
  });

  it('lets a consumer behind the new start go on from the first record left', async () => {
    const transport = new MemoryTransport();
    transport.broker.createTopic({ topic: 't', partitions: 1 });
    for (let i = 0; i < 5; i++) transport.broker.append(record('t', `v${i}`));
    transport.broker.deleteRecords('t', 0, 3);

    const seen: string[] = [];
    const consumer = transport.consumer({ groupId: 'g' });
    await consumer.connect();
    await consumer.subscribe({ topics: ['t'], fromBeginning: true });
    await consumer.run({
      eachBatch: async (batch) => {
        for (const r of batch.records) seen.push(r.value?.toString() ?? '');
      },
    });
    const deadline = Date.now() + 5_000;
    while (seen.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await consumer.disconnect();
    expect(seen).toEqual(['v3', 'v4']);
  });
});
