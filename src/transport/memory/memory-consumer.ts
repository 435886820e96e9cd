import { ConfigError, TransportError } from '../../errors/streams-error.ts';
import type { ConsumerOptions, ConsumerRunOptions, TopicPartition, TopicPartitionOffset, TransportConsumer } from '../transport.ts';
import { ConnectionState } from './connection-state.ts';
import type { AssignmentStrategy, ConsumerGroup, GroupMember } from './consumer-group.ts';
import type { MemoryErrorReporter } from './error-reporter.ts';
import { FetchLoop } from './fetch-loop.ts';
import type { MemoryBroker } from './memory-broker.ts';
import { SessionClock } from './session-clock.ts';
import { checkTopicName, unknownTopics } from './topic-log.ts';
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
 *
 * Like a kafkajs member, it is evicted when a batch runs longer than `sessionTimeoutMs` without
 * calling `heartbeat()`: the group hands its partitions to the others at once, its `isRunning()`
 * turns false and its commits fail (retriable); once the batch settles, `onRevoked` runs for what
 * it lost and it joins the group again.
 */
export class MemoryConsumer implements TransportConsumer, GroupMember {
  readonly groupId: string;
  readonly memberId: string;
  readonly rebalanceTimeoutMs: number;
  readonly assignmentStrategy: AssignmentStrategy;
  private readonly connection = new ConnectionState('memory consumer');
  private readonly group: ConsumerGroup;
  private readonly subscribed: string[] = [];
  private readonly paused = new Set<string>();
  private fromBeginning = true;
  private loop: FetchLoop | undefined;
  private runOptions: ConsumerRunOptions | undefined;
  private closing: Promise<void> | undefined;
  private readonly session: SessionClock;
  /** Set from the session's expiry until the member joined the group again. */
  private evicted = false;
  private rejoining: Promise<void> | undefined;

  constructor(
    private readonly broker: MemoryBroker,
    private readonly options: ConsumerOptions,
    private readonly settings: MemoryConsumerSettings,
  ) {
    validate(options);
    this.groupId = options.groupId;
    this.session = new SessionClock(options.sessionTimeoutMs ?? 30_000, () => this.expire());
    this.memberId = `${options.clientId ?? 'memory-consumer'}-${++nextMemberNumber}`;
    this.rebalanceTimeoutMs = options.rebalanceTimeoutMs ?? 60_000;
    this.assignmentStrategy = options.assignment ?? 'round-robin';
    this.group = broker.groups.group(options.groupId);
  }

  get topics(): readonly string[] {
    return this.subscribed;
  }

  async connect(): Promise<void> {
    this.connection.connect();
  }

