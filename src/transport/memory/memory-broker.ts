import { TransportError } from '../../errors/streams-error.ts';
import type { Headers, IncomingRecord, OutgoingRecord, TopicPartition, TopicPartitionOffset, TopicSpec } from '../transport.ts';
import { GroupCoordinator } from './group-coordinator.ts';
import { partitionForKey } from '../murmur2.ts';
import type { FetchOptions, FetchResult, PartitionLog, UnplacedRecord } from './partition-log.ts';
import { DEFAULT_MESSAGE_MAX_BYTES, recordBatchBytes } from './record-batch-size.ts';
import { type RefusedBatch, refusedBatchesError } from './refused-batch.ts';
import { TopicLog, checkTopicName, unknownTopics } from './topic-log.ts';
import { type RecordPosition, TransactionCoordinator } from './transaction-coordinator.ts';
import type { TransactionMark } from './transaction-mark.ts';

export type { RecordPosition } from './transaction-coordinator.ts';

export interface MemoryBrokerOptions {
  /** Partitions of a topic created implicitly by a produce or a subscribe; default 1, like `num.partitions`. */
  readonly defaultPartitions?: number;
  /** Clock for timestamps of records sent without one; inject it to control time in tests. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * The broker's `message.max.bytes`: the largest record batch one append may put into a partition,
   * unless the topic's `max.message.bytes` says otherwise. Default 1048588, as on Kafka.
   */
  readonly messageMaxBytes?: number;
}

/** What an append did: where each written record landed, the logs it wrote, and the partitions it refused. */
export interface AppendResult {
  readonly positions: RecordPosition[];
  readonly logs: PartitionLog[];
  /** Partitions whose batch was refused (too large, or keyless records on a compacted topic): nothing was written to them. */
  readonly refused: RefusedBatch[];
}

/** Called with the name of a topic that was just created. */
export type TopicCreatedListener = (topic: string) => void;

/** Called with a topic whose readable content changed (records appended, a transaction ended, compaction, deletion). */
export type TopicListener = (topic: string) => void;

/**
 * An in-process Kafka: topics with partitions and offsets, consumer groups with committed offsets,
 * transactions and compaction, shared by any number of `MemoryTransport`s so several app instances
 * can run in one process.
 *
 * Everything here is synchronous, so a test driver can feed and read topics without awaiting; the
 * async transport clients are thin wrappers that add connection state and consumer-group behaviour.
 * Records handed out are the log's own copies: treat their buffers as read-only.
 */
export class MemoryBroker {
  readonly defaultPartitions: number;
  /** Consumer groups; used by the memory consumer and admin, not meant for other callers. */
  readonly groups: GroupCoordinator;
  /** Transactional ids, epochs and open transactions; used by the memory producer. */
  readonly transactions: TransactionCoordinator;
  readonly messageMaxBytes: number;
  private readonly now: () => number;
  private readonly creationListeners = new Set<TopicCreatedListener>();
  private readonly topicLogs = new Map<string, TopicLog>();
  private readonly listeners = new Set<TopicListener>();

  constructor(options: MemoryBrokerOptions = {}) {
    this.defaultPartitions = options.defaultPartitions ?? 1;
    if (!Number.isSafeInteger(this.defaultPartitions) || this.defaultPartitions < 1) {
      throw new TransportError(`defaultPartitions must be a positive integer, got ${this.defaultPartitions}`);
    }
    this.now = options.now ?? Date.now;
    this.messageMaxBytes = options.messageMaxBytes ?? DEFAULT_MESSAGE_MAX_BYTES;
    if (!Number.isSafeInteger(this.messageMaxBytes) || this.messageMaxBytes < 0) {
      throw new TransportError(`messageMaxBytes must be a non-negative integer, got ${this.messageMaxBytes}`);
    }
    this.groups = new GroupCoordinator((topic) => this.topicLogs.get(topic)?.partitions.length ?? 0);
    this.transactions = new TransactionCoordinator({
      // Producers never create topics: the kafka transport disables auto-creation.
      appendTagged: (records, mark) => this.appendRecords(records, { mark, createTopics: false }),
      commitOffsets: (groupId, offsets) => this.commit(groupId, offsets),
      changed: (topics) => {
        for (const topic of topics) this.notify(topic);
      },
    });
  }

