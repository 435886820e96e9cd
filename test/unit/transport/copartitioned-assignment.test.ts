import { AssignerProtocol, type Cluster, type PartitionMetadata } from 'kafkajs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { TransportError } from '../../../src/errors/streams-error.ts';
import { assignCopartitioned as assignKafka, copartitionedAssigner, COPARTITIONED_PROTOCOL } from '../../../src/transport/kafka/copartitioned-assigner.ts';
import { createJoinGate } from '../../../src/transport/kafka/join-gate.ts';
import { assignCopartitioned as assignMemory } from '../../../src/transport/memory/copartitioned-assignor.ts';
import { MemoryTransport } from '../../../src/transport/memory/index.ts';
import type { TopicPartition } from '../../../src/transport/transport.ts';

const tps = (topic: string, count: number): TopicPartition[] => Array.from({ length: count }, (_, partition) => ({ topic, partition }));
const names = (assigned: readonly TopicPartition[] | undefined) => (assigned ?? []).map((tp) => `${tp.topic}-${tp.partition}`);

describe('copartitioned assignment, kafka (members sorted by memberId)', () => {
  it('deals partition numbers round-robin over the sorted members, every topic of a number to its owner', () => {
    const result = assignKafka(
      ['m-b', 'm-a'].map((memberId) => ({ memberId, topics: ['x', 'y'] })),
      [...tps('x', 4), ...tps('y', 4)],
    );
    expect(names(result.get('m-a'))).toEqual(['x-0', 'x-2', 'y-0', 'y-2']);
    expect(names(result.get('m-b'))).toEqual(['x-1', 'x-3', 'y-1', 'y-3']);
  });

  it('puts partition N of each topic that has it in group N when partition counts differ', () => {
    const result = assignKafka(
      ['a', 'b', 'c'].map((memberId) => ({ memberId, topics: ['wide', 'narrow'] })),
      [...tps('wide', 5), ...tps('narrow', 2)],
    );
    expect(names(result.get('a'))).toEqual(['wide-0', 'wide-3', 'narrow-0']);
    expect(names(result.get('b'))).toEqual(['wide-1', 'wide-4', 'narrow-1']);
    expect(names(result.get('c'))).toEqual(['wide-2']);
  });

  it('gives a member nothing of a topic it does not subscribe to', () => {
    const result = assignKafka(
      [
        { memberId: 'a', topics: ['x', 'y'] },
        { memberId: 'b', topics: ['x'] },
      ],
      [...tps('x', 2), ...tps('y', 2)],
    );
    expect(names(result.get('b')).filter((name) => name.startsWith('y'))).toEqual([]);
    expect([...names(result.get('a')), ...names(result.get('b'))].sort()).toEqual(['x-0', 'x-1', 'y-0', 'y-1']);
  });

  it('is a kafkajs assigner with its own protocol name, reading subscriptions from member metadata', async () => {
    const metadata: Record<string, PartitionMetadata[]> = {
      x: tps('x', 2).map(({ partition }) => ({ partitionId: partition, partitionErrorCode: 0, leader: 0, replicas: [0], isr: [0] })),
      y: tps('y', 2).map(({ partition }) => ({ partitionId: partition, partitionErrorCode: 0, leader: 0, replicas: [0], isr: [0] })),
    };
    const cluster = { findTopicPartitionMetadata: (topic: string) => metadata[topic] ?? [] } as unknown as Cluster;
    const assigner = copartitionedAssigner({ cluster, groupId: 'g', logger: undefined as never });
    const protocol = assigner.protocol({ topics: ['x', 'y'] });
    expect(protocol.name).toBe(COPARTITIONED_PROTOCOL);
    expect(protocol.name).not.toBe('RoundRobinAssigner');
    const members = ['m1', 'm2'].map((memberId) => ({ memberId, memberMetadata: protocol.metadata }));
    const assignments = await assigner.assign({ members, topics: ['x', 'y'] });
    const decoded = new Map(assignments.map(({ memberId, memberAssignment }) => [memberId, AssignerProtocol.MemberAssignment.decode(memberAssignment)?.assignment]));
    expect(decoded.get('m1')).toEqual({ x: [0], y: [0] });
    expect(decoded.get('m2')).toEqual({ x: [1], y: [1] });
  });

  it('keeps the join gate hook whichever assigner it wraps', async () => {
    const joins: string[] = [];
    const gate = createJoinGate(
      async () => {
        joins.push('before join');
      },
      1_000,
      copartitionedAssigner,
    );
    const cluster = {
      findTopicPartitionMetadata: () => [],
      findGroupCoordinator: async () => {
        joins.push('find coordinator');
        return {};
      },
    } as unknown as Cluster;
    const assigner = gate.assigner({ cluster, groupId: 'g', logger: undefined as never });
    expect(assigner.name).toBe(COPARTITIONED_PROTOCOL);
    expect(gate.installed()).toBe(true);
    await cluster.findGroupCoordinator({ groupId: 'g' });
    expect(joins).toEqual(['before join', 'find coordinator']);
  });
});

describe('copartitioned assignment, memory (sticky, join order)', () => {
  it('spreads partition numbers in join order, every topic of a number to its owner', () => {
    const result = assignMemory(
      ['b', 'a'].map((memberId) => ({ memberId, topics: ['x', 'y'], owned: [] })),
      [...tps('x', 3), ...tps('y', 3)],
    );
    expect(names(result.get('b'))).toEqual(['x-0', 'x-2', 'y-0', 'y-2']);
    expect(names(result.get('a'))).toEqual(['x-1', 'y-1']);
  });

  it('keeps the numbers a member owns when a newcomer joins, and hands the newcomer whole groups', () => {
    const result = assignMemory(
      [
        { memberId: 'a', topics: ['x', 'y'], owned: [...tps('x', 4), ...tps('y', 4)] },
        { memberId: 'b', topics: ['x', 'y'], owned: [] },
      ],
      [...tps('x', 4), ...tps('y', 4)],
    );
    expect(names(result.get('a'))).toEqual(['x-0', 'x-1', 'y-0', 'y-1']);
    expect(names(result.get('b'))).toEqual(['x-2', 'x-3', 'y-2', 'y-3']);
  });

  it('gives a member nothing of a topic it does not subscribe to', () => {
    const result = assignMemory(
      [
        { memberId: 'a', topics: ['x'], owned: [] },
        { memberId: 'b', topics: ['x', 'y'], owned: [] },
      ],
      [...tps('x', 2), ...tps('y', 2)],
    );
    expect(names(result.get('a')).filter((name) => name.startsWith('y'))).toEqual([]);
    expect([...names(result.get('a')), ...names(result.get('b'))].sort()).toEqual(['x-0', 'x-1', 'y-0', 'y-1']);
  });

  it('refuses a member whose assignment differs from the group (INCONSISTENT_GROUP_PROTOCOL)', async () => {
    const transport = new MemoryTransport({ onError: () => undefined });
    const admin = transport.admin();
    await admin.connect();
    await admin.createTopics([{ topic: 't', partitions: 2 }]);
    const start = async (assignment: 'round-robin' | 'copartitioned') => {
      const consumer = transport.consumer({ groupId: 'g', assignment });
      onTestFinished(() => consumer.disconnect());
      await consumer.connect();
      await consumer.subscribe({ topics: ['t'] });
      return consumer.run({ eachBatch: async () => undefined });
    };
    await start('copartitioned');
    const error = await start('round-robin').then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toContain('INCONSISTENT_GROUP_PROTOCOL');
  });
});
