import type { ErrorCode } from './codes.ts';

/** Where in the data an error happened; every field is optional because not every error has a record. */
export interface RecordContext {
  readonly topic?: string;
  readonly partition?: number;
  readonly offset?: number;
  /** The topology node that failed, e.g. `KSTREAM-MAPVALUES-0000000002`. */
  readonly node?: string;
}

export interface StreamsErrorOptions {
  readonly code: ErrorCode;
  readonly retriable?: boolean;
  readonly cause?: unknown;
  readonly context?: RecordContext;
}

/**
 * The one root of the engine's errors: a stable `code` to switch on, whether retrying can help,
 * the underlying `cause`, and the record context when there is one.
 */
export class StreamsError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly context: RecordContext;

  constructor(message: string, options: StreamsErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.retriable = options.retriable ?? false;
    this.context = options.context ?? {};
  }
}

type SubclassOptions = Omit<StreamsErrorOptions, 'code'>;

/** Configuration or options that cannot work; raised at start-up or topology build time. */
export class ConfigError extends StreamsError {
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { ...options, code: 'CONFIG_INVALID' });
  }
}

/** A topology that cannot run: a sink with no topic, a cycle, an unknown serde. Names the node and the option. */
export class TopologyError extends StreamsError {
  constructor(message: string, options: SubclassOptions & { code?: 'TOPOLOGY_INVALID' | 'SERDE_UNKNOWN' } = {}) {
    super(message, { ...options, code: options.code ?? 'TOPOLOGY_INVALID' });
  }
}

/** Bytes that the configured serde could not turn into a value. */
export class DeserializationError extends StreamsError {
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { ...options, code: 'DESERIALIZATION_FAILED' });
  }
}

/** A value that the configured serde could not turn into bytes. */
export class SerializationError extends StreamsError {
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { ...options, code: 'SERIALIZATION_FAILED' });
  }
}

/** A user function (map, filter, ...) threw while processing a record. */
export class ProcessingError extends StreamsError {
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { ...options, code: 'PROCESSING_FAILED' });
  }
}

/** Writing a record to its output (a topic or a side-effect sink) failed for good. */
export class ProductionError extends StreamsError {
  constructor(message: string, options: SubclassOptions & { code?: 'PRODUCTION_FAILED' | 'SINK_FAILED' } = {}) {
    super(message, { ...options, code: options.code ?? 'PRODUCTION_FAILED' });
  }
}

/** The broker or the in-memory log refused or failed an operation. */
export class TransportError extends StreamsError {
  constructor(
    message: string,
    options: SubclassOptions & { code?: 'TRANSPORT_FAILED' | 'TRANSPORT_CLOSED' | 'TRANSACTION_FAILED' | 'COMMIT_FAILED' | 'RECORD_TOO_LARGE' } = {},
  ) {
    super(message, { ...options, code: options.code ?? 'TRANSPORT_FAILED' });
  }
}

/** Loading or parsing a schema file failed. */
export class SchemaError extends StreamsError {
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { ...options, code: 'SCHEMA_LOAD_FAILED' });
  }
}

/**
 * A schema registry refused a request (an incompatible schema, an unknown id, no permission) or
 * could not be reached; only the latter is `retriable`. The message names the registry URL (never
 * its credentials) and the subject or schema id.
 */
export class SchemaRegistryError extends StreamsError {
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { ...options, code: 'SCHEMA_REGISTRY_FAILED' });
  }
}

/** A state store could not read or write (PostgreSQL, a read-through loader) or was used closed. */
export class StateStoreError extends StreamsError {
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { ...options, code: 'STATE_STORE_FAILED' });
  }
}

/** A polled source (a REST API) failed, refused the credentials, or answered garbage. */
export class SourceError extends StreamsError {
  constructor(message: string, options: SubclassOptions & { code?: 'SOURCE_UNAUTHORIZED' | 'SOURCE_FAILED' } = {}) {
    super(message, { ...options, code: options.code ?? 'SOURCE_FAILED' });
  }
}

/** A record that breaks its schema or a rule the schema cannot state. */
export class ValidationError extends StreamsError {
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { ...options, code: 'VALIDATION_FAILED' });
  }
}

/** Turns anything thrown into an Error without losing it. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : JSON.stringify(thrown) ?? String(thrown));
}

/**
 * Builds an error without capturing a call stack, for errors that report a decision rather than a
 * fault (a record the topology rejected): capturing and formatting the runtime's stack cost more
 * than the rest of the dead letter, and said nothing about the record. `stack` is the first line.
 */
export function withoutStack<E extends Error>(make: () => E): E {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
