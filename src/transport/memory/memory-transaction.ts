import type { OutgoingRecord, TopicPartition, TopicPartitionOffset, TransportTransaction } from '../transport.ts';
import { splitBySize } from '../request-split.ts';
import type { BrokerTransaction, TransactionCoordinator } from './transaction-coordinator.ts';

/** What a transaction needs from its producer. */
export interface TransactionHost {
  /** The most one produce request may carry (see `splitBySize`). */
  readonly maxRequestBytes: number;
  assertConnected(operation: string): void;
  /** Waits for the topics to exist; rejects as a missing topic does on Kafka (retriable). */
  awaitTopics(topics: readonly string[], operation: string): Promise<void>;
  /** As `awaitTopics`, then rejects the same way when a partition is out of range. */
  awaitPartitions(partitions: readonly TopicPartition[], operation: string): Promise<void>;
}

/**
 * A producer's open transaction. Its records are in the log at once (read_uncommitted readers see
 * them) but read_committed readers wait for `commit`; offsets added with `sendOffsets` reach the
 * group only on `commit`. Fails with `TRANSACTION_FAILED` once a newer producer fenced this one.
 */
export class MemoryTransaction implements TransportTransaction {
  constructor(
    private readonly coordinator: TransactionCoordinator,
    private readonly transaction: BrokerTransaction,
    private readonly host: TransactionHost,
  ) {}

  async send(records: readonly OutgoingRecord[]): Promise<void> {
    this.host.assertConnected('send in a transaction');
    if (records.length === 0) return;
    const requests = splitBySize(records, this.host.maxRequestBytes);
    await this.host.awaitTopics(
      records.map((r) => r.topic),
      'transactional send',
    );
    for (const request of requests) {
      this.host.assertConnected('send in a transaction');
      this.coordinator.send(this.transaction, request);
    }
  }

  async sendOffsets(options: { readonly groupId: string; readonly offsets: readonly TopicPartitionOffset[] }): Promise<void> {
    this.host.assertConnected('send offsets in a transaction');
    if (options.offsets.length === 0) return;
    await this.host.awaitPartitions(options.offsets, `sendOffsets for group "${options.groupId}"`);
    this.host.assertConnected('send offsets in a transaction');
    this.coordinator.addOffsets(this.transaction, options.groupId, options.offsets);
  }

  async commit(): Promise<void> {
    this.host.assertConnected('commit a transaction');
    this.coordinator.commit(this.transaction);
  }

  async abort(): Promise<void> {
    this.host.assertConnected('abort a transaction');
    this.coordinator.abort(this.transaction);
  }
}
