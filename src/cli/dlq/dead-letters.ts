/**
 * Dead letters as an operator looks at them: what failed (stage, code, reason), when, where the
 * record came from, and its key; how `dlq inspect` and `dlq replay` select them; and the record
 * a replay writes: the original key, value, timestamp and headers, without the `dlq.*` ones.
 */
import { DLQ_HEADERS } from '../../errors/dead-letter.ts';
import type { Headers, IncomingRecord, OutgoingRecord } from '../../transport/transport.ts';

/** The header a replayed record carries: `<dead-letter topic>/<partition>/<offset>` it was replayed from. */
export const REPLAYED_FROM_HEADER = 'dlq.replayed-from';

export interface DeadLetter {
  readonly record: IncomingRecord;
  /** When it was dead-lettered (`dlq.timestamp`), else the record's timestamp; ms since the epoch. */
  readonly time: number;
  readonly stage: string | undefined;
  readonly code: string | undefined;
  readonly reason: string | undefined;
  readonly errorClass: string | undefined;
  readonly node: string | undefined;
  readonly source: { readonly topic: string | undefined; readonly partition: number | undefined; readonly offset: number | undefined };
  readonly correlationId: string | undefined;
  /** Cut to fit the topic: the original bytes are gone, so it cannot be replayed. */
  readonly truncated: boolean;
}

const text = (headers: Headers, name: string): string | undefined => headers[name]?.toString('utf8');
const integer = (value: string | undefined): number | undefined => (value !== undefined && /^-?\d+$/.test(value) ? Number(value) : undefined);

export function readDeadLetter(record: IncomingRecord): DeadLetter {
  const { headers } = record;
  const stamped = Date.parse(text(headers, DLQ_HEADERS.timestamp) ?? '');
  return {
    record,
    time: Number.isNaN(stamped) ? record.timestamp : stamped,
    stage: text(headers, DLQ_HEADERS.errorStage),
    code: text(headers, DLQ_HEADERS.errorCode),
    reason: text(headers, DLQ_HEADERS.errorMessage),
    errorClass: text(headers, DLQ_HEADERS.errorClass),
    node: text(headers, DLQ_HEADERS.node),
    source: {
      topic: text(headers, DLQ_HEADERS.sourceTopic),
      partition: integer(text(headers, DLQ_HEADERS.sourcePartition)),
      offset: integer(text(headers, DLQ_HEADERS.sourceOffset)),
    },
    correlationId: text(headers, DLQ_HEADERS.correlationId),
    truncated: text(headers, DLQ_HEADERS.payloadTruncated) === 'true',
  };
}

export interface DeadLetterFilter {
  /** Matched against the reason (`dlq.error.message`). */
  readonly reason?: RegExp;
  /** Any of these `dlq.error.code`s. */
  readonly codes?: readonly string[];
  /** Any of these stages. */
  readonly stages?: readonly string[];
  /** Dead-lettered at or after, ms since the epoch. */
  readonly since?: number;
  /** Dead-lettered before, ms since the epoch. */
  readonly until?: number;
}

export function matches(letter: DeadLetter, filter: DeadLetterFilter): boolean {
  if (filter.reason !== undefined && !filter.reason.test(letter.reason ?? '')) return false;
  if (filter.codes !== undefined && filter.codes.length > 0 && !filter.codes.includes(letter.code ?? '')) return false;
  if (filter.stages !== undefined && filter.stages.length > 0 && !filter.stages.includes(letter.stage ?? '')) return false;
  if (filter.since !== undefined && letter.time < filter.since) return false;
  if (filter.until !== undefined && letter.time >= filter.until) return false;
  return true;
}

/** Oldest first (ties: partition, then offset), so `--limit` takes the earliest and a replay keeps each key's order. */
export function byTime(a: DeadLetter, b: DeadLetter): number {
  return a.time - b.time || a.record.partition - b.record.partition || a.record.offset - b.record.offset;
}

/** What a replay of `letter` writes to `topic`: the original record, its `dlq.*` headers replaced by where it came from. */
export function replayRecord(letter: DeadLetter, topic: string): OutgoingRecord {
  const { record } = letter;
  const headers: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(record.headers)) if (!name.startsWith('dlq.')) headers[name] = value;
  headers[REPLAYED_FROM_HEADER] = Buffer.from(`${record.topic}/${record.partition}/${record.offset}`, 'utf8');
  return { topic, key: record.key, value: record.value, headers, timestamp: record.timestamp };
}

/** A key for people: its text when it is printable UTF-8, else `base64:...`. */
export function keyText(key: Buffer | null): string | null {
  if (key === null) return null;
  const decoded = key.toString('utf8');
  return Buffer.from(decoded, 'utf8').equals(key) && !/[\p{Cc}]/u.test(decoded) ? decoded : `base64:${key.toString('base64')}`;
}
