import { TransportError } from '../../errors/streams-error.ts';
import type { OutgoingRecord, ProducerOptions, TransportProducer, TransportTransaction } from '../transport.ts';
import { ConnectionState } from './connection-state.ts';
import type { MemoryBroker } from './memory-broker.ts';
import { MemoryTransaction } from './memory-transaction.ts';
import { refusedBatchesError } from './refused-batch.ts';
import { checkTopicName, unknownPartitions, unknownTopics } from './topic-log.ts';
import { awaitTopics } from './topic-wait.ts';

export interface MemoryProducerSettings {
  /** How long a send waits for a missing topic to be created before failing as retriable. */
  readonly missingTopicWaitMs: number;
}

/**
 * A producer on the memory broker. `send` appends all its records in one step, as one produce
 * request: a topic that does not exist fails the whole send after a bounded wait (never created,
 * as the kafka transport disables auto-creation), and a partition whose record batch is over
 * `max.message.bytes` is refused while the others are written (MESSAGE_TOO_LARGE).
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
    private readonly settings: MemoryProducerSettings = { missingTopicWaitMs: 0 },
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
    await this.awaitTopics(records.map((r) => r.topic), 'send', 'TRANSPORT_FAILED');
    this.connection.assertConnected('send');
    this.assertNotFenced();
    const { refused } = this.broker.produce(records);
    if (refused.length > 0) throw refusedBatchesError(refused, `send of ${records.length} record(s)`, 'TRANSPORT_FAILED');
  }

  async transaction(): Promise<TransportTransaction> {
    this.connection.assertConnected('begin a transaction');
    const id = this.options.transactionalId;
    if (id === undefined || this.epoch === undefined) {
      throw new TransportError('transaction() needs a producer created with a transactionalId', { code: 'TRANSACTION_FAILED' });
    }
    const transaction = this.broker.transactions.begin(id, this.epoch);
    return new MemoryTransaction(this.broker.transactions, transaction, {
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
