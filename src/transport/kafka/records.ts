/**
 * Records between the transport contract and kafkajs: offsets and timestamps as numbers, headers as
 * one Buffer per name.
 */
import type { Batch, IHeaders, KafkaMessage, Message, TopicMessages } from 'kafkajs';
import { TransportError, type RecordContext } from '../../errors/streams-error.ts';
import type { ConsumedBatch, Headers, IncomingRecord, OutgoingRecord } from '../transport.ts';

/**
 * kafkajs hands header values back as a Buffer, a string, or an array when a name repeats on the
 * wire; the contract keeps one Buffer per name and, as Kafka's `lastHeader`, the last value wins.
 */
export function normaliseHeaders(headers: IHeaders | undefined): Headers {
  if (headers === undefined || headers === null) return {};
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
  };
}

function toMessage(record: OutgoingRecord): Message {
  return {
    key: record.key,
    value: record.value,
    ...(record.partition === undefined ? {} : { partition: record.partition }),
    ...(record.headers === undefined ? {} : { headers: { ...record.headers } }),
    ...(record.timestamp === undefined ? {} : { timestamp: String(record.timestamp) }),
  };
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

/**
 * Estimated bytes of one record in a v2 record batch: its varint fields at their widest
 * (length, attributes, timestamp and offset deltas, key and value lengths, header count), its
 * bytes, and each header's name and value with their lengths.
 */
export function estimateRecordBytes(record: OutgoingRecord): number {
  let size = 36 + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const [name, value] of Object.entries(record.headers ?? {})) size += 10 + Buffer.byteLength(name, 'utf8') + value.length;
  return size;
}

/** A Produce request's own framing: header, client and transactional id, acks, timeout, arrays. */
const REQUEST_OVERHEAD = 1_024;
/** A partition's entry in a Produce request: its index, the record set's length, the v2 batch header. */
const PARTITION_OVERHEAD = 4 + 4 + 61;
/** A topic's entry in a Produce request: the array length and the name's length prefix. */
const TOPIC_OVERHEAD = 4 + 2;

/**
 * Splits `records` into consecutive chunks, each one Produce request whose estimated size stays at
 * or below `maxBytes`. Sent one after another, the chunks keep the records' order per partition.
 *
 * Every partition batch of a chunk is counted once; records without a partition (kafkajs picks it
 * from the key) count as one batch per topic, the rest of their framing (69 bytes per further
 * partition) must fit in the headroom between `maxBytes` and the broker's limit.
 *
 * @throws TransportError (code RECORD_TOO_LARGE, not retriable) when one record alone would not
 * fit; nothing is split or sent then.
 */
export function splitBySize(records: readonly OutgoingRecord[], maxBytes: number): OutgoingRecord[][] {
  const chunks: OutgoingRecord[][] = [];
  let chunk: OutgoingRecord[] = [];
  let size = REQUEST_OVERHEAD;
  let topics = new Set<string>();
  let partitions = new Set<string>();
  for (const record of records) {
    const recordBytes = estimateRecordBytes(record);
    const alone = REQUEST_OVERHEAD + TOPIC_OVERHEAD + Buffer.byteLength(record.topic, 'utf8') + PARTITION_OVERHEAD + recordBytes;
    if (alone > maxBytes) throw recordTooLarge(record, alone, maxBytes);
    const partitionKey = `${record.partition ?? '?'}:${record.topic}`;
    let added = recordBytes;
    if (!topics.has(record.topic)) added += TOPIC_OVERHEAD + Buffer.byteLength(record.topic, 'utf8');
    if (!partitions.has(partitionKey)) added += PARTITION_OVERHEAD;
    if (chunk.length > 0 && size + added > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      topics = new Set();
      partitions = new Set();
      size = REQUEST_OVERHEAD;
      added = alone - REQUEST_OVERHEAD;
    }
    chunk.push(record);
    topics.add(record.topic);
    partitions.add(partitionKey);
    size += added;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

function recordTooLarge(record: OutgoingRecord, size: number, maxBytes: number): TransportError {
  const where = `topic ${JSON.stringify(record.topic)}${record.partition === undefined ? '' : ` partition ${record.partition}`}`;
  return new TransportError(
    `a record to ${where} needs about ${size} bytes in a Produce request, above the limit of ${maxBytes} bytes (KafkaTransport option "maxRequestBytes"); it was not sent`,
    {
      code: 'RECORD_TOO_LARGE',
      retriable: false,
      context: record.partition === undefined ? { topic: record.topic } : { topic: record.topic, partition: record.partition },
    },
  );
}
