/** Topic and group administration over the kafkajs admin client. */
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import type { Admin } from 'kafkajs';
import { ConfigResourceTypes } from './kafkajs.ts';
import { TransportError } from '../../errors/streams-error.ts';
import type { TopicSpec, TransportAdmin } from '../transport.ts';
import { protocolErrorType, wrapKafkaError } from './errors.ts';
import type { ResolvedKafkaOptions } from './options.ts';
import { requestListener } from './request-events.ts';


/**
 * Answers of a group coordinator that is moving or still loading its offsets (a broker just
 * started, a leader changed). kafkajs' admin asks the coordinator once and gives up; asked again
 * a moment later, it answers.
 */
const COORDINATOR_NOT_READY: ReadonlySet<string> = new Set(['NOT_COORDINATOR_FOR_GROUP', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS']);

/** About 10 s in all (100 ms doubling to 2 s, 8 attempts), then the last error stands. */
const coordinatorRetry = retry(
  handleWhen((error) => COORDINATOR_NOT_READY.has(protocolErrorType(error) ?? '')),
  { maxAttempts: 7, backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2_000 }) },
);

export class KafkaAdmin implements TransportAdmin {
  private readonly admin: Admin;
  private readonly redact: (text: string) => string;

  constructor(shared: ResolvedKafkaOptions) {
    this.redact = shared.redact;
    this.admin = shared.kafka(shared.clientId).admin();
    if (shared.onRequest !== undefined) {
      this.admin.on(this.admin.events.REQUEST, requestListener('admin', shared.onRequest));
    }
  }

  async connect(): Promise<void> {
    await this.call('connect of admin client', {}, () => this.admin.connect());
  }

  /**
   * Creates the topics that do not exist yet, with their `config` as topic configuration, and waits
   * until every new partition has a leader. Existing topics keep their partitions and configuration.
   */
  async createTopics(topics: readonly TopicSpec[]): Promise<void> {
    if (topics.length === 0) return;
    const names = topics.map((spec) => JSON.stringify(spec.topic)).join(', ');
    await this.call(`createTopics of ${names}`, {}, async () => {
      const existing = new Set(await this.admin.listTopics());
      const missing = topics.filter((spec) => !existing.has(spec.topic));
      if (missing.length === 0) return;
      // A topic created concurrently by someone else is reported as TOPIC_ALREADY_EXISTS, which
      // kafkajs turns into `false`: left as it is, as the contract asks.
      await this.admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((spec) => ({
          topic: spec.topic,
          numPartitions: spec.partitions ?? 1,
          ...(spec.replicationFactor === undefined ? {} : { replicationFactor: spec.replicationFactor }),
          configEntries: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
      });
    });
  }

  /** Deletes the topics that exist; unknown names are ignored so that clean-up can be repeated. */
  async deleteTopics(topics: readonly string[]): Promise<void> {
    if (topics.length === 0) return;
    await this.call(`deleteTopics of ${topics.map((topic) => JSON.stringify(topic)).join(', ')}`, {}, async () => {
      const existing = new Set(await this.admin.listTopics());
      const present = topics.filter((topic) => existing.has(topic));
      if (present.length > 0) await this.admin.deleteTopics({ topics: present });
    });
  }

  /** User topics; Kafka's internal `__consumer_offsets`-style topics are left out, as Java's admin does. */
  async listTopics(): Promise<string[]> {
    const topics = await this.call('listTopics', {}, () => this.admin.listTopics());
    return topics.filter((topic) => !topic.startsWith('__')).sort();
  }

  async partitionCount(topic: string): Promise<number> {
    const metadata = await this.call(`partitionCount of topic "${topic}"`, { topic }, () =>
      this.admin.fetchTopicMetadata({ topics: [topic] }),
    );
    const found = metadata.topics.find((entry) => entry.name === topic);
    if (found === undefined || found.partitions.length === 0) {
      throw new TransportError(`partitionCount of topic "${topic}" failed: the topic does not exist`, { context: { topic } });
    }
    return found.partitions.length;
  }

  /**
   * The end offset per partition as a read_committed consumer sees it: the high watermark, or the
   * last stable offset while a transaction is still open on the partition.
   */
  async endOffsets(topic: string): Promise<Map<number, number>> {
    const offsets = await this.call(`endOffsets of topic "${topic}"`, { topic }, () => this.admin.fetchTopicOffsets(topic));
    return new Map(offsets.map(({ partition, high }) => [partition, Number(high)]));
  }

  async committedOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
    const result = await this.call(`committedOffsets of group "${groupId}" on topic "${topic}"`, { topic }, () =>
      coordinatorRetry.execute(() => this.admin.fetchOffsets({ groupId, topics: [topic] })),
    );
    const partitions = result.find((entry) => entry.topic === topic)?.partitions ?? [];
    // Kafka answers -1 for a partition the group never committed.
    return new Map(partitions.map(({ partition, offset }) => [partition, Number(offset)] as const).filter(([, offset]) => offset >= 0));
  }

  /** Every configuration entry the broker reports for the topic, defaults included; sensitive ones are omitted. */
  async topicConfig(topic: string): Promise<Record<string, string>> {
    const described = await this.call(`topicConfig of topic "${topic}"`, { topic }, () =>
      this.admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] }),
    );
    const entries = described.resources.find((resource) => resource.resourceName === topic)?.configEntries ?? [];
    return Object.fromEntries(
      entries
        .filter((entry) => !entry.isSensitive && entry.configValue !== null && entry.configValue !== undefined)
        .map((entry) => [entry.configName, entry.configValue]),
    );
  }

  async disconnect(): Promise<void> {
    await this.call('disconnect of admin client', {}, () => this.admin.disconnect());
  }

  private async call<T>(what: string, context: { topic?: string }, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw wrapKafkaError(error, what, { context, redact: this.redact });
    }
  }
}
