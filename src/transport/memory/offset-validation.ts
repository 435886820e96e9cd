import { TransportError } from '../../errors/streams-error.ts';
import type { TopicPartitionOffset } from '../transport.ts';
import { tpKey } from '../topic-partition-key.ts';

/**
 * Rejects offsets no log could hold, before anything is stored, so a commit is all or nothing.
 * Kafka accepts any long; a negative or fractional offset here can only be a caller's bug.
 */
export function assertCommittable(offsets: readonly TopicPartitionOffset[], code: 'COMMIT_FAILED' | 'TRANSACTION_FAILED'): void {
  for (const tp of offsets) {
    if (!Number.isSafeInteger(tp.offset) || tp.offset < 0) {
      throw new TransportError(`cannot commit offset ${tp.offset} for ${tpKey(tp)}: offsets are non-negative integers`, {
        code,
        context: { topic: tp.topic, partition: tp.partition },
      });
    }
  }
}
