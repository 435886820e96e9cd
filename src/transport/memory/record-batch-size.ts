import type { Headers } from '../transport.ts';

/** Kafka's default `message.max.bytes`: the largest record batch a broker accepts into a partition. */
export const DEFAULT_MESSAGE_MAX_BYTES = 1_048_588;

/** Offset, length, leader epoch, magic, CRC, attributes, last offset delta, timestamps, producer id and epoch, sequence, count. */
const RECORD_BATCH_OVERHEAD = 61;

interface SizedRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Headers;
  readonly timestamp: number;
}

/**
 * The size of the uncompressed v2 record batch one produce request carries for one partition, as
 * kafkajs encodes it (timestamps as deltas from the first record's), which is what the broker
 * compares with `max.message.bytes`. Exact, so a test at the limit behaves as on Kafka.
 */
export function recordBatchBytes(records: readonly SizedRecord[]): number {
  const firstTimestamp = records[0]?.timestamp ?? 0;
  let size = RECORD_BATCH_OVERHEAD;
  records.forEach((record, offsetDelta) => {
    const body =
      1 + // attributes
      varintBytes(record.timestamp - firstTimestamp) +
      varintBytes(offsetDelta) +
      bytesFieldSize(record.key) +
      bytesFieldSize(record.value) +
      headersSize(record.headers);
    size += varintBytes(body) + body;
  });
  return size;
}

function bytesFieldSize(bytes: Buffer | null): number {
  return bytes === null ? varintBytes(-1) : varintBytes(bytes.length) + bytes.length;
}

function headersSize(headers: Headers): number {
  const entries = Object.entries(headers);
  let size = varintBytes(entries.length);
  for (const [name, value] of entries) {
    const nameBytes = Buffer.byteLength(name);
    size += varintBytes(nameBytes) + nameBytes + varintBytes(value.length) + value.length;
  }
  return size;
}

/** Length of a zigzag varint (Kafka's varint and varlong); plain arithmetic, as deltas can pass 2^31. */
function varintBytes(value: number): number {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  let bytes = 1;
  while (zigzag >= 128) {
    zigzag = Math.floor(zigzag / 128);
    bytes++;
  }
  return bytes;
}
