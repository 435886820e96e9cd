import { TransportError } from '../../errors/streams-error.ts';
import type { OutgoingRecord, ProducerOptions, TransportProducer, TransportTransaction } from '../transport.ts';
import { ConnectionState } from './connection-state.ts';
import type { MemoryBroker } from './memory-broker.ts';
import { MemoryTransaction } from './memory-transaction.ts';

/**
 * A producer on the memory broker. `send` appends all its records in one step (all or nothing).
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
    this.broker.appendAll(records);
  }

  async transaction(): Promise<TransportTransaction> {
    this.connection.assertConnected('begin a transaction');
    const id = this.options.transactionalId;
    if (id === undefined || this.epoch === undefined) {
      throw new TransportError('transaction() needs a producer created with a transactionalId', { code: 'TRANSACTION_FAILED' });
    }
    const transaction = this.broker.transactions.begin(id, this.epoch);
    return new MemoryTransaction(this.broker.transactions, transaction, (operation) => this.connection.assertConnected(operation));
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

  private assertNotFenced(): void {
    const id = this.options.transactionalId;
    if (id !== undefined && this.epoch !== undefined) this.broker.transactions.assertCurrent(id, this.epoch);
  }
}
