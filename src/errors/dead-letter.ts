/**
 * The dead-letter record format. A dead-letter record carries the original key and value bytes and
 * the original headers unchanged, plus headers (all prefixed `dlq.`) that say what failed, where and
 * when. Downstream tools can replay the original bytes and switch on `dlq.error.code`.
 */
import { randomUUID } from 'node:crypto';
import type { Headers, IncomingRecord, OutgoingRecord } from '../transport/transport.ts';
import { redactSecrets } from './redact.ts';
import { StreamsError, toError } from './streams-error.ts';

export type ErrorStage = 'deserialization' | 'processing' | 'production';

export const DLQ_HEADERS = {
  errorClass: 'dlq.error.class',
  /** Class of the underlying exception, e.g. `TypeError` thrown by a user's mapper. */
  causeClass: 'dlq.error.cause.class',
  errorCode: 'dlq.error.code',
  errorMessage: 'dlq.error.message',
  errorStack: 'dlq.error.stack',
  errorStage: 'dlq.error.stage',
  sourceTopic: 'dlq.source.topic',
  sourcePartition: 'dlq.source.partition',
  sourceOffset: 'dlq.source.offset',
  node: 'dlq.node',
  correlationId: 'dlq.correlation.id',
  timestamp: 'dlq.timestamp',
  /** `true` when the key and/or value were cut to fit the size limit; the sizes below are the originals. */
  payloadTruncated: 'dlq.payload.truncated',
  keySize: 'dlq.payload.key.size',
  valueSize: 'dlq.payload.value.size',
  /** Bytes of the record's own headers, set when they were dropped to make it fit. */
  headersSize: 'dlq.payload.headers.size',
} as const;

/**
 * Largest dead-letter record (key, value and headers) written as is: below what the Kafka
 * transport's default `maxRequestBytes` lets through, with room for the request's framing. A
 * larger one is written truncated (see `fitDeadLetter`).
 */
export const DEFAULT_MAX_DEAD_LETTER_BYTES = 900 * 1_024;

/** How much of the key a truncated dead-letter record keeps at most: enough to find the record. */
const MAX_TRUNCATED_KEY = 1_024;
/** Room for the `dlq.payload.*` headers a truncation adds. */
const TRUNCATION_HEADERS = 128;

/** Headers that already carry a correlation id are reused, so a record keeps one id end to end. */
export const CORRELATION_HEADERS = ['correlation-id', 'x-correlation-id'] as const;

const MAX_STACK = 2_048;
const MAX_MESSAGE = 1_024;

export function correlationIdOf(headers: Headers): string | undefined {
  for (const name of CORRELATION_HEADERS) {
    const value = headers[name];
    if (value !== undefined && value.length > 0) return value.toString('utf8');
  }
  return undefined;
}

export interface DeadLetterInput {
  readonly raw: IncomingRecord;
  readonly error: unknown;
  readonly stage: ErrorStage;
  readonly node: string;
  readonly deadLetterTopic: string;
  readonly now: number;
  /** Values to scrub from messages and stacks on top of the generic patterns. */
  readonly secrets?: readonly string[];
}

/** Builds the dead-letter record for `raw`, which failed at `node` during `stage`. */
export function buildDeadLetter(input: DeadLetterInput): OutgoingRecord {
  const error = toError(input.error);
  const code = error instanceof StreamsError ? error.code : 'PROCESSING_FAILED';
  const scrub = (text: string, max: number) => redactSecrets(text, input.secrets).slice(0, max);
  const { raw } = input;
  const text: Record<string, string> = {
    [DLQ_HEADERS.errorClass]: error.name,
    [DLQ_HEADERS.causeClass]: error.cause instanceof Error ? error.cause.name : error.name,
    [DLQ_HEADERS.errorCode]: code,
    [DLQ_HEADERS.errorMessage]: scrub(error.message, MAX_MESSAGE),
    [DLQ_HEADERS.errorStack]: scrub(error.stack ?? '', MAX_STACK),
    [DLQ_HEADERS.errorStage]: input.stage,
    [DLQ_HEADERS.sourceTopic]: raw.topic,
    [DLQ_HEADERS.sourcePartition]: String(raw.partition),
    [DLQ_HEADERS.sourceOffset]: String(raw.offset),
    [DLQ_HEADERS.node]: input.node,
    [DLQ_HEADERS.correlationId]: correlationIdOf(raw.headers) ?? randomUUID(),
    [DLQ_HEADERS.timestamp]: new Date(input.now).toISOString(),
  };
  const headers: Record<string, Buffer> = { ...raw.headers };
  for (const [name, value] of Object.entries(text)) headers[name] = Buffer.from(value, 'utf8');
  return { topic: input.deadLetterTopic, key: raw.key, value: raw.value, headers, timestamp: raw.timestamp };
}

