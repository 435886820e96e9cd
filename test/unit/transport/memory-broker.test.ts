import { describe, expect, it } from 'vitest';
import { TransportError } from '../../../src/errors/streams-error.ts';
import { MemoryBroker } from '../../../src/transport/memory/index.ts';

const bytes = (s: string) => Buffer.from(s);

describe('MemoryBroker synchronous core', () => {
  it('appends with dense offsets per partition and reads back from any offset', () => {
    const broker = new MemoryBroker();
    broker.createTopic({ topic: 't', partitions: 2 });
    const positions = broker.appendAll([
      { topic: 't', partition: 0, key: bytes('a'), value: bytes('1') },
      { topic: 't', partition: 1, key: bytes('b'), value: bytes('2') },
      { topic: 't', partition: 0, key: bytes('c'), value: bytes('3') },
    ]);
    expect(positions).toEqual([
      { topic: 't', partition: 0, offset: 0 },
      { topic: 't', partition: 1, offset: 0 },
      { topic: 't', partition: 0, offset: 1 },
    ]);
    expect(broker.read('t', 0, 1).map((r) => r.value?.toString())).toEqual(['3']);
    expect(broker.read('t', 0, 0, 1).map((r) => r.offset)).toEqual([0]);
    expect(broker.endOffset('t', 0)).toBe(2);
    expect(broker.endOffsets('t')).toEqual(new Map([[0, 2], [1, 1]]));
  });

  it('auto-creates a topic on first append with defaultPartitions, like auto.create.topics.enable', () => {
    const broker = new MemoryBroker({ defaultPartitions: 3 });
    broker.append({ topic: 'auto', key: null, value: bytes('v') });
    expect(broker.topics()).toEqual(['auto']);
    expect(broker.partitionCount('auto')).toBe(3);
    expect(broker.topicConfig('auto')).toEqual({ 'cleanup.policy': 'delete', 'max.message.bytes': '1048588' });
  });

  it('leaves an existing topic as it is when it is created again', () => {
    const broker = new MemoryBroker();
    expect(broker.createTopic({ topic: 't', partitions: 2, config: { 'retention.ms': '1000' } })).toBe(true);
    expect(broker.createTopic({ topic: 't', partitions: 8 })).toBe(false);
    expect(broker.partitionCount('t')).toBe(2);
    expect(broker.topicConfig('t')).toEqual({ 'cleanup.policy': 'delete', 'max.message.bytes': '1048588', 'retention.ms': '1000' });
  });

  it('stamps missing timestamps with the injected clock and keeps explicit ones', () => {
    const broker = new MemoryBroker({ now: () => 42 });
    broker.appendAll([
      { topic: 't', key: null, value: null },
      { topic: 't', key: null, value: null, timestamp: 7 },
    ]);
    expect(broker.read('t', 0, 0).map((r) => r.timestamp)).toEqual([42, 7]);
  });

  it('appends all or nothing: one bad record leaves the log untouched', () => {
    const broker = new MemoryBroker();
    broker.createTopic({ topic: 't', partitions: 2 });
    const bad = () =>
      broker.appendAll([
        { topic: 't', key: bytes('ok'), value: bytes('v') },
        { topic: 't', partition: 5, key: bytes('bad'), value: bytes('v') },
      ]);
    expect(bad).toThrow(TransportError);
    expect(bad).toThrow(/partition 5 of topic t does not exist/);
    expect(broker.endOffsets('t')).toEqual(new Map([[0, 0], [1, 0]]));
  });

  it('refuses keyless records on compacted topics and illegal topic names, as Kafka does', () => {
    const broker = new MemoryBroker();
    broker.createTopic({ topic: 'users', config: { 'cleanup.policy': 'compact' } });
    expect(() => broker.append({ topic: 'users', key: null, value: bytes('v') })).toThrow(/compacted topic users cannot accept a record without a key/);
    expect(() => broker.append({ topic: 'bad name!', key: null, value: null })).toThrow(/illegal topic name/);
    expect(() => broker.createTopic({ topic: 'zero', partitions: 0 })).toThrow(/partitions must be a positive integer/);
  });

  it('names the missing topic in errors', () => {
    const broker = new MemoryBroker();
    const error = (() => {
      try {
        broker.partitionCount('nowhere');
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).message).toContain('nowhere');
    expect((error as TransportError).context.topic).toBe('nowhere');
  });

  it('copies record bytes on append, so mutating the sent buffers cannot rewrite the log', () => {
    const broker = new MemoryBroker();
    const value = bytes('original');
    const header = bytes('h');
    broker.append({ topic: 't', key: null, value, headers: { h: header } });
    value.write('mutated!');
    header.write('x');
    const [record] = broker.read('t', 0, 0);
    expect(record?.value?.toString()).toBe('original');
    expect(record?.headers['h']?.toString()).toBe('h');
  });

  it('tells watchers which topic changed', () => {
    const broker = new MemoryBroker();
    const changed: string[] = [];
    const stop = broker.watch((topic) => changed.push(topic));
    broker.append({ topic: 'a', key: null, value: null });
    broker.appendAll([
      { topic: 'b', key: null, value: null },
      { topic: 'b', key: null, value: null },
    ]);
    stop();
    broker.append({ topic: 'a', key: null, value: null });
    expect(changed).toEqual(['a', 'b']);
  });

  it('deletes a topic with its group offsets', () => {
    const broker = new MemoryBroker();
    broker.append({ topic: 't', key: null, value: null });
    broker.commit('g', [{ topic: 't', partition: 0, offset: 1 }]);
    expect(broker.committed('g', { topic: 't', partition: 0 })).toBe(1);
    expect(broker.deleteTopic('t')).toBe(true);
    expect(broker.hasTopic('t')).toBe(false);
    expect(broker.committedOffsets('g', 't').size).toBe(0);
    expect(broker.deleteTopic('t')).toBe(false);
  });
});
