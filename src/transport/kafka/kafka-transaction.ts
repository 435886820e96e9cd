/** One Kafka transaction: records and consumer offsets that commit or abort together. */
import type { Transaction } from 'kafkajs';
import type { OutgoingRecord, TopicPartitionOffset, TransportTransaction } from '../transport.ts';
import { wrapKafkaError } from './errors.ts';
import type { RecordContext } from '../../errors/streams-error.ts';
import { contextOf, describePartitions, groupOffsetsByTopic } from './topic-partitions.ts';
import { describeRecords, recordsContext, splitBySize, toTopicMessages } from './records.ts';

export class KafkaTransaction implements TransportTransaction {
  constructor(
    private readonly transaction: Transaction,
    private readonly transactionalId: string,
    private readonly limits: { readonly redact: (text: string) => string; readonly maxRequestBytes: number },
  ) {}

  /**
   * Adds the records to the transaction in chunks below `maxRequestBytes`, one kafkajs `sendBatch`
   * (one request per broker) after another, so the order per partition holds.
   *
   * @throws TransportError with code RECORD_TOO_LARGE, before anything is sent, when one record
   * alone does not fit.
   */
  async send(records: readonly OutgoingRecord[]): Promise<void> {
    if (records.length === 0) return;
    try {
      for (const chunk of splitBySize(records, this.limits.maxRequestBytes)) {
        // Transactions are idempotent in kafkajs and require acks from all in-sync replicas.
        await this.transaction.sendBatch({ acks: -1, topicMessages: toTopicMessages(chunk) });
      }
    } catch (error) {
      throw this.wrap(error, `transactional send of ${describeRecords(records)}`, recordsContext(records));
    }
  }

  /** Maps to kafkajs `sendOffsets({ consumerGroupId, topics })`: offsets commit with the records. */
  async sendOffsets(options: { readonly groupId: string; readonly offsets: readonly TopicPartitionOffset[] }): Promise<void> {
    if (options.offsets.length === 0) return;
    try {
      await this.transaction.sendOffsets({ consumerGroupId: options.groupId, topics: groupOffsetsByTopic(options.offsets) });
    } catch (error) {
      const what = `sendOffsets for group "${options.groupId}" (${describePartitions(options.offsets)})`;
      throw this.wrap(error, what, contextOf(options.offsets));
    }
  }

  async commit(): Promise<void> {
    try {
      await this.transaction.commit();
    } catch (error) {
      throw this.wrap(error, 'commit', {});
    }
  }

  async abort(): Promise<void> {
    try {
      await this.transaction.abort();
    } catch (error) {
      throw this.wrap(error, 'abort', {});
    }
  }

  private wrap(error: unknown, what: string, context: RecordContext): Error {
    return wrapKafkaError(error, `${what} in transaction "${this.transactionalId}"`, {
      code: 'TRANSACTION_FAILED',
      context,
      redact: this.limits.redact,
    });
  }
}
