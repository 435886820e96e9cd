/** Where a transaction stands; decides what read_committed readers may see of its records. */
export type TransactionStatus = 'open' | 'committed' | 'aborted';

/**
 * One object shared by every log entry a transaction wrote, so that committing or aborting flips
 * the visibility of all of them at once, across partitions, as Kafka's commit markers do.
 */
export class TransactionMark {
  status: TransactionStatus = 'open';
}
