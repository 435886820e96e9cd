/**
 * At-least-once output: records are gathered into batches and sent with one `send` per flush
 * (never one awaited send per record). A flush starts when `maxRecords` are waiting or `lingerMs`
 * after the first one. Flushes run one at a time, so records keep their order per partition.
 *
 * Retriable failures (the broker is away, a leader moves) are retried with exponential backoff
 * until they succeed or the output closes; consumption stalls meanwhile through the in-flight bound,
 * nothing is dropped. A batch refused for good is retried record by record, so only the records
 * that really cannot be written go to `onError` (and from there to the production error policy).
 */
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { ProductionError, StreamsError, toError } from '../errors/streams-error.ts';
import type { OutgoingRecord, TransportProducer } from '../transport/transport.ts';
import { publish } from './instrumentation.ts';
import { releaseLineage, type Lineage } from './lineage.ts';
import type { Logger } from './logger.ts';
import type { RecordOutput } from './record-output.ts';
import { SendQueue, halves } from './send-queue.ts';

export interface BatchingOptions {
  /** Default 500. */
  readonly maxRecords?: number;
  /** Default 5. */
  readonly lingerMs?: number;
  /** Cap of the retry backoff; default 10000. */
  readonly maxBackoffMs?: number;
}

interface Pending {
  readonly record: OutgoingRecord;
  readonly lineage: Lineage;
  readonly onError: (error: Error) => void;
}

const isRetriable = (error: unknown) => error instanceof StreamsError && error.retriable;

export class BatchingOutput implements RecordOutput {
  private readonly queue: SendQueue<Pending>;
  private closed = false;
  private readonly retryPolicy;

  constructor(
    private readonly producer: TransportProducer,
    private readonly app: string,
    private readonly logger: Logger,
    options: BatchingOptions = {},
  ) {
    this.queue = new SendQueue((batch) => this.send(batch), options);
    this.retryPolicy = retry(handleWhen((error) => isRetriable(error) && !this.closed), {
      maxAttempts: Number.MAX_SAFE_INTEGER,
      backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: options.maxBackoffMs ?? 10_000 }),
    });
    this.retryPolicy.onRetry(({ delay, ...rest }) => {
      const error = 'error' in rest ? rest.error : undefined;
      this.logger.warn({ delayMs: delay, err: error }, 'sending a batch failed; retrying');
    });
  }

  write(record: OutgoingRecord, lineage: Lineage, onError: (error: Error) => void): void {
    if (this.closed) {
      onError(new ProductionError(`output closed; ${record.topic} record not written`, { retriable: true }));
      return;
    }
    this.queue.add({ record, lineage, onError });
  }

  flush(): Promise<void> {
    return this.queue.flush();
  }

  private async send(all: Pending[]): Promise<void> {
    // Outputs of a task closed since (its partition was revoked) are dropped: the partition's next
    // owner reads their inputs again, and a late write would land after its outputs.
    const batch = all.filter((pending) => !ofClosedTask(pending.lineage));
    for (const pending of all) if (ofClosedTask(pending.lineage)) releaseLineage(pending.lineage);
    if (batch.length === 0) return;
    try {
      // Each attempt leaves out records whose task closed while retrying (see above).
      await this.retryPolicy.execute(() => this.producer.send(batch.filter((p) => !ofClosedTask(p.lineage)).map((p) => p.record)));
      for (const pending of batch) releaseLineage(pending.lineage);
      publish({ type: 'records.written', app: this.app, count: batch.length });
    } catch (error) {
      if (batch.length === 1 || this.closed) {
        for (const pending of batch) pending.onError(toProductionError(error, pending.record));
        return;
      }
      // Find the records that cannot be written; the others still go out.
      for (const half of halves(batch)) await this.send(half);
    }
  }

  /** Sends what is waiting once more, without retrying: a closing app must not wait on a broker that is gone. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }
}

function ofClosedTask(lineage: Lineage): boolean {
  return lineage.length > 0 && lineage.every((origin) => origin.progress.isClosed);
}

function toProductionError(error: unknown, record: OutgoingRecord): ProductionError {
  const cause = toError(error);
  return new ProductionError(`writing to ${record.topic} failed: ${cause.message}`, {
    cause,
    retriable: isRetriable(error),
    context: { topic: record.topic },
  });
}