/** Bytes a record's key, value and headers take, without Kafka's framing. */
export function payloadBytes(record: OutgoingRecord): number {
  let size = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const [name, value] of Object.entries(record.headers ?? {})) size += Buffer.byteLength(name, 'utf8') + value.length;
  return size;
}

/**
 * The dead-letter record as is when it fits in `maxBytes`, else with its value (and a key longer
 * than 1 KiB) cut so it does: a record too large for the dead-letter topic must not stop the app,
 * and its `dlq.*` headers, which say what failed and where, matter more than the full payload.
 */
export function fitDeadLetter(record: OutgoingRecord, maxBytes = DEFAULT_MAX_DEAD_LETTER_BYTES): OutgoingRecord {
  if (payloadBytes(record) <= maxBytes) return record;
  const key = record.key?.length ?? 0;
  const keyBytes = key > MAX_TRUNCATED_KEY ? MAX_TRUNCATED_KEY : key;
  const headerBytes = payloadBytes({ ...record, key: null, value: null });
  // Headers alone too large (the broker took the input, whose limit may be higher): keep only ours.
  const dropHeaders = headerBytes + keyBytes + TRUNCATION_HEADERS > maxBytes;
  const kept = dropHeaders ? payloadBytes({ ...record, key: null, value: null, headers: ownHeaders(record.headers ?? {}) }) : headerBytes;
  const valueBytes = Math.max(0, maxBytes - kept - keyBytes - TRUNCATION_HEADERS);
  return truncateDeadLetter(record, { keyBytes, valueBytes, dropHeaders });
}

/** The `dlq.*` headers only: what says what failed and where. */
function ownHeaders(headers: Headers): Record<string, Buffer> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith('dlq.')));
}

/**
 * The dead-letter record with its key and value cut to at most the given bytes, marked with
 * `dlq.payload.truncated` and the original sizes (kept from an earlier truncation; `-1` for null);
 * with `dropHeaders`, the record's own headers go too (their size in `dlq.payload.headers.size`).
 */
export function truncateDeadLetter(
  record: OutgoingRecord,
  limits: { readonly keyBytes: number; readonly valueBytes: number; readonly dropHeaders?: boolean },
): OutgoingRecord {
  const original = record.headers ?? {};
  const headers: Record<string, Buffer> = limits.dropHeaders ? ownHeaders(original) : { ...original };
  if (limits.dropHeaders) {
    headers[DLQ_HEADERS.headersSize] ??= Buffer.from(String(payloadBytes({ ...record, key: null, value: null, headers: original }) - payloadBytes({ ...record, key: null, value: null, headers: ownHeaders(original) })), 'utf8');
  }
  headers[DLQ_HEADERS.keySize] ??= Buffer.from(String(record.key?.length ?? -1), 'utf8');
  headers[DLQ_HEADERS.valueSize] ??= Buffer.from(String(record.value?.length ?? -1), 'utf8');
  headers[DLQ_HEADERS.payloadTruncated] = Buffer.from('true', 'utf8');
  return {
    ...record,
    key: record.key === null ? null : record.key.subarray(0, limits.keyBytes),
    value: record.value === null ? null : record.value.subarray(0, limits.valueBytes),
    headers,
  };
}

/** Reads the `dlq.*` headers of a dead-letter record back as text; for tools and tests. */
export function readDeadLetterHeaders(headers: Headers): Record<keyof typeof DLQ_HEADERS, string | undefined> {
  const out = {} as Record<keyof typeof DLQ_HEADERS, string | undefined>;
  for (const [field, header] of Object.entries(DLQ_HEADERS) as Array<[keyof typeof DLQ_HEADERS, string]>) {
    out[field] = headers[header]?.toString('utf8');
  }
  return out;
}
