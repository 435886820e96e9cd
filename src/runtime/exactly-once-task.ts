/**
 * One input partition under exactly-once: its task, and the transactional producer that belongs to
 * it alone (transactional id `<application-id>-<topic>-<partition>`), as Kafka Streams did before
 * KIP-447. kafkajs' `sendOffsets` carries no group generation, so the group cannot refuse a zombie's
 * offsets; the transactional id does instead:
 *
 * 1. Opening (on assignment, and again after a failure) connects a new producer for the task's id
 *    and initialises its transactions. That initialisation fences every older producer with the id (a previous owner paused past its
 *    session timeout can no longer send or commit) and settles its open transaction.
 * 2. Only then is the group's committed offset read; the task starts there, ignoring anything below
 *    it (the consumer may have read an older committed offset before the fence), and the consumer
 *    is told to deliver from there.
 * 3. Records go into the task's open transaction as they come (`TransactionalOutput`). A commit
 *    holds intake, asks the task to flush, waits until nothing taken in is in flight, then commits
 *    the outputs with the task's position: the transaction holds exactly the outputs of the offsets
 *    it commits.
 * 4. A failure (fenced, a send refused, the broker gone) concerns this task only: its transaction is
 *    aborted, the task closed with its uncommitted work, and the task opened again from step 1 with
 *    capped exponential backoff, for as long as the app runs.
 *
 * The partition stays paused while the task is not open, so no batch is taken in without a fence.
 */
import { type StreamsError, toError } from '../errors/streams-error.ts';
import type { TopicPartition, Transport, TransportConsumer, TransportProducer } from '../transport/transport.ts';
import { waitAtMost } from '../transport/wait-at-most.ts';
import type { BatchingOptions } from './batching-output.ts';
import { publish } from './instrumentation.ts';
import type { Logger } from './logger.ts';
import type { RecordOutput } from './record-output.ts';
import type { Task } from './task.ts';
import { TransactionalOutput } from './transactional-output.ts';
import type { IncomingRecord } from '../transport/transport.ts';

export interface ExactlyOnceTaskDependencies {
  /** Application id: consumer group and transactional id prefix. */
  readonly app: string;
  readonly partition: TopicPartition;
  readonly transport: Transport;
  readonly consumer: TransportConsumer;
  readonly logger: Logger;
  readonly clientId: string;
  readonly producerBatch?: BatchingOptions;
  /** The group's committed offset for the partition, read after the fence. */
  readonly committedOffset: () => Promise<number | undefined>;
  /**
   * A new task writing to `output`; `onFreed` must be called whenever records leave its window.
   * `committed` is the offset the task starts from (for a table task: the end of what only rebuilds its store).
   */
  readonly createTask: (output: RecordOutput, onFreed: () => void, committed: number | undefined) => Task;
  /** Where the consumer starts reading, given the committed offset; default the committed offset (a table's task reads from 0). */
  readonly seekOffset?: (committed: number | undefined) => number;
  /**
   * Runs after the fence, before the task is created: waits until the stores the task reads are
   * restored; `reopen` is true after a failed transaction, when stores the task writes must be
   * rebuilt from their changelogs (they hold the aborted transaction's updates).
   */
  readonly beforeOpen?: (reopen: boolean, closed: AbortSignal) => Promise<void>;
  /** Told each offset this task committed, once its transaction committed. */
  readonly onCommitted?: (offset: number) => void;
  /** How long a commit waits for the task's in-flight records before trying at the next interval. */
  readonly drainTimeoutMs: number;
  /** Backoff between attempts to open the task; default 200 ms doubling up to 10 s. */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
}

/** A producer that cannot abort in this time leaves it to the next owner's initialisation. */
const ABORT_TIMEOUT_MS = 5_000;

/** Transactional id of a task: stable across instances and restarts, unique per input partition. */
export function taskTransactionalId(app: string, tp: TopicPartition): string {
  return `${app}-${tp.topic}-${tp.partition}`;
}

