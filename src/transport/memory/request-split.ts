import { TransportError } from '../../errors/streams-error.ts';
import type { OutgoingRecord } from '../transport.ts';

/** 1 MiB - 64 KiB: the kafka transport's default `maxRequestBytes`, below the broker's `message.max.bytes`. */
export const DEFAULT_MAX_REQUEST_BYTES = 1_048_576 - 65_536;

/** A Produce request's own framing: header, client and transactional id, acks, timeout, arrays. */
const REQUEST_OVERHEAD = 1_024;
/** A partition's entry in a Produce request: its index, the record set's length, the v2 batch header. */
const PARTITION_OVERHEAD = 4 + 4 + 61;
/** A topic's entry in a Produce request: the array length and the name's length prefix. */
const TOPIC_OVERHEAD = 4 + 2;

/**
 * Cuts a send into the requests the kafka transport's producer would send, one after another:
 * the same estimate and the same cut points as its `splitBySize` (`kafka/records.ts`; a unit test
 * checks they agree), so a send that the broker refuses, or that goes through in pieces, does so on
 * both transports. The estimate decides only where to cut; the broker checks the real batch size.
 *
 * @throws TransportError (code RECORD_TOO_LARGE, not retriable) when one record alone would not
 * fit in a request; nothing is sent then.
 */
export function splitRequests(records: readonly OutgoingRecord[], maxBytes: number): OutgoingRecord[][] {
  const chunks: OutgoingRecord[][] = [];
  let chunk: OutgoingRecord[] = [];
  let size = REQUEST_OVERHEAD;
  let topics = new Set<string>();
  let partitions = new Set<string>();
  for (const record of records) {
    const recordBytes = estimateRecordBytes(record);
    const topicBytes = TOPIC_OVERHEAD + Buffer.byteLength(record.topic, 'utf8');
    const alone = REQUEST_OVERHEAD + topicBytes + PARTITION_OVERHEAD + recordBytes;
    if (alone > maxBytes) throw recordTooLarge(record, alone, maxBytes);
    // Keyed records without a partition count as one batch per topic, as the kafka producer counts them.
    const partitionKey = `${record.partition ?? '?'}:${record.topic}`;
    let added = recordBytes + (topics.has(record.topic) ? 0 : topicBytes) + (partitions.has(partitionKey) ? 0 : PARTITION_OVERHEAD);
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

/** The kafka producer's estimate of a record in a v2 batch: its varint fields at their widest, its bytes, its headers. */
function estimateRecordBytes(record: OutgoingRecord): number {
  let size = 36 + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const [name, value] of Object.entries(record.headers ?? {})) size += 10 + Buffer.byteLength(name, 'utf8') + value.length;
  return size;
}

function recordTooLarge(record: OutgoingRecord, size: number, maxBytes: number): TransportError {
  const where = `topic ${JSON.stringify(record.topic)}${record.partition === undefined ? '' : ` partition ${record.partition}`}`;
  return new TransportError(`a record to ${where} needs about ${size} bytes in a Produce request, above the limit of ${maxBytes} bytes (maxRequestBytes); it was not sent`, {
    code: 'RECORD_TOO_LARGE',
    retriable: false,
    context: record.partition === undefined ? { topic: record.topic } : { topic: record.topic, partition: record.partition },
  });
}