  /**
   * Creates a topic; returns false and changes nothing when it exists, as `createTopics` does.
   * `config` is kept as given, with `cleanup.policy` defaulting to `delete`.
   */
  createTopic(spec: TopicSpec): boolean {
    TopicLog.check(spec);
    if (this.topicLogs.has(spec.topic)) return false;
    this.topicLogs.set(spec.topic, new TopicLog(spec.topic, spec.partitions ?? 1, spec.config));
    this.groups.topicChanged(spec.topic, false);
    for (const listener of this.creationListeners) listener(spec.topic);
    return true;
  }

  /** Creates the topic with `defaultPartitions` unless it exists: a broker's `auto.create.topics.enable`. */
  ensureTopic(topic: string): void {
    if (!this.topicLogs.has(topic)) this.createTopic({ topic, partitions: this.defaultPartitions });
  }

  /** Deletes a topic with its records and every group's offsets for it; false when it did not exist. */
  deleteTopic(topic: string): boolean {
    if (!this.topicLogs.delete(topic)) return false;
    this.groups.topicChanged(topic, true);
    this.notify(topic);
    return true;
  }

  hasTopic(topic: string): boolean {
    return this.topicLogs.has(topic);
  }

  /** Names of all topics, sorted. */
  topics(): string[] {
    return [...this.topicLogs.keys()].sort();
  }

  /** Throws a `TransportError` naming the topic when it does not exist. */
  partitionCount(topic: string): number {
    return this.topic(topic).partitions.length;
  }

  /**
   * The configuration given at creation, with the defaults a Kafka broker reports for the settings
   * this log acts on: `cleanup.policy` and `max.message.bytes` (the broker's `messageMaxBytes`).
   */
  topicConfig(topic: string): Record<string, string> {
    return { 'max.message.bytes': String(this.messageMaxBytes), ...this.topic(topic).config };
  }

  /** The partition a record with this key goes to: murmur2, as Kafka's default partitioner. */
  partitionFor(topic: string, key: Buffer): number {
    return partitionForKey(key, this.partitionCount(topic));
  }

  /**
   * Appends one record, creating its topic with `defaultPartitions` when missing (a convenience of
   * this API for test drivers; the memory producer never creates topics), and says where it landed.
   */
  append(record: OutgoingRecord): RecordPosition {
    const [position] = this.appendAll([record]);
    if (position === undefined) throw new TransportError('append wrote nothing');
    return position;
  }

  /**
   * Appends records, creating missing topics as `append` does. Every record is checked (topic name,
   * partition in range, timestamp) before the first is written, so a bad one leaves the log
   * untouched. A partition whose batch the broker refuses (over the size limit, or keyless records
   * on a compacted topic) gets none of its records while the other partitions are written, as a
   * Kafka produce request answers per partition; then this throws what the kafka transport raises
   * for MESSAGE_TOO_LARGE or INVALID_RECORD.
   */
  appendAll(records: readonly OutgoingRecord[]): RecordPosition[] {
    const result = this.appendRecords(records, { createTopics: true });
    if (result.refused.length > 0) throw refusedBatchesError(result.refused, 'append', { inTransaction: false });
    return result.positions;
  }

  /**
   * A producer's append: like `appendAll` but a missing topic is an error (UNKNOWN_TOPIC_OR_PARTITION,
   * retriable) rather than created, and refused partitions are reported, not thrown.
   */
  produce(records: readonly OutgoingRecord[]): AppendResult {
    return this.appendRecords(records, { createTopics: false });
  }

  /** The largest record batch a partition of `topic` accepts: its `max.message.bytes`, else the broker's. */
  maxMessageBytes(topic: string): number {
    const configured = this.topic(topic).config['max.message.bytes'];
    return configured === undefined ? this.messageMaxBytes : Number(configured);
  }

