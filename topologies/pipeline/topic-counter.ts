/**
 * Counts what the pipeline wrote since it started, by reading its topics as a downstream team
 * would (read_committed, its own consumer group): ratings on `ratings`, records on
 * `ratings_enriched`, and dead letters by coarse reason. Reading, not counting inside the apps,
 * makes the numbers those of records that are really there: an aborted transaction's records are
 * not counted, nor offsets taken by transaction markers.
 *
 * On a topic that already has records (a real broker used before), each partition is read from
 * where it ended when the counter started.
 */
import { randomBytes } from 'node:crypto';
import type { Transport, TransportConsumer } from '../../src/index.ts';
import { deadLetterReason, noDeadLetters, type DeadLetterReason } from './summary.ts';

export interface TopicCounterOptions {
  readonly transport: Transport;
  readonly ingestedTopic: string;
  readonly enrichedTopic: string;
  readonly deadLetterTopics: readonly string[];
  /** Names of HTTP sink nodes, whose production failures count as `http` dead letters. */
  readonly httpNodes: ReadonlySet<string>;
  /** Default `pipeline-summary-<random>`. */
  readonly groupId?: string;
}

export interface TopicCounts {
  readonly ingested: number;
  readonly enriched: number;
  readonly deadLetters: Readonly<Record<DeadLetterReason, number>>;
}

export class TopicCounter {
  private consumer: TransportConsumer | undefined;
  /** Per partition of the ingested topic, where it ended when the counter started. */
  private readonly started = new Map<number, number>();
  /** Per `topic:partition`, the first offset not counted yet. */
  private readonly from = new Map<string, number>();
  private ingested = 0;
  private enriched = 0;
  private readonly deadLetters = noDeadLetters();
  private readonly deadLetterTopics: ReadonlySet<string>;
  /** Per partition of the ingested topic, offsets of the records read that a group may not have consumed yet. */
  private readonly pending = new Map<number, number[]>();

  constructor(private readonly options: TopicCounterOptions) {
    this.deadLetterTopics = new Set(options.deadLetterTopics);
  }

  private get topics(): string[] {
    return [this.options.ingestedTopic, this.options.enrichedTopic, ...this.options.deadLetterTopics];
  }

  /** Notes where each partition ends now, then reads from there on. */
  async start(): Promise<void> {
    const { transport } = this.options;
    const admin = transport.admin();
    await admin.connect();
    try {
      for (const topic of this.topics) {
        for (const [partition, end] of await admin.endOffsets(topic)) {
          this.from.set(`${topic}:${partition}`, end);
          if (topic === this.options.ingestedTopic) {
            this.started.set(partition, end);
            this.pending.set(partition, []);
          }
        }
      }
    } finally {
      await admin.disconnect();
    }
    const consumer = transport.consumer({ groupId: this.options.groupId ?? `pipeline-summary-${randomBytes(4).toString('hex')}`, isolationLevel: 'read_committed' });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: this.topics, fromBeginning: false });
    await consumer.run({
      partitionsConsumedConcurrently: 3,
      onAssigned: (partitions) => {
        for (const tp of partitions) consumer.seek(tp, this.from.get(`${tp.topic}:${tp.partition}`) ?? 0);
      },
      eachBatch: async (batch) => {
        // Past what was counted: a batch delivered again (after a consumer error) is not counted twice.
        const key = `${batch.topic}:${batch.partition}`;
        const from = this.from.get(key) ?? 0;
        const records = batch.records.filter((record) => record.offset >= from);
        const last = records.at(-1);
        if (last !== undefined) this.from.set(key, last.offset + 1);
        if (batch.topic === this.options.ingestedTopic) {
          this.ingested += records.length;
          const offsets = this.pending.get(batch.partition) ?? [];
          for (const record of records) offsets.push(record.offset);
          this.pending.set(batch.partition, offsets);
        }
        else if (batch.topic === this.options.enrichedTopic) this.enriched += records.length;
        else if (this.deadLetterTopics.has(batch.topic)) {
          for (const record of records) this.deadLetters[deadLetterReason(record.headers, this.options.httpNodes)] += 1;
        }
      },
    });
  }

  counts(): TopicCounts {
    return { ingested: this.ingested, enriched: this.enriched, deadLetters: { ...this.deadLetters } };
  }

  /**
   * Records of the ingested topic that a consumer group has not consumed, given its committed
   * offsets there: the records this counter read at or after each committed offset. Unlike end
   * offset minus committed offset it counts records, not offsets (transaction markers take offsets
   * too). Call it regularly with the group's latest commits: what they cover is forgotten.
   */
  unconsumed(committed: ReadonlyMap<number, number>): number {
    let total = 0;
    for (const [partition, offsets] of this.pending) {
      const position = committed.get(partition) ?? 0;
      let consumed = 0;
      while (consumed < offsets.length && (offsets[consumed] ?? 0) < position) consumed += 1;
      offsets.splice(0, consumed);
      total += offsets.length;
      // Records before this counter started (a real broker used before) that the group has not reached.
      const from = this.started.get(partition) ?? 0;
      if (position < from) total += from - position;
    }
    return total;
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.disconnect();
  }
}
