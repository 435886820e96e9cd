/** Small conversions between the contract's flat topic-partition lists and kafkajs' per-topic shapes. */
import type { TopicOffsets, TopicPartitions } from 'kafkajs';
import type { RecordContext } from '../../errors/streams-error.ts';
import type { TopicPartition, TopicPartitionOffset } from '../transport.ts';

/** `orders[0,2], users[1]`: for messages and logs. */
export function describePartitions(partitions: readonly TopicPartition[]): string {
  if (partitions.length === 0) return 'no partitions';
  return groupByTopic(partitions)
    .map(({ topic, partitions: ids }) => `${topic}[${ids.join(',')}]`)
    .join(', ');
}

/** kafkajs' `[{ topic, partitions: [0, 2] }]`, partitions ascending. */
export function groupByTopic(partitions: readonly TopicPartition[]): TopicPartitions[] {
  const byTopic = new Map<string, Set<number>>();
  for (const { topic, partition } of partitions) {
    let ids = byTopic.get(topic);
    if (ids === undefined) {
      ids = new Set();
      byTopic.set(topic, ids);
    }
    ids.add(partition);
  }
  return [...byTopic].map(([topic, ids]) => ({ topic, partitions: [...ids].sort((a, b) => a - b) }));
}

/** kafkajs' `[{ topic, partitions: [{ partition, offset: '42' }] }]`. */
export function groupOffsetsByTopic(offsets: readonly TopicPartitionOffset[]): TopicOffsets[] {
  const byTopic = new Map<string, { partition: number; offset: string }[]>();
  for (const { topic, partition, offset } of offsets) {
    let partitions = byTopic.get(topic);
    if (partitions === undefined) {
      partitions = [];
      byTopic.set(topic, partitions);
    }
    partitions.push({ partition, offset: String(offset) });
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

/** The flat list back from kafkajs' per-topic assignment map. */
export function flattenAssignment(assignment: Readonly<Record<string, readonly number[]>>): TopicPartition[] {
  return Object.entries(assignment).flatMap(([topic, ids]) => ids.map((partition) => ({ topic, partition })));
}

/** A context for a `TransportError`: the topic, and the partition when there is exactly one. */
export function contextOf(partitions: readonly TopicPartition[]): RecordContext {
  const first = partitions[0];
  if (first === undefined || partitions.some((tp) => tp.topic !== first.topic)) return {};
  const onePartition = partitions.every((tp) => tp.partition === first.partition);
  return onePartition ? { topic: first.topic, partition: first.partition } : { topic: first.topic };
}