  /**
   * Adds topics before `run`. A topic that does not exist is refused (UNKNOWN_TOPIC_OR_PARTITION,
   * retriable) and none is added, as the kafka transport's subscribe does: it never creates topics.
   */
  async subscribe(options: { readonly topics: readonly string[]; readonly fromBeginning?: boolean }): Promise<void> {
    this.connection.assertConnected('subscribe');
    if (this.loop !== undefined) throw new TransportError(`cannot subscribe while running (group ${this.groupId}); subscribe before run`);
    for (const topic of options.topics) checkTopicName(topic);
    const missing = options.topics.filter((topic) => !this.broker.hasTopic(topic));
    if (missing.length > 0) throw unknownTopics(missing, `subscribe of group "${this.groupId}"`, 'TRANSPORT_FAILED');
    for (const topic of options.topics) {
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
      inGroup: () => !this.evicted,
      heartbeat: async () => {
        // An evicted member learns of it here on Kafka; its isRunning() is already false.
        if (!this.evicted) this.session.beat();
      },
      onBatchStart: () => this.session.batchStarted(),
      onBatchEnd: () => this.session.batchEnded(),
      onPosition: (tp, nextOffset) => {
        try {
          options.onPosition?.(tp, nextOffset);
        } catch (error) {
          this.settings.onError(error, { groupId: this.groupId, during: 'onPosition', ...tp });
        }
      },
    });
    await this.group.join(this);
  }

  /**
   * Commits as the kafka transport does: refused for good (COMMIT_FAILED, not retriable) before
   * `run` and after `disconnect`; refused as retriable while evicted; otherwise see
   * `ConsumerGroup.commitAsMember` (any existing partition, owned or not, at any offset).
   */
  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    const what = `commit for group "${this.groupId}"`;
    if (this.loop === undefined || !this.connection.connected) {
      throw new TransportError(`${what} failed: ${this.loop === undefined ? 'run() was not called' : 'the consumer is disconnected'}`, { code: 'COMMIT_FAILED' });
    }
    if (this.evicted) {
      throw new TransportError(`${what} failed (UNKNOWN_MEMBER_ID): the member was evicted after its session timed out; it rejoins once its batch settles`, {
        code: 'COMMIT_FAILED',
        retriable: true,
      });
    }
    try {
      this.group.commitAsMember(this.memberId, offsets);
    } catch (error) {
      // Having left the group on purpose, this member will not be back to commit again.
      if (this.closing !== undefined && error instanceof TransportError && error.retriable) {
        throw new TransportError(`${what} failed: the consumer left the group (disconnect)`, { code: 'COMMIT_FAILED', cause: error });
      }
      throw error;
    }
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.paused.add(tpKey(tp));
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.paused.delete(tpKey(tp));
    this.loop?.schedule();
  }

  /** A seek made in `onAssigned`, before the partition is fetched, decides where fetching starts (as in Kafka's rebalance listener). */
  private readonly earlySeeks = new Map<string, number>();

  seek(tp: TopicPartition, offset: number): void {
    if (this.assigning.has(tpKey(tp))) this.earlySeeks.set(tpKey(tp), offset);
    else this.loop?.seek(tp, offset);
  }

  /** Partitions whose `onAssigned` is running. */
  private readonly assigning = new Set<string>();

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

  /** Group callback: see `GroupMember.expelled`. */
  expelled(partitions: readonly TopicPartition[]): void {
    this.evicted = true;
    this.rejoining = this.rejoin(partitions);
  }

  /** Group callback: see `GroupMember.assign`. The start offset is read after `onAssigned`, so a commit made there counts. */
  async assign(partitions: readonly TopicPartition[]): Promise<void> {
    for (const tp of partitions) this.assigning.add(tpKey(tp));
    try {
      await this.callHook('onAssigned', partitions);
    } finally {
      for (const tp of partitions) this.assigning.delete(tpKey(tp));
    }
    for (const tp of partitions) {
      const early = this.earlySeeks.get(tpKey(tp));
      this.earlySeeks.delete(tpKey(tp));
      if (!this.broker.hasTopic(tp.topic)) continue;
      this.loop?.add(tp, early ?? this.startOffset(tp));
    }
  }

  private async close(): Promise<void> {
    this.session.stop();
    if (this.loop !== undefined) {
      this.loop.halt();
      await this.group.leave(this.memberId);
      await this.loop.drain();
      await this.rejoining;
    }
    this.connection.close();
  }

  /** The session ran out: the group drops this member (see `expelled`) without waiting for it. */
  private expire(): void {
    if (this.evicted || this.closing !== undefined || this.loop === undefined) return;
    this.evicted = true;
    // The group's queue survives a failed step; nobody awaits this one, so it must not reject.
    this.group.evict(this.memberId).catch(() => undefined);
  }

  /** After an eviction: let the batches settle, tell `onRevoked` (after the fact, as kafkajs does), join again. */
  private async rejoin(lost: readonly TopicPartition[]): Promise<void> {
    await this.loop?.remove(lost);
    await this.callHook('onRevoked', lost);
    if (this.closing !== undefined) return;
    this.evicted = false;
    await this.group.join(this).catch(() => undefined);
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

/** The checks the kafka transport makes, so a setting that fails there fails here first. */
function validate(options: ConsumerOptions): void {
  if (typeof options.groupId !== 'string' || options.groupId.length === 0) {
    throw new ConfigError('consumer option "groupId" must be a non-empty string');
  }
  for (const name of ['sessionTimeoutMs', 'heartbeatIntervalMs', 'rebalanceTimeoutMs', 'maxBytesPerPartition'] as const) {
    const value = options[name];
    if (value !== undefined && (!Number.isInteger(value) || value <= 0)) {
      throw new ConfigError(`consumer option "${name}" of group "${options.groupId}" must be a positive integer`);
    }
  }
  if (options.assignment !== undefined && options.assignment !== 'round-robin' && options.assignment !== 'copartitioned') {
    throw new ConfigError(`consumer option "assignment" of group "${options.groupId}" must be 'round-robin' or 'copartitioned'`);
  }
  const session = options.sessionTimeoutMs ?? 30_000;
  const heartbeat = options.heartbeatIntervalMs ?? 3_000;
  if (heartbeat >= session) {
    throw new ConfigError(`consumer option "heartbeatIntervalMs" (${heartbeat}) of group "${options.groupId}" must be below "sessionTimeoutMs" (${session})`);
  }
}
