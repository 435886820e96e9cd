/**
 * The retention `npm start` runs on the in-memory transport: compacted topics compacted, every
 * other partition cut to its newest offsets, so a long run stays within bounded memory.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBroker } from '../../../src/index.ts';
import { MemoryRetention } from '../../../topologies/pipeline/memory-retention.ts';

describe('MemoryRetention', () => {
  it('compacts compacted topics and keeps the newest offsets of the others', () => {
    const broker = new MemoryBroker();
    broker.createTopic({ topic: 'users', partitions: 1, config: { 'cleanup.policy': 'compact' } });
    broker.createTopic({ topic: 'ratings', partitions: 2 });
    for (let i = 0; i < 10; i++) broker.append({ topic: 'users', key: Buffer.from(`u${i % 3}`), value: Buffer.from(`v${i}`) });
    for (let i = 0; i < 25; i++) broker.append({ topic: 'ratings', partition: i % 2, key: Buffer.from(`r${i}`), value: Buffer.from('{}') });

    const retention = new MemoryRetention({ broker, keepPerPartition: 5 });
    expect(retention.runOnce()).toEqual({ compacted: 7, deleted: 8 + 7 });
    expect(broker.read('users', 0, 0).map((r) => r.value?.toString())).toEqual(['v7', 'v8', 'v9']);
    expect(broker.read('ratings', 0, 0).map((r) => r.offset)).toEqual([8, 9, 10, 11, 12]);
    expect(broker.read('ratings', 1, 0).map((r) => r.offset)).toEqual([7, 8, 9, 10, 11]);
    // Nothing more to do until the topics grow again.
    expect(retention.runOnce()).toEqual({ compacted: 0, deleted: 0 });
    expect(retention.stats()).toEqual({ compacted: 7, deleted: 15 });
  });

  it('refuses a bound that keeps nothing', () => {
    expect(() => new MemoryRetention({ broker: new MemoryBroker(), keepPerPartition: 0 })).toThrow(/keepPerPartition must be a whole number >= 1/);
  });
});
