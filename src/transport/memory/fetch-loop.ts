import type { BatchContext, ConsumedBatch, TopicPartition } from '../transport.ts';
import type { MemoryBroker } from './memory-broker.ts';
import type { IsolationLevel } from './partition-log.ts';
import { tpKey } from '../topic-partition-key.ts';

export interface FetchLoopOptions {
  readonly broker: MemoryBroker;
  readonly isolationLevel: IsolationLevel;
  readonly maxBytesPerPartition: number;
  readonly partitionsConsumedConcurrently: number;
  readonly eachBatch: (batch: ConsumedBatch, context: BatchContext) => Promise<void>;
  /** First delay before re-delivering a rejected batch; doubles per consecutive failure, up to 20 times it. */
  readonly retryBackoffMs: number;
  readonly isPaused: (tp: TopicPartition) => boolean;
  readonly onBatchError: (error: unknown, tp: TopicPartition) => void;
  /** False while the member is out of its group (evicted, not yet rejoined): nothing is fetched, and batches should stop. */
  readonly inGroup: () => boolean;
  /** The batch context's heartbeat. */
  readonly heartbeat: () => Promise<void>;
  /** Told when a batch is handed to `eachBatch` and when it settles, for the session clock. */
  readonly onBatchStart: () => void;
  readonly onBatchEnd: () => void;
  /** Told when a fetch moved the position past offsets without a batch to deliver (markers, aborted records, gaps). */
  readonly onPosition: (tp: TopicPartition, nextOffset: number) => void;
}

interface PartitionFetch {
  readonly tp: TopicPartition;
  /** Next offset to fetch; moves past a batch only once its handler resolved. */
  position: number;
  inFlight: Promise<void> | undefined;
  revoking: boolean;
  failures: number;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set by `seek` while a batch is in flight; becomes the position when that batch settles. */
  seekTo?: number | undefined;
}

/**
 * One member's fetching: a batch per partition at a time, in offset order, for up to
 * `partitionsConsumedConcurrently` partitions at once, woken by the broker when records arrive (no
 * polling). A rejected batch is delivered again from its first offset after a backoff, as kafkajs
 * retries a failed `eachBatch` from the last resolved offset: at-least-once, never skipped.
 */
export class FetchLoop {
  private readonly partitions = new Map<string, PartitionFetch>();
  private readonly unwatch: () => void;
  private stopped = false;
  private scheduled = false;
  /** Where the next pump starts looking, so busy partitions cannot starve the others. */
  private cursor = 0;

  constructor(private readonly options: FetchLoopOptions) {
    this.unwatch = options.broker.watch((topic) => {
      for (const state of this.partitions.values()) {
        if (state.tp.topic === topic) return this.schedule();
      }
    });
  }

  /** Starts fetching a newly assigned partition at `position`. */
  add(tp: TopicPartition, position: number): void {
    this.partitions.set(tpKey(tp), { tp, position, inFlight: undefined, revoking: false, failures: 0, retryTimer: undefined });
    this.schedule();
  }

  /** The next batch of `tp` starts at `offset`; a batch in flight stops running and does not move the position. */
  seek(tp: TopicPartition, offset: number): void {
    const state = this.partitions.get(tpKey(tp));
    if (state === undefined) return;
    if (state.inFlight === undefined) state.position = offset;
    else state.seekTo = offset;
    this.schedule();
  }

  /** Stops fetching these partitions; resolves once their in-flight batches have settled. */
  async remove(partitions: readonly TopicPartition[]): Promise<void> {
    const states = partitions.map((tp) => this.partitions.get(tpKey(tp))).filter((state) => state !== undefined);
    for (const state of states) {
      state.revoking = true;
      clearTimeout(state.retryTimer);
    }
    await Promise.all(states.map((state) => state.inFlight));
    for (const state of states) if (this.partitions.get(tpKey(state.tp)) === state) this.partitions.delete(tpKey(state.tp));
  }

  /** Starts no more batches and makes `isRunning()` false for the ones in flight; `remove` or `drain` wait for them. */
  halt(): void {
    this.stopped = true;
    this.unwatch();
    for (const state of this.partitions.values()) clearTimeout(state.retryTimer);
  }

  /** Resolves once every in-flight batch has settled. */
  async drain(): Promise<void> {
    await Promise.all([...this.partitions.values()].map((state) => state.inFlight));
  }

  /** Re-examines the partitions soon; coalesced so a burst of appends costs one pass. */
  schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.stopped) return;
    const states = [...this.partitions.values()];
    let active = states.filter((state) => state.inFlight !== undefined).length;
    for (let i = 0; i < states.length && active < this.options.partitionsConsumedConcurrently; i++) {
      const index = (this.cursor + i) % states.length;
      const state = states[index];
      if (state === undefined || !this.ready(state)) continue;
      if (this.start(state)) {
        active++;
        this.cursor = index + 1;
      }
    }
  }

  private ready(state: PartitionFetch): boolean {
    return (
      state.inFlight === undefined && !state.revoking && state.retryTimer === undefined && !this.options.isPaused(state.tp) && this.options.inGroup()
    );
  }

  /** Fetches and hands over one batch; false when there was nothing to read. */
  private start(state: PartitionFetch): boolean {
    let fetched;
    try {
      fetched = this.options.broker.fetch(state.tp, state.position, {
        isolationLevel: this.options.isolationLevel,
        maxBytes: this.options.maxBytesPerPartition,
      });
    } catch {
      // The topic was deleted under us; the group's rebalance will take the partition away.
      return false;
    }
    if (fetched.records.length === 0) {
      const moved = fetched.nextOffset > state.position;
      state.position = fetched.nextOffset;
      if (moved) this.options.onPosition(state.tp, fetched.nextOffset);
      return false;
    }
    const batch: ConsumedBatch = {
      topic: state.tp.topic,
      partition: state.tp.partition,
      records: fetched.records,
      highWatermark: fetched.highWatermark,
      nextOffset: fetched.nextOffset,
    };
    const context: BatchContext = {
      heartbeat: this.options.heartbeat,
      isRunning: () =>
        !this.stopped && !state.revoking && state.seekTo === undefined && this.options.inGroup() && this.partitions.get(tpKey(state.tp)) === state,
    };
    const nextOffset = fetched.nextOffset;
    // Deferred one tick so `inFlight` is set before the handler can settle, even synchronously.
    this.options.onBatchStart();
    state.inFlight = Promise.resolve().then(() => this.handle(state, batch, context, nextOffset));
    return true;
  }

  private async handle(state: PartitionFetch, batch: ConsumedBatch, context: BatchContext, nextOffset: number): Promise<void> {
    try {
      await this.options.eachBatch(batch, context);
      state.position = nextOffset;
      state.failures = 0;
    } catch (error) {
      this.options.onBatchError(error, state.tp);
      state.failures++;
      if (!state.revoking && !this.stopped) {
        const delay = this.options.retryBackoffMs * Math.min(2 ** (state.failures - 1), 20);
        state.retryTimer = setTimeout(() => {
          state.retryTimer = undefined;
          this.schedule();
        }, delay);
      }
    } finally {
      if (state.seekTo !== undefined) {
        state.position = state.seekTo;
        state.seekTo = undefined;
        clearTimeout(state.retryTimer);
        state.retryTimer = undefined;
      }
      state.inFlight = undefined;
      this.options.onBatchEnd();
      this.schedule();
    }
  }
}
