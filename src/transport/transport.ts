/**
 * The one interface the runtime talks to. Two implementations pass the same conformance suite
 * (`test/conformance/`): `kafka` (kafkajs, the only folder that imports it) and `memory` (an
 * in-process log with partitions, offsets, consumer groups, compaction and transactions).
 *
 * Conventions:
 * - Offsets are JavaScript numbers (safe up to 2^53, far past any real log).
 * - A committed offset is the offset of the NEXT record to read, as in Kafka.
 * - Headers are single-valued; a header repeated on the wire keeps its last value.
 * - Every method that talks to the log is async and rejects with a `TransportError`
 *   (`errors/streams-error.ts`) whose `retriable` says whether trying again can help.
 */

export type Headers = Readonly<Record<string, Buffer>>;

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  /** The next offset to read. */
  readonly offset: number;
}

/** A record as written by a producer. */
export interface OutgoingRecord {
  readonly topic: string;
  /** Explicit partition; when absent the key decides (murmur2, Kafka's default partitioner), or round-robin for a null key. */
  readonly partition?: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: Headers;
  /** Milliseconds since the epoch; the transport stamps the current time when absent. */
  readonly timestamp?: number;
}

/** A record as read from the log. */
export interface IncomingRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Headers;
  readonly timestamp: number;
}

export interface ConsumedBatch {
  readonly topic: string;
  readonly partition: number;
  /** In offset order; never empty. */
  readonly records: readonly IncomingRecord[];
  /** The partition's high watermark when the batch was fetched (offset after the last readable record). */
  readonly highWatermark: number;
  /**
   * The offset the consumer fetches next for this partition once the batch is handled. Past the last
   * record, and also past what the fetch skipped after it (transaction markers, aborted records,
   * compacted gaps), so it can reach the end offset of a log that ends with a marker.
   */
  readonly nextOffset: number;
}

export interface BatchContext {
  /** Keeps the group membership alive during long processing; cheap to call often (throttled inside). */
  heartbeat(): Promise<void>;
  /**
   * False once this batch's work should stop: the consumer is stopping, or a rebalance is taking
   * this partition away. The handler should return soon after.
   */
  isRunning(): boolean;
}

export interface ConsumerOptions {
  readonly groupId: string;
  readonly clientId?: string;
  /** Default 30000. */
  readonly sessionTimeoutMs?: number;
  /** Default 3000. */
  readonly heartbeatIntervalMs?: number;
  /** Default 60000: how long a rebalance waits for members to rejoin. */
  readonly rebalanceTimeoutMs?: number;
  /** Default `read_committed`. */
  readonly isolationLevel?: 'read_committed' | 'read_uncommitted';
  /** Upper bound on one fetch per partition; default 1 MiB. */
  readonly maxBytesPerPartition?: number;
  /**
   * How the group spreads partitions over its members; every member of a group must ask for the
   * same one. Default `round-robin`. `copartitioned` gives partition N of every subscribed topic to
   * one member (Kafka Streams' partition groups: task N joins partition N of its topics), spreading
   * the partition numbers evenly; a member gets nothing of a topic it does not subscribe to.
   */
  readonly assignment?: 'round-robin' | 'copartitioned';
}

export interface ConsumerRunOptions {
  /**
   * Called with each fetched batch. Batches of one partition are delivered one at a time and in
   * order (the next only after the previous promise settles); batches of different partitions may
   * be delivered concurrently, up to `partitionsConsumedConcurrently`.
   * Returning lets the consumer fetch past the batch; it does NOT commit anything. Rejecting makes
   * the consumer deliver the batch again from its first offset after a short backoff.
   */
  eachBatch(batch: ConsumedBatch, context: BatchContext): Promise<void>;
  /** Called after a rebalance with the partitions this member now owns in addition to what it had. */
  onAssigned?(partitions: readonly TopicPartition[]): Promise<void> | void;
  /**
   * Called with the partitions this member is losing, before it gives them up where the transport
   * allows it (memory: always; kafka: best effort, see the kafka transport's notes). Commits made
   * while it runs count for the old owner.
   */
  onRevoked?(partitions: readonly TopicPartition[]): Promise<void> | void;
  /**
   * Called once when the consumer stops for good on its own: kafkajs crashed on an error it does
   * not recover from (a session timeout the broker refuses, a missing ACL, ...). The member has left
   * the group and fetches nothing more; the caller should stop too, loudly.
   */
  onStopped?(error: Error): void;
  /**
   * Called when the consumer moves its position past offsets without delivering a batch: a fetch
   * that found only transaction markers or aborted records. `nextOffset` is the next offset it will
   * fetch for that owned, unpaused partition. With `ConsumedBatch.nextOffset` it lets a reader that
   * restores up to the end offset see that it got there even when the log ends with markers. May
   * also be called for delivered batches (with their `nextOffset`); must not throw.
   */
  onPosition?(partition: TopicPartition, nextOffset: number): void;
  /** Default 1. */
  readonly partitionsConsumedConcurrently?: number;
}

