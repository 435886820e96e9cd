import type { TopicPartition } from './transport.ts';

/**
 * A map key for a topic-partition. Kafka topic names cannot contain ':', so the pair is unambiguous.
 */
export function tpKey(tp: TopicPartition): string {
  return `${tp.topic}:${tp.partition}`;
}

/** Sorts by topic, then partition: the order assignments and callbacks use, so runs are repeatable. */
export function compareTopicPartitions(a: TopicPartition, b: TopicPartition): number {
  if (a.topic !== b.topic) return a.topic < b.topic ? -1 : 1;
  return a.partition - b.partition;
}
