import { redactSecrets } from '../errors/redact.ts';
import { StateStoreError } from '../errors/streams-error.ts';

/**
 * A copy of `error` safe to keep as a cause: message and stack scrubbed of secrets, name and
 * `code` kept. The original is dropped on purpose: pg and HTTP client errors can carry their
 * connection settings or request, password included, in properties a logger would print.
 */
export function scrubbedError(error: unknown, secrets: readonly string[]): Error {
  if (!(error instanceof Error)) return new Error(redactSecrets(String(error), secrets));
  const copy = new Error(redactSecrets(error.message, secrets));
  copy.name = error.name;
  copy.stack = redactSecrets(error.stack ?? '', secrets);
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') Object.assign(copy, { code });
  return copy;
}

/**
 * SQLSTATE classes and Node socket errors after which the same statement can succeed: lost or
 * refused connections, server shutdown, lack of resources, serialization failures and deadlocks.
 */
const RETRIABLE_SQLSTATE = /^(08|53|57P0|40001|40P01)/;
const RETRIABLE_SOCKET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** Whether retrying the operation that threw `error` can help. */
export function isRetriable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return error instanceof Error && /timeout|terminated|connection/i.test(error.message);
  return RETRIABLE_SQLSTATE.test(code) || RETRIABLE_SOCKET.has(code);
}

/** Wraps an error from PostgreSQL or a loader into the engine's hierarchy, scrubbed of `secrets`. */
export function stateStoreFailure(storeName: string, what: string, error: unknown, secrets: readonly string[]): StateStoreError {
  const cause = scrubbedError(error, secrets);
  return new StateStoreError(`State store "${storeName}": ${what} failed: ${cause.message}`, { cause, retriable: isRetriable(error) });
}
