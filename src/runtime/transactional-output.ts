/**
 * Exactly-once output of one task: records go into the task's open Kafka transaction as they come,
 * gathered into batches (one `send` per batch, never one awaited send per record). A record's
 * lineage is released only once its send was acknowledged, so the in-flight bound holds under
 * exactly-once as it does under at-least-once, and nothing waits in memory for a commit.
 *
 * The transaction commits (with the task's input offset) when the task says so: the caller makes
 * sure that every output of the inputs below that offset was written and that no output of a later
 * input was (see `ExactlyOnceTask.commit`).
 *
 * Any failure (a send refused, the producer fenced by a newer owner of the task) ends this output:
 * `onFailed` is told once, the open transaction can only be aborted, and later writes are dropped.
 * The task is closed by then, so dropping loses nothing: its inputs are read again from the last
 * committed offset.
 */
import { StreamsError, toError } from '../errors/streams-error.ts';
import type { OutgoingRecord, TopicPartitionOffset, TransportProducer, TransportTransaction } from '../transport/transport.ts';
import type { BatchingOptions } from './batching-output.ts';
import { publish } from './instrumentation.ts';
import { releaseLineage, type Lineage } from './lineage.ts';
import type { RecordOutput } from './record-output.ts';
import { SendQueue, halves } from './send-queue.ts';

interface Pending {
  readonly record: OutgoingRecord;
  readonly lineage: Lineage;
  readonly onError: (error: Error) => void;
}

/** A record too large for the broker or the request: refused before it joined the transaction. */
function tooLarge(error: unknown): boolean {
  const e = toError(error);
  return (e instanceof StreamsError && e.code === 'RECORD_TOO_LARGE') || /RECORD_TOO_LARGE|MESSAGE_TOO_LARGE/.test(e.message);
}

export interface TransactionalOutputOptions extends BatchingOptions {
  readonly app: string;
  readonly groupId: string;
  /** Called once, synchronously, when a send or the transaction failed. */
  readonly onFailed: (error: StreamsError) => void;
}

export class TransactionalOutput implements RecordOutput {
  private readonly queue: SendQueue<Pending>;
  private transaction: Promise<TransportTransaction> | undefined;
  private failure: StreamsError | undefined;
  private closed = false;

  constructor(
    private readonly producer: TransportProducer,
    private readonly options: TransactionalOutputOptions,
  ) {
    this.queue = new SendQueue((batch) => this.send(batch), options);
  }

  /** The error that ended this output, if one did. */
  get error(): StreamsError | undefined {
    return this.failure;
  }

  write(record: OutgoingRecord, lineage: Lineage, onError: (error: Error) => void): void {
    // A failed or closed output belongs to a closed task: its inputs are read again, the record
    // is dropped. Failures of the transaction never go to the production error policy (the
    // transaction is retried); only a record too large to write does (see `send`).
    if (this.failure !== undefined || this.closed) {
      releaseLineage(lineage);
      return;
    }
    this.queue.add({ record, lineage, onError });
  }

  /** Sends what is waiting; resolves once every send so far was acknowledged or failed. */
  flush(): Promise<void> {
    return this.queue.flush();
  }

  private async send(batch: Pending[]): Promise<void> {
    if (this.failure === undefined && !this.closed) {
      try {
        const transaction = await this.open();
        await transaction.send(batch.map((pending) => pending.record));
        publish({ type: 'records.written', app: this.options.app, count: batch.length });
      } catch (error) {
        if (tooLarge(error)) {
          // A record too large to write would fail every retry of the transaction: find it, and
          // hand it (alone) to the production error policy, which dead-letters it into this same
          // transaction; the others go out.
          if (batch.length > 1) {
            for (const half of halves(batch)) await this.send(half);
            return;
          }
          const [pending] = batch as [Pending];
          pending.onError(toError(error));
          return;
        }
        this.fail(error);
      }
    }
    // Acknowledged, or dropped with the failed task (see the class comment).
    for (const pending of batch) releaseLineage(pending.lineage);
  }

  private open(): Promise<TransportTransaction> {
    this.transaction ??= this.producer.transaction();
    return this.transaction;
  }

  /**
   * Commits the open transaction together with `offset` (opening one if nothing was written since
   * the last commit). Rejects, after telling `onFailed`, when the transaction could not commit.
   */
  async commit(offset: TopicPartitionOffset): Promise<void> {
    await this.flush();
    if (this.failure !== undefined) throw this.failure;
    if (this.closed) throw new StreamsError('transactional output closed before its commit', { code: 'TRANSACTION_FAILED', retriable: true });
    try {
      const transaction = await this.open();
      await transaction.sendOffsets({ groupId: this.options.groupId, offsets: [offset] });
      await transaction.commit();
      this.transaction = undefined;
    } catch (error) {
      this.fail(error);
      throw this.failure ?? toError(error);
    }
  }

  /** Aborts the open transaction, if any; its records are gone. Never rejects. */
  async abort(): Promise<void> {
    const transaction = this.transaction;
    this.transaction = undefined;
    if (transaction === undefined) return;
    try {
      await (await transaction).abort();
    } catch {
      // A fenced or disconnected producer cannot abort; the next owner's initialisation does.
    }
  }

  private fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure =
      error instanceof StreamsError && error.code === 'TRANSACTION_FAILED'
        ? error
        : new StreamsError(`transaction failed: ${toError(error).message}`, { code: 'TRANSACTION_FAILED', cause: error, retriable: true });
    this.options.onFailed(this.failure);
  }

  /** Drops what waits; later writes are dropped too. Does not abort (see `abort`). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }
}