  /** Calls `listener` with each topic created from now on; returns the function that stops it. */
  onTopicCreated(listener: TopicCreatedListener): () => void {
    this.creationListeners.add(listener);
    return () => this.creationListeners.delete(listener);
  }

  /** Records from `fromOffset` on, as a read_committed consumer sees them; at most `max` of them. */
  read(topic: string, partition: number, fromOffset: number, max?: number): IncomingRecord[] {
    return this.fetch({ topic, partition }, fromOffset, max === undefined ? {} : { maxRecords: max }).records;
  }

  /** One fetch as a consumer does it: records, where to continue, and the readable end. */
  fetch(tp: TopicPartition, fromOffset: number, options: FetchOptions = {}): FetchResult {
    return this.partitionLog(tp).fetch(fromOffset, options);
  }

  /** The high watermark: the offset the next record appended to the partition will get. */
  endOffset(topic: string, partition: number): number {
    return this.partitionLog({ topic, partition }).endOffset;
  }

  /** The end of what read_committed readers may see: the first offset of the oldest open transaction, else the high watermark. */
  lastStableOffset(topic: string, partition: number): number {
    return this.partitionLog({ topic, partition }).lastStableOffset;
  }

  /** The first offset still in the log (above 0 after compaction removed the head). */
  startOffset(topic: string, partition: number): number {
    return this.partitionLog({ topic, partition }).startOffset;
  }

  /** High watermark of every partition of the topic. */
  endOffsets(topic: string): Map<number, number> {
    return new Map(this.topic(topic).partitions.map((log) => [log.partition, log.lastStableOffset]));
  }

  /** The group's committed next offset for a partition, or undefined when it never committed one. */
  committed(groupId: string, tp: TopicPartition): number | undefined {
    return this.groups.find(groupId)?.committed(tp);
  }

  /** Committed next offsets of the group for one topic; partitions without a commit are absent. */
  committedOffsets(groupId: string, topic: string): Map<number, number> {
    return this.groups.find(groupId)?.committedOffsets(topic) ?? new Map();
  }

  /** Commits offsets for a group without membership checks, as an admin or a test driver does. */
  commit(groupId: string, offsets: readonly TopicPartitionOffset[]): void {
    this.groups.group(groupId).commit(offsets);
  }

  /**
   * Compacts a `cleanup.policy=compact` topic now (a real broker does it in the background, at a
   * time tests cannot control): keeps the latest record per key, drops keys whose latest value is a
   * tombstone and the tombstones themselves, keeps offsets. Returns how many entries were removed.
   */
  compact(topic: string): number {
    const log = this.topic(topic);
    if (!log.compacted) throw new TransportError(`topic ${topic} is not compacted (cleanup.policy=${log.config['cleanup.policy']})`, { context: { topic } });
    let removed = 0;
    for (const partition of log.partitions) removed += partition.compact();
    if (removed > 0) this.notify(topic);
    return removed;
  }

  /**
   * Deletes a partition's records below `offset` (Kafka's DeleteRecords, what retention does on a
   * real broker): the log start offset moves up, never past the last stable offset; offsets are
   * kept, and a reader behind the new start continues at the first record left (those below are
   * lost to it, as past retention on Kafka). Returns how many entries were removed.
   */
  deleteRecords(topic: string, partition: number, offset: number): number {
    return this.partitionLog({ topic, partition }).deleteBefore(offset);
  }

