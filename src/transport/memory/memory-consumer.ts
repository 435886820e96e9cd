import { TransportError } from '../../errors/streams-error.ts';
import type { ConsumerOptions, ConsumerRunOptions, TopicPartition, TopicPartitionOffset, TransportConsumer } from '../transport.ts';
import { ConnectionState } from './connection-state.ts';
import type { ConsumerGroup, GroupMember } from './consumer-group.ts';
import type { MemoryErrorReporter } from './error-reporter.ts';
import { FetchLoop } from './fetch-loop.ts';
import type { MemoryBroker } from './memory-broker.ts';
import { checkTopicName } from './topic-log.ts';
import { tpKey } from '../topic-partition-key.ts';

export interface MemoryConsumerSettings {
  readonly retryBackoffMs: number;
  readonly onError: MemoryErrorReporter;
}

let nextMemberNumber = 0;

/**
 * A consumer-group member on the memory broker. It joins the group on `run`, gets partitions from
 * the group's rebalances (`onRevoked` after its in-flight batches for them settled, then
 * `onAssigned` before fetching), and leaves on `disconnect`, which hands its partitions to the
 * remaining members.
 */
export class MemoryConsumer implements TransportConsumer, GroupMember {
  readonly groupId: string;
  readonly memberId: string;
  readonly rebalanceTimeoutMs: number;
  private readonly connection = new ConnectionState('memory consumer');
  private readonly group: ConsumerGroup;
  private readonly subscribed: string[] = [];
  private readonly paused = new Set<string>();
  private fromBeginning = true;
  private loop: FetchLoop | undefined;
  private runOptions: ConsumerRunOptions | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly broker: MemoryBroker,
    private readonly options: ConsumerOptions,
    private readonly settings: MemoryConsumerSettings,
  ) {
    this.groupId = options.groupId;
    this.memberId = `${options.clientId ?? 'memory-consumer'}-${++nextMemberNumber}`;
    this.rebalanceTimeoutMs = options.rebalanceTimeoutMs ?? 60_000;
    this.group = broker.groups.group(options.groupId);
  }

  get topics(): readonly string[] {
    return this.subscribed;
  }

  async connect(): Promise<void> {
    this.connection.connect();
  }

  /** Adds topics before `run`, creating missing ones with the broker's default partition count, as kafkajs's metadata request does. */
  async subscribe(options: { readonly topics: readonly string[]; readonly fromBeginning?: boolean }): Promise<void> {
    this.connection.assertConnected('subscribe');
    if (this.loop !== undefined) throw new TransportError(`cannot subscribe while running (group ${this.groupId}); subscribe before run`);
    for (const topic of options.topics) checkTopicName(topic);
    for (const topic of options.topics) {
      this.broker.ensureTopic(topic);
      if (!this.subscribed.includes(topic)) this.subscribed.push(topic);
    }
    this.fromBeginning = options.fromBeginning ?? true;
  }

  /** Joins the group; resolves once the first rebalance gave this member its partitions. */
  async run(options: ConsumerRunOptions): Promise<void> {
    this.connection.assertConnected('run');
    if (this.loop !== undefined) throw new TransportError(`consumer of group ${this.groupId} is already running`);
    if (this.subscribed.length === 0) throw new TransportError(`consumer of group ${this.groupId} must subscribe to a topic before run`);
    const concurrency = options.partitionsConsumedConcurrently ?? 1;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new TransportError(`partitionsConsumedConcurrently must be a positive integer, got ${concurrency}`);
    }
    this.runOptions = options;
    this.loop = new FetchLoop({
      broker: this.broker,
      isolationLevel: this.options.isolationLevel ?? 'read_committed',
      maxBytesPerPartition: this.options.maxBytesPerPartition ?? 1024 * 1024,
      partitionsConsumedConcurrently: concurrency,
      eachBatch: options.eachBatch,
      retryBackoffMs: this.settings.retryBackoffMs,
      isPaused: (tp) => this.paused.has(tpKey(tp)),
      onBatchError: (error, tp) => this.settings.onError(error, { groupId: this.groupId, during: 'eachBatch', ...tp }),
    });
    await this.group.join(this);
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    this.connection.assertConnected('commit');
    this.group.commitAsMember(this.memberId, offsets);
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.paused.add(tpKey(tp));
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.paused.delete(tpKey(tp));
    this.loop?.schedule();
  }

  seek(tp: TopicPartition, offset: number): void {
    this.loop?.seek(tp, offset);
  }

  assignment(): readonly TopicPartition[] {
    return [...this.group.assignment(this.memberId)];
  }

  /**
   * Stops fetching at once, then leaves the group: its in-flight batches settle and `onRevoked` runs
   * before the partitions move. Do not await it inside `eachBatch`: it waits for that very batch.
   */
  disconnect(): Promise<void> {
    this.closing ??= this.close();
    return this.closing;
  }

  /** Group callback: see `GroupMember.revoke`. */
  async revoke(partitions: readonly TopicPartition[]): Promise<void> {
    await this.loop?.remove(partitions);
    await this.callHook('onRevoked', partitions);
  }

  /** Group callback: see `GroupMember.assign`. The start offset is read after `onAssigned`, so a commit made there counts. */
  async assign(partitions: readonly TopicPartition[]): Promise<void> {
    await this.callHook('onAssigned', partitions);
    for (const tp of partitions) {
      if (!this.broker.hasTopic(tp.topic)) continue;
      this.loop?.add(tp, this.startOffset(tp));
    }
  }

  private async close(): Promise<void> {
    if (this.loop !== undefined) {
      this.loop.halt();
      await this.group.leave(this.memberId);
      await this.loop.drain();
    }
    this.connection.close();
  }

  private startOffset(tp: TopicPartition): number {
    const committed = this.group.committed(tp);
    if (committed !== undefined) return committed;
    if (this.fromBeginning) return this.broker.startOffset(tp.topic, tp.partition);
    // "latest" for read_committed is the last stable offset, as Kafka's ListOffsets answers it.
    return (this.options.isolationLevel ?? 'read_committed') === 'read_committed'
      ? this.broker.lastStableOffset(tp.topic, tp.partition)
      : this.broker.endOffset(tp.topic, tp.partition);
  }

  private async callHook(hook: 'onAssigned' | 'onRevoked', partitions: readonly TopicPartition[]): Promise<void> {
    const callback = this.runOptions?.[hook];
    if (callback === undefined) return;
    try {
      await callback.call(this.runOptions, partitions);
    } catch (error) {
      this.settings.onError(error, { groupId: this.groupId, during: hook });
    }
  }
}