export class ExactlyOnceTask {
  private task: Task | undefined;
  private output: TransactionalOutput | undefined;
  private producer: TransportProducer | undefined;
  private startOffset = 0;
  private opened = false;
  private committed: number | undefined;
  private closed = false;
  private opening: Promise<void> = Promise.resolve();
  private committing: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;
  private hold: Promise<void> | undefined;
  private batches = 0;
  private readonly batchIdleWaiters: (() => void)[] = [];
  private readonly drainWaiters: (() => void)[] = [];
  private wakeBackoff: (() => void) | undefined;
  /** Aborted when the task closes, so a `beforeOpen` still waiting gives up. */
  private readonly closing = new AbortController();

  constructor(private readonly deps: ExactlyOnceTaskDependencies) {}

  get id(): string {
    return taskTransactionalId(this.deps.app, this.deps.partition);
  }

  /** The task taking records now, or undefined while it is being opened, recovered or closed. */
  get current(): Task | undefined {
    return this.task;
  }

  /** Pauses the partition and opens the task in the background (fence, committed offset, resume). */
  start(): void {
    this.deps.consumer.pause([this.deps.partition]);
    this.opening = this.openWithRetries(0);
  }

  /** Whether `task` is the open task and would take this record (not below the committed offset). */
  accepts(task: Task, record: IncomingRecord): boolean {
    return task === this.task && record.offset >= this.startOffset && task.accepts(record);
  }

  /** Resolves when intake may go on (a commit holds it while it waits for in-flight records). */
  intakeOpen(): Promise<void> | undefined {
    return this.hold;
  }

  /** Counts a batch of this partition as being handled while `handle` runs. */
  async track(handle: () => Promise<void>): Promise<void> {
    this.batches++;
    try {
      await handle();
    } finally {
      this.batches--;
      if (this.batches === 0) for (const wake of this.batchIdleWaiters.splice(0)) wake();
    }
  }

  /** Records of the current task left its window (completed, contiguously from the start). */
  private onFreed(): void {
    if (this.task !== undefined && this.task.progress.inFlight === 0) for (const wake of this.drainWaiters.splice(0)) wake();
  }

