import { describe, expect, it } from 'vitest';
import { MemoryBroker, MemoryTransport } from '../../../src/transport/memory/index.ts';

const bytes = (s: string) => Buffer.from(s);

function compactedBroker(): MemoryBroker {
  const broker = new MemoryBroker();
  broker.createTopic({ topic: 'users', config: { 'cleanup.policy': 'compact' } });
  return broker;
}

function put(broker: MemoryBroker, key: string, value: string | null): void {
  broker.append({ topic: 'users', key: bytes(key), value: value === null ? null : bytes(value) });
}

describe('compaction of cleanup.policy=compact topics', () => {
  it('keeps the latest record per key at its original offset, and drops tombstoned keys with their tombstones', () => {
    const broker = compactedBroker();
    put(broker, 'alice', 'v1'); // 0
    put(broker, 'bob', 'v1'); // 1
    put(broker, 'alice', 'v2'); // 2
    put(broker, 'carol', 'v1'); // 3
    put(broker, 'bob', null); // 4: tombstone
    put(broker, 'carol', 'v2'); // 5

    expect(broker.compact('users')).toBe(4);
    const survivors = broker.read('users', 0, 0).map((r) => [r.offset, r.key?.toString(), r.value?.toString()]);
    expect(survivors).toEqual([
      [2, 'alice', 'v2'],
      [5, 'carol', 'v2'],
    ]);
    expect(broker.startOffset('users', 0)).toBe(2);
    // Offsets are never reused: the end stays where it was and new records continue from it.
    expect(broker.endOffset('users', 0)).toBe(6);
    expect(broker.append({ topic: 'users', key: bytes('dave'), value: bytes('v1') }).offset).toBe(6);
  });

  it('lets a reader step over the gaps compaction leaves', () => {
    const broker = compactedBroker();
    for (let i = 0; i < 10; i++) put(broker, `k${i % 2}`, `v${i}`);
    broker.compact('users');
    expect(broker.read('users', 0, 3).map((r) => r.offset)).toEqual([8, 9]);
    expect(broker.fetch({ topic: 'users', partition: 0 }, 0, { maxRecords: 1 })).toMatchObject({ nextOffset: 9 });
  });

  it('does not compact past an open transaction, and removes aborted records', async () => {
    const transport = new MemoryTransport();
    const broker = transport.broker;
    broker.createTopic({ topic: 'users', config: { 'cleanup.policy': 'compact' } });
    const producer = transport.producer({ transactionalId: 'tx' });
    await producer.connect();
    const aborted = await producer.transaction();
    await aborted.send([{ topic: 'users', key: bytes('a'), value: bytes('aborted') }]);
    await aborted.abort();
    put(broker, 'a', 'v1');
    const open = await producer.transaction();
    await open.send([{ topic: 'users', key: bytes('a'), value: bytes('pending') }]);
    put(broker, 'a', 'v2');

    broker.compact('users');
    const all = broker.fetch({ topic: 'users', partition: 0 }, 0, { isolationLevel: 'read_uncommitted' }).records;
    expect(all.map((r) => r.value?.toString())).toEqual(['v1', 'pending', 'v2']);

    await open.commit();
    broker.compact('users');
    expect(broker.read('users', 0, 0).map((r) => r.value?.toString())).toEqual(['v2']);
    await producer.disconnect();
  });

  it('refuses to compact a topic whose policy is delete', () => {
    const broker = new MemoryBroker();
    broker.createTopic({ topic: 'events' });
    expect(() => broker.compact('events')).toThrow(/not compacted/);
  });

  it('reports the configuration given at creation', async () => {
    const transport = new MemoryTransport();
    const admin = transport.admin();
    await admin.connect();
    await admin.createTopics([{ topic: 'users', config: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '0' } }]);
    expect(await admin.topicConfig('users')).toEqual({ 'cleanup.policy': 'compact', 'max.message.bytes': '1048588', 'min.compaction.lag.ms': '0' });
    await admin.disconnect();
  });
});
