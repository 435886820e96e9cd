/**
 * How far the rebuilding of stores has come: per topic-partition being read back (a table's source
 * topic, an aggregation's changelog, a global table's topic), the end offset it must reach and the
 * position reached. A partition is restored once the consumer's position (which counts transaction
 * markers the consumer never delivers) reaches the end offset read when restoring began.
 */
import { tpKey } from '../transport/topic-partition-key.ts';
import type { TopicPartition } from '../transport/transport.ts';
import { publish } from './instrumentation.ts';

interface Entry {
  readonly tp: TopicPartition;
  readonly store: string;
  readonly target: number;
  position: number;
  lastPublished: number;
}

/** Publishes a progress event at most every this many offsets per partition. */
const PUBLISH_EVERY = 10_000;

export class Restoration {
  private readonly entries = new Map<string, Entry>();
  private readonly waiters = new Set<{ readonly check: () => boolean; readonly resolve: () => void }>();

  private changed: () => void = () => {};

  constructor(private readonly app: string) {}

  /** Called whenever a partition starts or finishes restoring, or is forgotten. */
  onChange(listener: () => void): void {
    this.changed = listener;
  }

  /** Starts tracking `tp`, to be read from offset 0 up to `target`. */
  begin(tp: TopicPartition, store: string, target: number): void {
    this.entries.set(tpKey(tp), { tp, store, target, position: 0, lastPublished: 0 });
    this.publish(this.entries.get(tpKey(tp)) as Entry);
    this.wake();
  }

  /** Stops tracking (the partition was revoked). */
  forget(tp: TopicPartition): void {
    this.entries.delete(tpKey(tp));
    this.wake();
  }

  /** The consumer's position in `tp` moved to `nextOffset`. */
  advance(tp: TopicPartition, nextOffset: number): void {
    const entry = this.entries.get(tpKey(tp));
    if (entry === undefined || nextOffset <= entry.position) return;
    const wasDone = entry.position >= entry.target;
    entry.position = nextOffset;
    const done = entry.position >= entry.target;
    if ((done && !wasDone) || entry.position - entry.lastPublished >= PUBLISH_EVERY) this.publish(entry);
    if (done && !wasDone) this.wake();
  }

  /** Whether `tp` is tracked and has not reached its target yet. */
  isRestoring(tp: TopicPartition): boolean {
    const entry = this.entries.get(tpKey(tp));
    return entry !== undefined && entry.position < entry.target;
  }

  /** Whether every tracked partition with this partition number (or every one, for `undefined`) is restored. */
  isDone(partition?: number): boolean {
    for (const entry of this.entries.values()) {
      if ((partition === undefined || entry.tp.partition === partition) && entry.position < entry.target) return false;
    }
    return true;
  }

  /** Resolves once `isDone(partition)`. */
  whenDone(partition?: number): Promise<void> {
    if (this.isDone(partition)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.add({ check: () => this.isDone(partition), resolve }));
  }

  /** Offsets read and to read, summed over the partitions tracked. */
  progress(): { readonly restored: number; readonly total: number } {
    let restored = 0;
    let total = 0;
    for (const entry of this.entries.values()) {
      restored += Math.min(entry.position, entry.target);
      total += entry.target;
    }
    return { restored, total };
  }

  private publish(entry: Entry): void {
    entry.lastPublished = entry.position;
    publish({
      type: 'restore',
      app: this.app,
      store: entry.store,
      topic: entry.tp.topic,
      partition: entry.tp.partition,
      restored: Math.min(entry.position, entry.target),
      total: entry.target,
      done: entry.position >= entry.target,
    });
  }

  private wake(): void {
    this.changed();
    for (const waiter of [...this.waiters]) {
      if (!waiter.check()) continue;
      this.waiters.delete(waiter);
      waiter.resolve();
    }
  }
}
