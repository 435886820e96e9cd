/**
 * Commits what the tasks have finished. At-least-once: plain offset commits of every task's
 * highest contiguous completed offset, one commit at a time. Exactly-once: each task commits its
 * own transaction (outputs and input offset together, see `ExactlyOnceTask`), all at once.
 */
import { toError } from '../errors/streams-error.ts';
import type { TopicPartitionOffset, TransportConsumer } from '../transport/transport.ts';
import { tpKey } from '../transport/topic-partition-key.ts';
import type { ExactlyOnceTask } from './exactly-once-task.ts';
import { publish } from './instrumentation.ts';
import type { Logger } from './logger.ts';
import type { Task } from './task.ts';

export interface CommitCoordinatorDependencies {
  readonly app: string;
  readonly logger: Logger;
  /** At-least-once tasks. */
  readonly tasks: () => Iterable<Task>;
  readonly exactlyOnceTasks: () => Iterable<ExactlyOnceTask>;
  readonly consumer: () => TransportConsumer | undefined;
}

export class CommitCoordinator {
  private readonly committed = new Map<string, number>();
  private committing: Promise<void> = Promise.resolve();

  constructor(private readonly deps: CommitCoordinatorDependencies) {}

  async commit(): Promise<void> {
    // Each exactly-once task runs one commit at a time itself; a slow one must not hold the others.
    const transactions = [...this.deps.exactlyOnceTasks()].map((task) => task.commit());
    this.committing = this.committing.then(() => this.commitOffsets());
    await Promise.all([this.committing, ...transactions]);
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

  private async commitOffsets(): Promise<void> {
    const offsets = this.pendingOffsets();
    const consumer = this.deps.consumer();
    if (offsets.length === 0 || !consumer) return;
    try {
      await consumer.commit(offsets);
      for (const tp of offsets) this.committed.set(tpKey(tp), tp.offset);
      publish({ type: 'commit', app: this.deps.app, offsets });
    } catch (error) {
      // The offsets stay pending and go with the next commit; if the partitions moved, their new
      // owner re-reads from the last commit, which repeats work but loses nothing.
      this.deps.logger.warn({ err: toError(error) }, 'commit failed; will retry');
      publish({ type: 'commit.failed', app: this.deps.app, error: toError(error) });
    }
  }
}
