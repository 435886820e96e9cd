/**
 * How both transports cut a send into Produce requests below a byte limit, and refuse one record
 * that fits in none: one estimate and one set of cut points, so a send that the broker refuses, or
 * that goes through in pieces, does so on Kafka and in memory alike.
 */
import { TransportError } from '../errors/streams-error.ts';
import type { OutgoingRecord } from './transport.ts';

/**
 * 1 MiB - 64 KiB: the default largest request, below the broker's default `message.max.bytes`
 * (1048588), with headroom for what the estimate leaves out.
 */
export const DEFAULT_MAX_REQUEST_BYTES = 1_048_576 - 65_536;

/**
 * Estimated bytes of one record in a v2 record batch: its varint fields at their widest
 * (length, attributes, timestamp and offset deltas, key and value lengths, header count), its
 * bytes, and each header's name and value with their lengths.
 */
export function estimateRecordBytes(record: OutgoingRecord): number {
  let size = 36 + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  const headers = record.headers;
  if (headers !== undefined) for (const name of Object.keys(headers)) size += 10 + Buffer.byteLength(name, 'utf8') + (headers[name] as Buffer).length;
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
  // Per topic of the chunk: the explicit partitions seen (-1 for records kafkajs places by key).
  let topics = new Map<string, Set<number>>();
  for (const record of records) {
    const recordBytes = estimateRecordBytes(record);
    const topicBytes = TOPIC_OVERHEAD + Buffer.byteLength(record.topic, 'utf8');
    const alone = REQUEST_OVERHEAD + topicBytes + PARTITION_OVERHEAD + recordBytes;
    if (alone > maxBytes) throw recordTooLarge(record, alone, maxBytes);
    const partition = record.partition ?? -1;
    let partitions = topics.get(record.topic);
    let added = recordBytes;
    if (partitions === undefined) added += topicBytes + PARTITION_OVERHEAD;
    else if (!partitions.has(partition)) added += PARTITION_OVERHEAD;
    if (chunk.length > 0 && size + added > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      topics = new Map();
      partitions = undefined;
      size = REQUEST_OVERHEAD;
      added = alone - REQUEST_OVERHEAD;
    }
    if (partitions === undefined) {
      partitions = new Set();
      topics.set(record.topic, partitions);
    }
    chunk.push(record);
    partitions.add(partition);
    size += added;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

function recordTooLarge(record: OutgoingRecord, size: number, maxBytes: number): TransportError {
  const where = `topic ${JSON.stringify(record.topic)}${record.partition === undefined ? '' : ` partition ${record.partition}`}`;
  return new TransportError(
    `a record to ${where} needs about ${size} bytes in a Produce request, above the limit of ${maxBytes} bytes (transport option "maxRequestBytes"); it was not sent`,
    {
      code: 'RECORD_TOO_LARGE',
      retriable: false,
      context: record.partition === undefined ? { topic: record.topic } : { topic: record.topic, partition: record.partition },
    },
  );
}
