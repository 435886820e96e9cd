import { createHash } from 'node:crypto';
import { ConfigError } from '../errors/streams-error.ts';

/** PostgreSQL truncates identifiers longer than this (NAMEDATALEN - 1), which could merge two tables. */
const MAX_IDENTIFIER_BYTES = 63;
const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `name` double-quoted for SQL, after checking it is a plain identifier (letters, digits and `_`,
 * not starting with a digit, at most 63 bytes). Both, on purpose: the check keeps odd names (and
 * any injection attempt) out with an error that names the option; the quotes keep reserved words
 * and upper case working as written.
 */
export function quoteIdentifier(name: string, option: string): string {
  if (!PLAIN_IDENTIFIER.test(name) || name.length > MAX_IDENTIFIER_BYTES) {
    throw new ConfigError(
      `${option} must be a plain SQL identifier (letters, digits and _, not starting with a digit, at most ${MAX_IDENTIFIER_BYTES} characters), got ${JSON.stringify(name)}`,
    );
  }
  return `"${name}"`;
}

/**
 * A valid table name for any store name, e.g. `users-STATE-STORE-0000000001` →
 * `state_users_state_store_0000000001_1a2b3c4d`: lower case, other characters turned into `_`, and
 * a hash of the original name appended whenever that changed something, so that two store names
 * never share a table.
 */
export function storeTableName(storeName: string, prefix = 'state_'): string {
  const plain = `${prefix}${storeName}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const candidate = /^[0-9]/.test(plain) ? `_${plain}` : plain;
  if (candidate === `${prefix}${storeName}` && candidate.length <= MAX_IDENTIFIER_BYTES) return candidate;
  const hash = createHash('sha256').update(storeName).digest('hex').slice(0, 8);
  return `${candidate.slice(0, MAX_IDENTIFIER_BYTES - hash.length - 1)}_${hash}`;
}
