/**
 * Commits what the tasks have finished, one commit at a time: plain offset commits under
 * at-least-once, or one Kafka transaction holding the finished outputs and their input offsets
 * under exactly-once.
 */
import { StreamsError, toError } from '../errors/streams-error.ts';
import type { TopicPartitionOffset, TransportConsumer, TransportProducer } from '../transport/transport.ts';
import { tpKey } from '../transport/topic-partition-key.ts';
import { publish } from './instrumentation.ts';
import type { Origin } from './lineage.ts';
import type { Logger } from './logger.ts';
import type { RecordOutput } from './record-output.ts';
import type { Task } from './task.ts';
import { TransactionalOutput } from './transactional-output.ts';

export interface CommitCoordinatorDependencies {
  readonly app: string;
  readonly logger: Logger;
  readonly exactlyOnce: boolean;
  readonly tasks: () => Iterable<Task>;
  readonly consumer: () => TransportConsumer | undefined;
  readonly producer: () => TransportProducer | undefined;
  readonly output: () => RecordOutput | undefined;
  /** A transaction failed and was aborted; the work it held is gone. */
  readonly onTransactionFailed: (error: StreamsError) => void;
}

export class CommitCoordinator {
  private readonly committed = new Map<string, number>();
  private committing: Promise<void> = Promise.resolve();
  private failures = 0;

  constructor(private readonly deps: CommitCoordinatorDependencies) {}

  /** Failed transactions since the last one that committed. */
  get failedTransactions(): number {
    return this.failures;
  }

  commit(): Promise<void> {
    this.committing = this.committing.then(() => (this.deps.exactlyOnce ? this.commitTransaction() : this.commitOffsets()));
    return this.committing;
  }

  /** Drops what is remembered of a partition whose task closed. */
  forget(key: string): void {
    this.committed.delete(key);
  }

  private pendingOffsets(): TopicPartitionOffset[] {
    const offsets: TopicPartitionOffset[] = [];
    for (const task of this.deps.tasks()) {
      const next = task.progress.committable();
      if (task.isClosed || next === undefined || next <= (this.committed.get(tpKey(task)) ?? -1)) continue;
      offsets.push({ topic: task.topic, partition: task.partition, offset: next });
    }
    return offsets;
  }

  private markCommitted(offsets: readonly TopicPartitionOffset[]): void {
    for (const tp of offsets) this.committed.set(tpKey(tp), tp.offset);
    publish({ type: 'commit', app: this.deps.app, offsets });
  }

  private async commitOffsets(): Promise<void> {
    const offsets = this.pendingOffsets();
    const consumer = this.deps.consumer();
    if (offsets.length === 0 || !consumer) return;
    try {
      await consumer.commit(offsets);
      this.markCommitted(offsets);
    } catch (error) {
      // The offsets stay pending and go with the next commit; if the partitions moved, their new
      // owner re-reads from the last commit, which repeats work but loses nothing.
      this.deps.logger.warn({ err: toError(error) }, 'commit failed; will retry');
      publish({ type: 'commit.failed', app: this.deps.app, error: toError(error) });
    }
  }

  private async commitTransaction(): Promise<void> {
    const output = this.deps.output();
    const producer = this.deps.producer();
    if (!producer || !(output instanceof TransactionalOutput)) return;
    const offsets = this.pendingOffsets();
    const limits = new Map(offsets.map((o) => [tpKey(o), o.offset]));
    const committable = (origin: Origin) => {
      const key = tpKey(origin.progress);
      return origin.offset < (limits.get(key) ?? this.committed.get(key) ?? -1);
    };
    const records = output.takeCommittable(committable);
    if (offsets.length === 0 && records.length === 0) return;
    let transaction;
    try {
      transaction = await producer.transaction();
      if (records.length > 0) await transaction.send(records);
      if (offsets.length > 0) await transaction.sendOffsets({ groupId: this.deps.app, offsets });
      await transaction.commit();
      this.markCommitted(offsets);
      this.failures = 0;
      if (records.length > 0) publish({ type: 'records.written', app: this.deps.app, count: records.length });
    } catch (error) {
      await transaction?.abort().catch(() => undefined);
      this.failures += 1;
      // The records of this transaction are gone and their inputs counted as done: the only safe
      // way on is to read again from the last committed offsets.
      this.deps.onTransactionFailed(
        new StreamsError(`transaction failed: ${toError(error).message}`, { code: 'TRANSACTION_FAILED', cause: error, retriable: true }),
      );
    }
  }
}
