/**
 * Which partitions this group member owns, and the rebalance callbacks that follow from changes to
 * that set. Callbacks run one at a time in the order the changes happened; a revoke waits until the
 * batches being handled have settled, so `onRevoked` sees the member's work as finished.
 */
import type { Logger } from 'kafkajs';
import type { TopicPartition } from '../transport.ts';
import { describePartitions } from './topic-partitions.ts';
import { tpKey } from '../topic-partition-key.ts';

export interface OwnershipCallbacks {
  onAssigned?(partitions: readonly TopicPartition[]): Promise<void> | void;
  onRevoked?(partitions: readonly TopicPartition[]): Promise<void> | void;
}

export class PartitionOwnership {
  private readonly owned = new Map<string, TopicPartition>();
  /** Given up but still counted in `assignment()` until their `onRevoked` settles, as Java's consumer does. */
  private readonly revoking = new Map<string, TopicPartition>();
  private callbacks: OwnershipCallbacks = {};
  /** The tail of the callback queue; every revoke and assign is chained onto it. */
  private queue: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly logger: Logger,
    /** Told synchronously about partitions that stop being owned (to drop their paused state). */
    private readonly onLost: (partitions: readonly TopicPartition[]) => void,
  ) {}

  setCallbacks(callbacks: OwnershipCallbacks): void {
    this.callbacks = callbacks;
  }

  owns(tp: TopicPartition): boolean {
    return this.owned.has(tpKey(tp));
  }

  /** The partitions batches may be delivered for. */
  list(): TopicPartition[] {
    return [...this.owned.values()];
  }

  /** The owned partitions plus those whose `onRevoked` is still running. */
  assignment(): TopicPartition[] {
    const all = new Map([...this.revoking, ...this.owned]);
    return [...all.values()];
  }

  /** After this, assignments from late joins are ignored: the member is leaving. */
  close(): void {
    this.closed = true;
  }

  /**
   * Gives up every owned partition: they stop counting as owned now, and `onRevoked` runs once the
   * batches in flight have settled. Resolves when every callback queued so far has settled.
   */
  revokeAll(reason: string): Promise<void> {
    if (this.owned.size === 0) return this.settled();
    const lost = this.list();
    this.logger.debug('revoking partitions', { reason, partitions: describePartitions(lost) });
    return this.revoke(lost);
  }

  /**
   * Applies the assignment of a completed group join: partitions no longer in it are revoked (only
   * when no revoke preceded the join), new ones are passed to `onAssigned`.
   */
  assign(partitions: readonly TopicPartition[]): void {
    if (this.closed) return;
    const next = new Map(partitions.map((tp) => [tpKey(tp), tp] as const));
    const lost = this.list().filter((tp) => !next.has(tpKey(tp)));
    if (lost.length > 0) void this.revoke(lost);
    const added = [...next].filter(([key]) => !this.owned.has(key)).map(([, tp]) => tp);
    for (const tp of added) this.owned.set(tpKey(tp), tp);
    if (added.length > 0) void this.enqueue('onAssigned', added, async () => this.callbacks.onAssigned?.(added));
  }

  /** Resolves once every queued callback has settled, including ones queued while waiting. */
  async settled(): Promise<void> {
    for (;;) {
      const tail = this.queue;
      await tail;
      if (tail === this.queue) return;
    }
  }

  /**
   * Counts a batch as in flight while `handle` runs. Call it synchronously after checking `owns`,
   * so that a revoke starting in between cannot miss the batch.
   */
  async track(handle: () => Promise<void>): Promise<void> {
    this.inFlight++;
    try {
      await handle();
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /** Resolves when no batch is in flight. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private revoke(lost: readonly TopicPartition[]): Promise<void> {
    for (const tp of lost) {
      this.owned.delete(tpKey(tp));
      this.revoking.set(tpKey(tp), tp);
    }
    this.onLost(lost);
    return this.enqueue('onRevoked', lost, async () => {
      try {
        await this.idle();
        await this.callbacks.onRevoked?.(lost);
      } finally {
        for (const tp of lost) this.revoking.delete(tpKey(tp));
      }
    });
  }

  private enqueue(name: string, partitions: readonly TopicPartition[], run: () => Promise<void>): Promise<void> {
    const next = this.queue.then(run).catch((error: unknown) => {
      // A failing callback must not stop the consumer: it is logged, and the next callback runs.
      this.logger.error(`${name} callback failed`, { partitions: describePartitions(partitions), error });
    });
    this.queue = next;
    return next;
  }
}
