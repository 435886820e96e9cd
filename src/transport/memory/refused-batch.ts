import { TransportError } from '../../errors/streams-error.ts';

/**
 * A partition's record batch the broker refused while the rest of the produce request was written:
 * Kafka validates and answers each partition of a request on its own.
 */
export interface RefusedBatch {
  readonly topic: string;
  readonly partition: number;
  /** The Kafka error the partition was answered with. */
  readonly error: 'MESSAGE_TOO_LARGE' | 'INVALID_RECORD';
  readonly reason: string;
}

/**
 * What the kafka transport makes of those answers: not retriable, since the same batch would be
 * refused again; MESSAGE_TOO_LARGE becomes RECORD_TOO_LARGE outside a transaction, and inside one
 * every failure is TRANSACTION_FAILED. The message names the Kafka error, as the kafka transport's do.
 */
export function refusedBatchesError(refused: readonly RefusedBatch[], operation: string, options: { readonly inTransaction: boolean }): TransportError {
  const errors = [...new Set(refused.map((r) => r.error))].join(', ');
  const reasons = refused.map((r) => `${r.topic}[${r.partition}]: ${r.reason}`).join('; ');
  const first = refused[0];
  const code = options.inTransaction ? 'TRANSACTION_FAILED' : first?.error === 'MESSAGE_TOO_LARGE' ? 'RECORD_TOO_LARGE' : 'TRANSPORT_FAILED';
  return new TransportError(`${operation} failed (${errors}): ${reasons}`, {
    code,
    retriable: false,
    ...(first === undefined ? {} : { context: { topic: first.topic, partition: first.partition } }),
  });
}