export interface TransportConsumer {
  readonly groupId: string;
  connect(): Promise<void>;
  /**
   * Topics to read. A partition with no committed offset for the group starts at the beginning
   * when `fromBeginning` is true (default), else at the end.
   */
  subscribe(options: { readonly topics: readonly string[]; readonly fromBeginning?: boolean }): Promise<void>;
  /** Starts the fetch loop and returns once it runs (not when it ends). */
  run(options: ConsumerRunOptions): Promise<void>;
  /** Commits the next offsets to read for the group. */
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Stops fetching these partitions until `resume`; a batch being handled is not interrupted. */
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  /**
   * Makes the next batch of this owned partition start at `offset` (the next offset to read). A
   * batch fetched before the seek is not delivered afterwards, or reports `isRunning()` false.
   * Ignored for a partition this member does not own.
   */
  seek(partition: TopicPartition, offset: number): void;
  /** Partitions currently assigned to this member. */
  assignment(): readonly TopicPartition[];
  /** Stops fetching and waits for the batches being handled to settle; leaves the group. */
  disconnect(): Promise<void>;
}

export interface ProducerOptions {
  readonly clientId?: string;
  /** Default true. */
  readonly idempotent?: boolean;
  /** Default `all`. */
  readonly acks?: 'all' | 'leader' | 'none';
  /** Set to use `transaction()`; must be unique per input partition set (fencing). */
  readonly transactionalId?: string;
}

export interface TransportProducer {
  connect(): Promise<void>;
  /** Writes the records as one batched request (per broker) and resolves once all are acknowledged. */
  send(records: readonly OutgoingRecord[]): Promise<void>;
  /** Begins a transaction; requires `transactionalId`. One at a time per producer. */
  transaction(): Promise<TransportTransaction>;
  disconnect(): Promise<void>;
}

export interface TransportTransaction {
  send(records: readonly OutgoingRecord[]): Promise<void>;
  /** Adds consumer offsets to the transaction; they commit or abort with the records. */
  sendOffsets(options: { readonly groupId: string; readonly offsets: readonly TopicPartitionOffset[] }): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface TopicSpec {
  readonly topic: string;
  /** Default 1. */
  readonly partitions?: number;
  /** Broker topic configuration, e.g. `{ 'cleanup.policy': 'compact' }`. */
  readonly config?: Readonly<Record<string, string>>;
  /** Copies of each partition; default the broker's `default.replication.factor`. The memory transport keeps one. */
  readonly replicationFactor?: number;
}

export interface TransportAdmin {
  connect(): Promise<void>;
  /** Creates the topics that do not exist yet; existing ones are left as they are. */
  createTopics(topics: readonly TopicSpec[]): Promise<void>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  listTopics(): Promise<string[]>;
  /** Number of partitions; rejects with a TransportError naming the topic when it does not exist. */
  partitionCount(topic: string): Promise<number>;
  /**
   * End offset per partition as a read_committed reader sees it: the last stable offset, which is
   * the high watermark (the offset the next record will get) unless a transaction is open on the
   * partition, and then the offset of that transaction's first record. Kafka writes a transaction's
   * commit marker just after `commit()` returns, so the end offset can take a moment to move past it.
   */
  endOffsets(topic: string): Promise<Map<number, number>>;
  /** Committed next-offset per partition for the group; partitions without a commit are absent. */
  committedOffsets(groupId: string, topic: string): Promise<Map<number, number>>;
  /** Topic configuration as the log reports it. */
  topicConfig(topic: string): Promise<Record<string, string>>;
  disconnect(): Promise<void>;
}

export interface Transport {
  /** `kafka`, `memory`, ... shown in logs and metrics. */
  readonly kind: string;
  admin(): TransportAdmin;
  producer(options?: ProducerOptions): TransportProducer;
  consumer(options: ConsumerOptions): TransportConsumer;
}
