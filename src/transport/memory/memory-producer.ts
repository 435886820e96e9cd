import { TransportError } from '../../errors/streams-error.ts';
import type { OutgoingRecord, ProducerOptions, TransportProducer, TransportTransaction } from '../transport.ts';
import { ConnectionState } from './connection-state.ts';
import type { MemoryBroker } from './memory-broker.ts';
import { MemoryTransaction } from './memory-transaction.ts';
import { refusedBatchesError } from './refused-batch.ts';
import { DEFAULT_MAX_REQUEST_BYTES, splitBySize } from '../request-split.ts';
import { checkTopicName, unknownPartitions, unknownTopics } from './topic-log.ts';
import { awaitTopics } from './topic-wait.ts';

export interface MemoryProducerSettings {
  /** How long a send waits for a missing topic to be created before failing as retriable. */
  readonly missingTopicWaitMs: number;
  /** The most one produce request may carry; a send is cut into requests below it (see `splitBySize`). */
  readonly maxRequestBytes: number;
}

/**
 * A producer on the memory broker, sending as the kafka transport's producer does: a send is cut
 * into produce requests below `maxRequestBytes` (a record that fits in none fails with
 * RECORD_TOO_LARGE before anything is written), appended one after another; a topic that does not
 * exist fails the whole send after a bounded wait (never created: the kafka transport disables
 * auto-creation); within a request, a partition whose batch the broker refuses (over
 * `max.message.bytes`, or keyless records on a compacted topic) gets nothing while the other
 * partitions are written, and the requests after it are not sent.
 * `idempotent` and `acks` are accepted and change nothing: an in-process append is never lost or
 * duplicated. With a `transactionalId`, `connect` registers a new epoch (as Java's
 * `initTransactions`), which fences any older producer with the same id and aborts its open
 * transaction.
 */
export class MemoryProducer implements TransportProducer {
  private readonly connection = new ConnectionState('memory producer');
  private epoch: number | undefined;

  constructor(
    private readonly broker: MemoryBroker,
    private readonly options: ProducerOptions = {},
    private readonly settings: MemoryProducerSettings = { missingTopicWaitMs: 0, maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES },
  ) {}

  async connect(): Promise<void> {
    this.connection.connect();
    const id = this.options.transactionalId;
    if (id !== undefined && this.epoch === undefined) this.epoch = this.broker.transactions.initProducer(id);
  }

  /**
   * Appends outside any transaction. A fenced transactional producer is refused here too (kafkajs
   * would let it through on a separate idempotent session): a zombie instance must not write.
   */
  async send(records: readonly OutgoingRecord[]): Promise<void> {
    this.connection.assertConnected('send');
    this.assertNotFenced();
    if (records.length === 0) return;
    const requests = splitBySize(records, this.settings.maxRequestBytes);
    await this.awaitTopics(records.map((r) => r.topic), 'send', 'TRANSPORT_FAILED');
    for (const request of requests) {
      this.connection.assertConnected('send');
      this.assertNotFenced();
      const { refused } = this.broker.produce(request);
      if (refused.length > 0) throw refusedBatchesError(refused, `send of ${records.length} record(s)`, { inTransaction: false });
    }
  }

  async transaction(): Promise<TransportTransaction> {
    this.connection.assertConnected('begin a transaction');
    const id = this.options.transactionalId;
    if (id === undefined || this.epoch === undefined) {
      throw new TransportError('transaction() needs a producer created with a transactionalId', { code: 'TRANSACTION_FAILED' });
    }
    const transaction = this.broker.transactions.begin(id, this.epoch);
    return new MemoryTransaction(this.broker.transactions, transaction, {
      maxRequestBytes: this.settings.maxRequestBytes,
      assertConnected: (operation) => this.connection.assertConnected(operation),
      awaitTopics: (topics, operation) => this.awaitTopics(topics, `${operation} in transaction "${id}"`, 'TRANSACTION_FAILED'),
      awaitPartitions: async (partitions, operation) => {
        const what = `${operation} in transaction "${id}"`;
        await this.awaitTopics(
          partitions.map((tp) => tp.topic),
          what,
          'TRANSACTION_FAILED',
        );
        const unknown = partitions.filter((tp) => tp.partition < 0 || tp.partition >= this.broker.partitionCount(tp.topic));
        if (unknown.length > 0) throw unknownPartitions(unknown, what, 'TRANSACTION_FAILED');
      },
    });
  }

  /**
   * Closes the producer and aborts its open transaction. Kafka would leave it open until
   * `transaction.timeout.ms`; the memory log has no such timer, and an open transaction would hide
   * everything after it from read_committed readers forever.
   */
  async disconnect(): Promise<void> {
    const id = this.options.transactionalId;
    if (id !== undefined && this.epoch !== undefined && this.connection.connected) this.broker.transactions.abortOngoing(id, this.epoch);
    this.connection.close();
  }

  /** Waits for the topics to exist; rejects naming the missing ones when the wait runs out. */
  private async awaitTopics(topics: readonly string[], operation: string, code: 'TRANSPORT_FAILED' | 'TRANSACTION_FAILED'): Promise<void> {
    for (const topic of topics) checkTopicName(topic);
    const missing = await awaitTopics(this.broker, new Set(topics), this.settings.missingTopicWaitMs);
    if (missing.length > 0) throw unknownTopics(missing, operation, code);
  }

  private assertNotFenced(): void {
    const id = this.options.transactionalId;
    if (id !== undefined && this.epoch !== undefined) this.broker.transactions.assertCurrent(id, this.epoch);
  }
}
