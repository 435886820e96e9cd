import { TransportError } from '../../errors/streams-error.ts';
import type { TopicSpec, TransportAdmin } from '../transport.ts';
import { ConnectionState } from './connection-state.ts';
import type { MemoryBroker } from './memory-broker.ts';
import { TopicLog } from './topic-log.ts';

/** Topic and offset administration on the memory broker; every call is a synchronous broker call behind a promise. */
export class MemoryAdmin implements TransportAdmin {
  private readonly connection = new ConnectionState('memory admin');

  constructor(private readonly broker: MemoryBroker) {}

  async connect(): Promise<void> {
    this.connection.connect();
  }

  /** Validates every spec first, so a bad one creates nothing; existing topics are left untouched. */
  async createTopics(topics: readonly TopicSpec[]): Promise<void> {
    this.connection.assertConnected('create topics');
    for (const spec of topics) TopicLog.check(spec);
    for (const spec of topics) this.broker.createTopic(spec);
  }

  /** Rejects naming the missing topics (as Kafka answers UNKNOWN_TOPIC_OR_PARTITION) and then deletes none. */
  async deleteTopics(topics: readonly string[]): Promise<void> {
    this.connection.assertConnected('delete topics');
    const missing = topics.filter((topic) => !this.broker.hasTopic(topic));
    if (missing.length > 0) throw new TransportError(`cannot delete topics that do not exist: ${missing.join(', ')}`, { context: { topic: missing[0] } });
    for (const topic of topics) this.broker.deleteTopic(topic);
  }

  async listTopics(): Promise<string[]> {
    this.connection.assertConnected('list topics');
    return this.broker.topics();
  }

  async partitionCount(topic: string): Promise<number> {
    this.connection.assertConnected('read the partition count');
    return this.broker.partitionCount(topic);
  }

  async endOffsets(topic: string): Promise<Map<number, number>> {
    this.connection.assertConnected('read end offsets');
    return this.broker.endOffsets(topic);
  }

  async committedOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
    this.connection.assertConnected('read committed offsets');
    return this.broker.committedOffsets(groupId, topic);
  }

  async topicConfig(topic: string): Promise<Record<string, string>> {
    this.connection.assertConnected('read topic configuration');
    return this.broker.topicConfig(topic);
  }

  async disconnect(): Promise<void> {
    this.connection.close();
  }
}
