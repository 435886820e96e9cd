/**
 * Turns whatever kafkajs throws into the engine's `TransportError`: a message naming the operation
 * and the topic/partition, `retriable` taken from kafkajs, the original as `cause`.
 */
import { TransportError, type RecordContext } from '../../errors/streams-error.ts';

type TransportCode = 'TRANSPORT_FAILED' | 'TRANSPORT_CLOSED' | 'TRANSACTION_FAILED' | 'COMMIT_FAILED' | 'RECORD_TOO_LARGE';

/** The broker refused a record batch or request for its size: the same bytes will never fit. */
const TOO_LARGE_ERRORS: ReadonlySet<string> = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/** The fields kafkajs errors carry; kafkajs does not export its error classes to ES modules. */
interface KafkaErrorShape {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly retriable?: unknown;
  readonly type?: unknown;
  readonly cause?: unknown;
  readonly errors?: unknown;
}

/**
 * Protocol errors that mean "this member's view of the group is out of date". kafkajs marks most of
 * them non-retriable because the request itself cannot be repeated as is, but after the member
 * rejoins the group the same operation (a commit of partitions it still owns) succeeds, so for the
 * engine they are retriable.
 */
const GROUP_MEMBERSHIP_ERRORS: ReadonlySet<string> = new Set([
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'NOT_COORDINATOR_FOR_GROUP',
  'COORDINATOR_NOT_AVAILABLE',
]);

export interface WrapOptions {
  readonly context?: RecordContext;
  readonly code?: TransportCode;
  readonly redact?: (text: string) => string;
}

/**
 * Wraps a kafkajs failure. `operation` says what failed and on what, e.g.
 * `partitionCount of topic "orders"`; the kafkajs message is appended.
 */
export function wrapKafkaError(error: unknown, operation: string, options: WrapOptions = {}): TransportError {
  if (error instanceof TransportError) return error;
  const redact = options.redact ?? ((text: string) => text);
  const type = protocolErrorType(error);
  const detail = errorMessage(error);
  const message = redact(`${operation} failed${type === undefined ? '' : ` (${type})`}: ${detail}`);
  const tooLarge = type !== undefined && TOO_LARGE_ERRORS.has(type);
  return new TransportError(message, {
    code: options.code ?? (tooLarge ? 'RECORD_TOO_LARGE' : 'TRANSPORT_FAILED'),
    retriable: isRetriable(error),
    cause: error,
    ...(options.context === undefined ? {} : { context: options.context }),
  });
}

/** True for errors after which the member must rejoin its group (see `GROUP_MEMBERSHIP_ERRORS`). */
export function isGroupMembershipError(error: unknown): boolean {
  const type = protocolErrorType(error);
  return type !== undefined && GROUP_MEMBERSHIP_ERRORS.has(type);
}

/** The Kafka protocol error type (`ILLEGAL_GENERATION`, ...) of the error or the first cause that has one. */
export function protocolErrorType(error: unknown): string | undefined {
  for (const link of causeChain(error)) {
    if (typeof link.type === 'string') return link.type;
    if (Array.isArray(link.errors)) {
      for (const inner of link.errors) {
        const type = protocolErrorType(inner);
        if (type !== undefined) return type;
      }
    }
  }
  return undefined;
}

function isRetriable(error: unknown): boolean {
  if (isGroupMembershipError(error)) return true;
  const shape = asShape(error);
  if (shape === undefined) return false;
  // kafkajs gives up after its own retry budget and marks the wrapper non-retriable; whether trying
  // again later can help is a property of what failed underneath (a broker restart: yes).
  if (shape.name === 'KafkaJSNumberOfRetriesExceeded' && shape.cause !== undefined) return isRetriable(shape.cause);
  if (Array.isArray(shape.errors) && shape.errors.length > 0 && typeof shape.retriable !== 'boolean') {
    return shape.errors.every((inner) => isRetriable(inner));
  }
  return shape.retriable === true;
}

function errorMessage(error: unknown): string {
  const shape = asShape(error);
  if (shape !== undefined && typeof shape.message === 'string' && shape.message.length > 0) return shape.message;
  return typeof error === 'string' ? error : 'unknown error';
}

function* causeChain(error: unknown): Generator<KafkaErrorShape> {
  let current: unknown = error;
  for (let depth = 0; depth < 10; depth++) {
    const shape = asShape(current);
    if (shape === undefined) return;
    yield shape;
    current = shape.cause;
  }
}

function asShape(error: unknown): KafkaErrorShape | undefined {
  return typeof error === 'object' && error !== null ? (error as KafkaErrorShape) : undefined;
}
