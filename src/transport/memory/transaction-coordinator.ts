import { TransportError } from '../../errors/streams-error.ts';
import type { OutgoingRecord, TopicPartitionOffset } from '../transport.ts';
import { assertCommittable } from './offset-validation.ts';
import type { PartitionLog } from './partition-log.ts';
import { type RefusedBatch, refusedBatchesError } from './refused-batch.ts';
import { tpKey } from '../topic-partition-key.ts';
import { TransactionMark } from './transaction-mark.ts';

/** Where an appended record landed. */
export interface RecordPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** The parts of the broker a transaction writes to. */
export interface TransactionalLog {
  /** Validates all records, then appends them together tagged with `mark`. */
  appendTagged(records: readonly OutgoingRecord[], mark: TransactionMark): { positions: RecordPosition[]; logs: PartitionLog[]; refused: RefusedBatch[] };
  commitOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): void;
  /** Tells readers that what they may see of these topics changed. */
  changed(topics: Iterable<string>): void;
}

/** One open transaction as the broker tracks it: the partitions it wrote and the offsets it will commit. */
export class BrokerTransaction {
  readonly mark = new TransactionMark();
  readonly logs = new Set<PartitionLog>();
  readonly offsets = new Map<string, Map<string, TopicPartitionOffset>>();

  constructor(
    readonly transactionalId: string,
    readonly epoch: number,
  ) {}
}

/**
 * Kafka's transaction coordinator, in memory: one epoch per transactional id (a newer producer
 * fences the older and aborts its open transaction), at most one open transaction per id, and
 * commit or abort applied to records and group offsets at once. Synchronous, like the rest of the
 * broker core.
 */
export class TransactionCoordinator {
  private readonly epochs = new Map<string, number>();
  private readonly ongoing = new Map<string, BrokerTransaction>();

  constructor(private readonly log: TransactionalLog) {}

  /** Registers a producer for `transactionalId` and returns its epoch; any older producer is fenced from now on. */
  initProducer(transactionalId: string): number {
    const previous = this.ongoing.get(transactionalId);
    if (previous !== undefined) this.finish(previous, false);
    const epoch = (this.epochs.get(transactionalId) ?? -1) + 1;
    this.epochs.set(transactionalId, epoch);
    return epoch;
  }

  isFenced(transactionalId: string, epoch: number): boolean {
    return this.epochs.get(transactionalId) !== epoch;
  }

  /** Throws the error a fenced producer gets, if it is fenced. */
  assertCurrent(transactionalId: string, epoch: number): void {
    if (this.isFenced(transactionalId, epoch)) {
      throw new TransportError(`producer with transactionalId ${transactionalId} was fenced by a newer producer with the same id`, {
        code: 'TRANSACTION_FAILED',
        retriable: false,
      });
    }
  }

  begin(transactionalId: string, epoch: number): BrokerTransaction {
    this.assertCurrent(transactionalId, epoch);
    if (this.ongoing.has(transactionalId)) {
      throw new TransportError(`transactionalId ${transactionalId} already has an open transaction; commit or abort it first`, { code: 'TRANSACTION_FAILED' });
    }
    const transaction = new BrokerTransaction(transactionalId, epoch);
    this.ongoing.set(transactionalId, transaction);
    return transaction;
  }

  send(transaction: BrokerTransaction, records: readonly OutgoingRecord[]): RecordPosition[] {
    this.assertOpen(transaction);
    const { positions, logs, refused } = this.log.appendTagged(records, transaction.mark);
    for (const log of logs) transaction.logs.add(log);
    // As on Kafka, the refused partitions leave the transaction open and the rest of the send in it.
    if (refused.length > 0) throw refusedBatchesError(refused, `transactional send in transaction "${transaction.transactionalId}"`, { inTransaction: true });
    return positions;
  }

  addOffsets(transaction: BrokerTransaction, groupId: string, offsets: readonly TopicPartitionOffset[]): void {
    this.assertOpen(transaction);
    assertCommittable(offsets, 'TRANSACTION_FAILED');
    let pending = transaction.offsets.get(groupId);
    if (pending === undefined) transaction.offsets.set(groupId, (pending = new Map()));
    for (const tp of offsets) pending.set(tpKey(tp), tp);
  }

  commit(transaction: BrokerTransaction): void {
    this.assertOpen(transaction);
    this.finish(transaction, true);
  }

  abort(transaction: BrokerTransaction): void {
    this.assertOpen(transaction);
    this.finish(transaction, false);
  }

  /** Aborts the open transaction of this producer, if any; does nothing for a fenced one (its transaction is already gone). */
  abortOngoing(transactionalId: string, epoch: number): void {
    const transaction = this.ongoing.get(transactionalId);
    if (transaction !== undefined && transaction.epoch === epoch) this.finish(transaction, false);
  }

  private assertOpen(transaction: BrokerTransaction): void {
    this.assertCurrent(transaction.transactionalId, transaction.epoch);
    if (this.ongoing.get(transaction.transactionalId) !== transaction) {
      throw new TransportError(`the transaction of ${transaction.transactionalId} has already ended`, { code: 'TRANSACTION_FAILED' });
    }
  }

  private finish(transaction: BrokerTransaction, commit: boolean): void {
    this.ongoing.delete(transaction.transactionalId);
    transaction.mark.status = commit ? 'committed' : 'aborted';
    for (const log of transaction.logs) log.appendMarker(transaction.mark);
    if (commit) for (const [groupId, offsets] of transaction.offsets) this.log.commitOffsets(groupId, [...offsets.values()]);
    this.log.changed(new Set([...transaction.logs].map((log) => log.topic)));
  }
}
