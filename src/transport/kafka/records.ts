/**
 * Records between the transport contract and kafkajs: offsets and timestamps as numbers, headers as
 * one Buffer per name.
 */
import type { Batch, IHeaders, KafkaMessage, Message, TopicMessages } from 'kafkajs';
import type { RecordContext } from '../../errors/streams-error.ts';
import type { ConsumedBatch, Headers, IncomingRecord, OutgoingRecord } from '../transport.ts';

/**
 * kafkajs hands header values back as a Buffer, a string, or an array when a name repeats on the
 * wire; the contract keeps one Buffer per name and, as Kafka's `lastHeader`, the last value wins.
 */
export function normaliseHeaders(headers: IHeaders | undefined): Headers {
  if (headers === undefined || headers === null) return {};
  // Most records carry no headers: no entries array, no copy.
  let any = false;
  for (const name in headers) {
    any = Object.hasOwn(headers, name);
    if (any) break;
  }
  if (!any) return {};
  const entries: [string, Buffer][] = [];
  for (const [name, raw] of Object.entries(headers)) {
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value === undefined || value === null) continue;
    entries.push([name, typeof value === 'string' ? Buffer.from(value, 'utf8') : value]);
  }
  // fromEntries keeps a header named `__proto__` as an ordinary field.
  return Object.fromEntries(entries);
}

/** One kafkajs message as the contract's record: offset and timestamp as numbers. */
export function toIncomingRecord(topic: string, partition: number, message: KafkaMessage): IncomingRecord {
  return {
    topic,
    partition,
    offset: Number(message.offset),
    key: message.key ?? null,
    value: message.value ?? null,
    headers: normaliseHeaders(message.headers),
    timestamp: Number(message.timestamp),
  };
}

/** The batch as the contract sees it, or undefined when kafkajs filtered every record out. */
export function toConsumedBatch(batch: Batch): ConsumedBatch | undefined {
  if (batch.messages.length === 0) return undefined;
  return {
    topic: batch.topic,
    partition: batch.partition,
    records: batch.messages.map((message) => toIncomingRecord(batch.topic, batch.partition, message)),
    highWatermark: Number(batch.highWatermark),
    // kafkajs' lastOffset counts the control records and aborted records it filtered out.
    nextOffset: Number(batch.lastOffset()) + 1,
  };
}

function toMessage(record: OutgoingRecord): Message {
  // One object literal, fields set or left undefined: kafkajs treats an undefined field as absent.
  // kafkajs reads the headers and never changes them: no copy.
  return {
    key: record.key,
    value: record.value,
    partition: record.partition,
    headers: record.headers,
    timestamp: record.timestamp === undefined ? undefined : String(record.timestamp),
  } as Message;
}

/**
 * Groups records per topic for one kafkajs `sendBatch`, keeping their order within each topic (and
 * so within each partition).
 */
export function toTopicMessages(records: readonly OutgoingRecord[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const record of records) {
    let messages = byTopic.get(record.topic);
    if (messages === undefined) {
      messages = [];
      byTopic.set(record.topic, messages);
    }
    messages.push(toMessage(record));
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/** `3 records to "orders", "users"`: for error messages. */
export function describeRecords(records: readonly OutgoingRecord[]): string {
  const topics = [...new Set(records.map((record) => record.topic))].map((topic) => JSON.stringify(topic));
  return `${records.length} record${records.length === 1 ? '' : 's'} to ${topics.length === 1 ? 'topic' : 'topics'} ${topics.join(', ')}`;
}

/** The topic (and partition, when all records name the same one) for a `TransportError`. */
export function recordsContext(records: readonly OutgoingRecord[]): RecordContext {
  const first = records[0];
  if (first === undefined || records.some((record) => record.topic !== first.topic)) return {};
  const partition = first.partition;
  const onePartition = partition !== undefined && records.every((record) => record.partition === partition);
  return onePartition ? { topic: first.topic, partition } : { topic: first.topic };
}

export { estimateRecordBytes, splitBySize } from '../request-split.ts';