  /** Calls `listener` whenever a topic's readable content changes; returns the function that stops it. */
  watch(listener: TopicListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private appendRecords(records: readonly OutgoingRecord[], options: { readonly createTopics: boolean; readonly mark?: TransactionMark }): AppendResult {
    if (!options.createTopics) this.assertTopicsExist(records);
    const placed = records.map((record) => {
      const log = this.place(record, options.createTopics);
      return { log, record: this.stamp(record, log) };
    });
    const batches = new Map<PartitionLog, UnplacedRecord[]>();
    for (const { log, record } of placed) {
      const batch = batches.get(log);
      if (batch === undefined) batches.set(log, [record]);
      else batch.push(record);
    }
    const refused = [...batches].flatMap(([log, batch]) => this.refusal(log, batch) ?? []);
    const refusedKeys = new Set(refused.map((r) => `${r.topic}:${r.partition}`));
    const positions: RecordPosition[] = [];
    const logs = new Set<PartitionLog>();
    for (const { log, record } of placed) {
      if (refusedKeys.has(`${log.topic}:${log.partition}`)) continue;
      const offset = log.append(record, options.mark);
      positions.push({ topic: log.topic, partition: log.partition, offset });
      logs.add(log);
    }
    for (const topic of new Set(positions.map((p) => p.topic))) this.notify(topic);
    return { positions, logs: [...logs], refused };
  }

  /** Why the broker would refuse this partition's batch as a whole, if it would. */
  private refusal(log: PartitionLog, batch: readonly UnplacedRecord[]): RefusedBatch | undefined {
    const where = { topic: log.topic, partition: log.partition };
    // Kafka refuses keyless records on compacted topics: compaction could never remove them.
    if (this.topic(log.topic).compacted && batch.some((record) => record.key === null)) {
      return { ...where, error: 'INVALID_RECORD', reason: `compacted topic ${log.topic} cannot accept a record without a key` };
    }
    const bytes = recordBatchBytes(batch);
    const limit = this.maxMessageBytes(log.topic);
    if (bytes > limit) return { ...where, error: 'MESSAGE_TOO_LARGE', reason: `the record batch has ${bytes} bytes, over max.message.bytes ${limit}` };
    return undefined;
  }

  /** Kafka fails the whole produce when one topic is unknown, before writing any partition. */
  private assertTopicsExist(records: readonly OutgoingRecord[]): void {
    for (const record of records) checkTopicName(record.topic);
    const missing = [...new Set(records.map((r) => r.topic))].filter((topic) => !this.topicLogs.has(topic));
    if (missing.length > 0) throw unknownTopics(missing, 'produce', 'TRANSPORT_FAILED');
  }

  /** The record as the log keeps it: its own copies of the bytes, and a timestamp. */
  private stamp(record: OutgoingRecord, log: PartitionLog): UnplacedRecord {
    return {
      topic: log.topic,
      partition: log.partition,
      key: copy(record.key ?? null),
      value: copy(record.value ?? null),
      headers: copyHeaders(record.headers),
      timestamp: record.timestamp ?? this.now(),
    };
  }

  /** Validates one record and picks its partition: explicit, else by key, else round-robin. */
  private place(record: OutgoingRecord, createTopics: boolean): PartitionLog {
    checkTopicName(record.topic);
    if (createTopics) this.ensureTopic(record.topic);
    const topic = this.topic(record.topic);
    const key = record.key ?? null;
    if (record.timestamp !== undefined && !Number.isFinite(record.timestamp)) {
      throw new TransportError(`record timestamp must be a finite number of milliseconds, got ${record.timestamp}`, { context: { topic: record.topic } });
    }
    if (record.partition !== undefined) return topic.partition(record.partition);
    if (key !== null) return topic.partition(partitionForKey(key, topic.partitions.length));
    const partition = topic.roundRobin;
    topic.roundRobin = (partition + 1) % topic.partitions.length;
    return topic.partition(partition);
  }

  private topic(topic: string): TopicLog {
    const log = this.topicLogs.get(topic);
    if (log === undefined) throw new TransportError(`topic ${topic} does not exist`, { context: { topic } });
    return log;
  }

  private partitionLog(tp: TopicPartition): PartitionLog {
    return this.topic(tp.topic).partition(tp.partition);
  }

  private notify(topic: string): void {
    for (const listener of this.listeners) listener(topic);
  }
}

function copy(bytes: Buffer | null): Buffer | null {
  return bytes === null ? null : Buffer.from(bytes);
}

/** Copies the producer's headers, so mutating them after `send` cannot rewrite history. */
function copyHeaders(headers: Headers | undefined): Headers {
  const copied: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(headers ?? {})) copied[name] = Buffer.from(value);
  return Object.freeze(copied);
}
