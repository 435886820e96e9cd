/**
 * What the transport throws back into kafkajs when the user's `eachBatch` rejects.
 *
 * kafkajs retries its fetch loop after an error it considers retriable and then redelivers the
 * batch (its offset was not resolved). It does not retry errors named `TypeError`, `RangeError`,
 * `ReferenceError` or `SyntaxError`, nor ones with `retriable: false`: the consumer then crashes
 * without restarting. A user's bug must not end consumption silently, so every rejection is
 * rethrown as this retriable error, with the original as `cause`.
 */
export class BatchHandlerError extends Error {
  /** Read by kafkajs' retrier. */
  readonly retriable = true;

  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'BatchHandlerError';
  }
}