  /**
   * Commits the task's outputs and position in one transaction; one commit at a time, and calls
   * made while one waits to start share it (a slow drain must not pile up timer ticks).
   */
  commit(): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    const next = this.committing.then(() => {
      this.queued = undefined;
      return this.commitOnce();
    });
    this.queued = next;
    this.committing = next;
    return next;
  }

  private async commitOnce(): Promise<void> {
    const { task, output } = this;
    if (task === undefined || output === undefined || task.isClosed || this.closed) return;
    const position = task.position;
    if (position === undefined || position <= (this.committed ?? -1)) return;
    let release = () => {};
    this.hold = new Promise((resolve) => (release = resolve));
    try {
      task.flush();
      if (!(await this.drained(task))) {
        this.deps.logger.debug({ task: this.id, inFlight: task.progress.inFlight }, 'records still in flight; committing at the next interval');
        return;
      }
      if (task !== this.task || task.isClosed) return;
      // Intake is held and nothing is in flight: every output of the offsets below `offset` was
      // acknowledged into the open transaction, and nothing of a later offset was written.
      const offset = task.position ?? position;
      const offsets = [{ ...this.deps.partition, offset }];
      await output.commit(offsets[0] as (typeof offsets)[number]);
      this.committed = offset;
      this.deps.onCommitted?.(offset);
      publish({ type: 'commit', app: this.deps.app, offsets });
    } catch {
      // The output has reported the failure (onFailed), which recovers the task.
    } finally {
      this.hold = undefined;
      release();
    }
  }

  private async drained(task: Task): Promise<boolean> {
    if (task.progress.inFlight === 0) return true;
    await waitAtMost(new Promise<void>((resolve) => this.drainWaiters.push(resolve)), this.deps.drainTimeoutMs);
    return task.progress.inFlight === 0;
  }

  /**
   * Gives the partition up: commits what is done (when `commit`), then aborts what is left, closes
   * the task and disconnects its producer. Nothing of this task runs afterwards.
   */
  async close(options: { readonly commit: boolean }): Promise<void> {
    if (options.commit && !this.closed) await this.commit();
    this.closed = true;
    this.closing.abort();
    this.wakeBackoff?.();
    this.task?.close();
    this.task = undefined;
    const { output, producer } = this;
    this.output = undefined;
    this.producer = undefined;
    if (output !== undefined) await waitAtMost(output.abort(), ABORT_TIMEOUT_MS);
    await output?.close();
    await producer?.disconnect().catch(() => undefined);
    // An opening in progress sees `closed` after its current step and disconnects its producer.
    await this.opening;
  }

  /** A send or commit failed: this task alone starts again from its last committed offset. */
  private recover(failed: TransactionalOutput, error: StreamsError): void {
    if (failed !== this.output || this.closed) return;
    publish({ type: 'error', app: this.deps.app, error });
    this.deps.logger.warn({ err: error, task: this.id }, 'transaction failed; re-reading the task from its last committed offset');
    this.deps.consumer.pause([this.deps.partition]);
    this.task?.close();
    this.task = undefined;
    const producer = this.producer;
    this.output = undefined;
    this.producer = undefined;
    this.opening = (async () => {
      await waitAtMost(failed.abort(), ABORT_TIMEOUT_MS);
      await failed.close();
      await producer?.disconnect().catch(() => undefined);
      await this.openWithRetries(1);
    })();
  }

  private async openWithRetries(firstAttempt: number): Promise<void> {
    for (let attempt = firstAttempt; !this.closed; attempt++) {
      if (attempt > 0) await this.backoff(attempt);
      if (this.closed) return;
      try {
        await this.open();
        return;
      } catch (error) {
        const producer = this.producer;
        this.producer = undefined;
        await producer?.disconnect().catch(() => undefined);
        if (this.closed) return;
        this.deps.logger.warn({ err: toError(error), task: this.id, attempt }, 'opening the task failed; retrying');
      }
    }
  }

  private async open(): Promise<void> {
    const { transport, partition, consumer } = this.deps;
    const producer = transport.producer({ clientId: `${this.deps.clientId}-${partition.topic}-${partition.partition}`, transactionalId: this.id });
    this.producer = producer;
    const abandoned = async () => {
      if (!this.closed) return false;
      await producer.disconnect().catch(() => undefined);
      return true;
    };
    await producer.connect();
    if (await abandoned()) return;
    // Initialises the transactional id: fences the previous owner of the task and settles its open
    // transaction. kafkajs does this on the first `transaction()`, not on `connect()`; an empty
    // transaction aborts locally, without a request.
    await (await producer.transaction()).abort();
    if (await abandoned()) return;
    // Read after the fence: no zombie can move it any more.
    const committed = await this.deps.committedOffset();
    if (await abandoned()) return;
    // A batch of the closed task may still be running; the seek must come after it.
    await this.batchesIdle();
    if (await abandoned()) return;
    if (this.deps.beforeOpen !== undefined) {
      await this.deps.beforeOpen(this.opened, this.closing.signal);
      if (await abandoned()) return;
    }
    const output: TransactionalOutput = new TransactionalOutput(producer, {
      ...this.deps.producerBatch,
      app: this.deps.app,
      groupId: this.deps.app,
      onFailed: (error) => this.recover(output, error),
    });
    this.output = output;
    this.committed = committed;
    this.startOffset = this.deps.seekOffset?.(committed) ?? committed ?? 0;
    this.opened = true;
    this.task = this.deps.createTask(output, () => this.onFreed(), committed);
    consumer.seek(partition, this.startOffset);
    consumer.resume([partition]);
  }

  private batchesIdle(): Promise<void> {
    if (this.batches === 0) return Promise.resolve();
    return new Promise((resolve) => this.batchIdleWaiters.push(resolve));
  }

  private backoff(attempt: number): Promise<void> {
    const initial = this.deps.backoff?.initialMs ?? 200;
    const max = this.deps.backoff?.maxMs ?? 10_000;
    const delay = Math.min(max, initial * 2 ** Math.min(attempt - 1, 20)) * (0.5 + Math.random() / 2);
    return new Promise((resolve) => {
      const timer = setTimeout(done, delay);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      function done() {
        resolve();
      }
      this.wakeBackoff = wake;
    });
  }
}
