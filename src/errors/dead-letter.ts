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
} as const;

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

/** Reads the `dlq.*` headers of a dead-letter record back as text; for tools and tests. */
export function readDeadLetterHeaders(headers: Headers): Record<keyof typeof DLQ_HEADERS, string | undefined> {
  const out = {} as Record<keyof typeof DLQ_HEADERS, string | undefined>;
  for (const [field, header] of Object.entries(DLQ_HEADERS) as Array<[keyof typeof DLQ_HEADERS, string]>) {
    out[field] = headers[header]?.toString('utf8');
  }
  return out;
}
