/**
 * Every error code the engine raises, declared once so callers can switch on them and they stay
 * stable across releases.
 */
export const ERROR_CODES = [
  'CONFIG_INVALID',
  'TOPOLOGY_INVALID',
  'SERDE_UNKNOWN',
  'DESERIALIZATION_FAILED',
  'SERIALIZATION_FAILED',
  'PROCESSING_FAILED',
  'PRODUCTION_FAILED',
  'SINK_FAILED',
  'TIMED_OUT',
  'RECORD_REJECTED',
  'TRANSPORT_FAILED',
  'TRANSPORT_CLOSED',
  'TRANSACTION_FAILED',
  'COMMIT_FAILED',
  /** One record is larger than a single Produce request may be; retrying cannot help. */
  'RECORD_TOO_LARGE',
  'SCHEMA_LOAD_FAILED',
  /** A schema registry refused a request or could not be reached; `retriable` says which. */
  'SCHEMA_REGISTRY_FAILED',
  /** A state store (in memory, cache, PostgreSQL, read-through loader) could not read or write. */
  'STATE_STORE_FAILED',
  'SHUTDOWN',
  /** A polled API refused the credentials (401/403); polling stops until they are fixed. */
  'SOURCE_UNAUTHORIZED',
  /** A polled API failed or answered something that is not the expected list. */
  'SOURCE_FAILED',
  /** A record broke its schema or a rule the schema cannot state; it goes to the dead-letter topic. */
  'VALIDATION_FAILED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];
