/**
 * Retention for the in-memory transport of a long `npm start`: the memory broker keeps every record
 * until told otherwise, so without this a run grows by tens of MB a minute. Every `intervalMs` it
 * does what a Kafka broker does in the background: compacts the compacted topics (the users topic,
 * cursors, changelogs) and keeps the newest `keepPerPartition` offsets of every other partition.
 *
 * As with Kafka's retention, a reader further behind than that loses the records it had not read;
 * the pipeline's readers are normally a second behind, not minutes.
 */
import type { MemoryBroker } from '../../src/index.ts';

export interface MemoryRetentionOptions {
  readonly broker: MemoryBroker;
  /** Offsets kept per partition of a topic that is not compacted; default 5,000. */
  readonly keepPerPartition?: number;
  /** Default 10,000 ms. */
  readonly intervalMs?: number;
}

export class MemoryRetention {
  private timer: NodeJS.Timeout | undefined;
  private readonly keep: number;
  private readonly totals = { compacted: 0, deleted: 0 };

  constructor(private readonly options: MemoryRetentionOptions) {
    this.keep = options.keepPerPartition ?? 5_000;
    if (!Number.isInteger(this.keep) || this.keep < 1) throw new RangeError(`memory retention: keepPerPartition must be a whole number >= 1, got ${this.keep}`);
  }

  start(): void {
    this.timer ??= setInterval(() => this.runOnce(), this.options.intervalMs ?? 10_000);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Entries removed so far: by compaction, and by keeping only the newest offsets. */
  stats(): { readonly compacted: number; readonly deleted: number } {
    return { ...this.totals };
  }

  /** One round over every topic; returns what it removed. */
  runOnce(): { readonly compacted: number; readonly deleted: number } {
    const { broker } = this.options;
    let compacted = 0;
    let deleted = 0;
    for (const topic of broker.topics()) {
      if ((broker.topicConfig(topic)['cleanup.policy'] ?? '').includes('compact')) {
        compacted += broker.compact(topic);
        continue;
      }
      for (let partition = 0; partition < broker.partitionCount(topic); partition++) {
        const keepFrom = broker.endOffset(topic, partition) - this.keep;
        if (keepFrom > broker.startOffset(topic, partition)) deleted += broker.deleteRecords(topic, partition, keepFrom);
      }
    }
    this.totals.compacted += compacted;
    this.totals.deleted += deleted;
    return { compacted, deleted };
  }
}
