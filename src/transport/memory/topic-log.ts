import { TransportError } from '../../errors/streams-error.ts';
import type { TopicPartition, TopicSpec } from '../transport.ts';
import { tpKey } from '../topic-partition-key.ts';
import { PartitionLog } from './partition-log.ts';

const LEGAL_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** A topic: its partitions and the configuration it was created with. */
export class TopicLog {
  readonly partitions: readonly PartitionLog[];
  readonly config: Readonly<Record<string, string>>;
  /** Next partition for a keyless record; deterministic (Kafka starts at a random one) so tests repeat. */
  roundRobin = 0;

  constructor(
    readonly name: string,
    partitions: number,
    config: Readonly<Record<string, string>> = {},
  ) {
    this.partitions = Array.from({ length: partitions }, (_, partition) => new PartitionLog(name, partition));
    this.config = { 'cleanup.policy': 'delete', ...config };
  }

  /** Validates a spec the way the broker's CreateTopics would, before anything is created. */
  static check(spec: TopicSpec): void {
    checkTopicName(spec.topic);
    const partitions = spec.partitions ?? 1;
    if (!Number.isSafeInteger(partitions) || partitions < 1) {
      throw new TransportError(`cannot create topic ${spec.topic}: partitions must be a positive integer, got ${partitions}`, { context: { topic: spec.topic } });
    }
    const replicas = spec.replicationFactor;
    if (replicas !== undefined && (!Number.isSafeInteger(replicas) || replicas < 1)) {
      throw new TransportError(`cannot create topic ${spec.topic}: replicationFactor must be a positive integer, got ${replicas}`, { context: { topic: spec.topic } });
    }
    const maxMessageBytes = spec.config?.['max.message.bytes'];
    if (maxMessageBytes !== undefined && !/^\d+$/.test(maxMessageBytes)) {
      throw new TransportError(`cannot create topic ${spec.topic}: max.message.bytes must be a non-negative integer, got ${maxMessageBytes}`, {
        context: { topic: spec.topic },
      });
    }
  }

  /** Whether the policy includes compaction (`compact` or `compact,delete`). */
  get compacted(): boolean {
    return (this.config['cleanup.policy'] ?? '').split(',').includes('compact');
  }

  /** The partition's log; throws a `TransportError` naming topic and partition when out of range. */
  partition(partition: number): PartitionLog {
    const log = this.partitions[partition];
    if (log === undefined) {
      throw new TransportError(`partition ${partition} of topic ${this.name} does not exist (it has ${this.partitions.length})`, {
        context: { topic: this.name, partition },
      });
    }
    return log;
  }
}

/** Kafka's rule for topic names: 1 to 249 of `[a-zA-Z0-9._-]`, and not `.` or `..`. */
export function checkTopicName(topic: string): void {
  if (!LEGAL_NAME.test(topic) || topic === '.' || topic === '..') {
    throw new TransportError(`illegal topic name ${JSON.stringify(topic)} (INVALID_TOPIC_EXCEPTION): use 1 to 249 of [a-zA-Z0-9._-]`, { context: { topic } });
  }
}

/**
 * What the kafka transport raises for topics the broker does not know (it never auto-creates them):
 * UNKNOWN_TOPIC_OR_PARTITION, retriable because the topic may yet be created.
 */
export function unknownTopics(
  topics: readonly string[],
  operation: string,
  code: 'TRANSPORT_FAILED' | 'TRANSACTION_FAILED' | 'COMMIT_FAILED',
): TransportError {
  const names = topics.map((topic) => JSON.stringify(topic)).join(', ');
  return new TransportError(`${operation} failed (UNKNOWN_TOPIC_OR_PARTITION): topic ${names} does not exist`, {
    code,
    retriable: true,
    ...(topics[0] === undefined ? {} : { context: { topic: topics[0] } }),
  });
}

/** As `unknownTopics`, for partitions out of range of topics that exist. */
export function unknownPartitions(
  partitions: readonly TopicPartition[],
  operation: string,
  code: 'TRANSPORT_FAILED' | 'TRANSACTION_FAILED' | 'COMMIT_FAILED',
): TransportError {
  const first = partitions[0];
  return new TransportError(`${operation} failed (UNKNOWN_TOPIC_OR_PARTITION): no partition ${partitions.map(tpKey).join(', ')}`, {
    code,
    retriable: true,
    ...(first === undefined ? {} : { context: { topic: first.topic, partition: first.partition } }),
  });
}
