/**
 * The body of a Produce request (versions 3 to 7: transactional id, acks, timeout, then per topic
 * and partition one uncompressed v2 record batch), written in one pass into one buffer.
 *
 * kafkajs builds the same bytes out of nested encoders: a zero-filled 512-byte buffer per record,
 * a fresh Buffer for every varint, the batch copied four times on its way into the request. On
 * the enrichment benchmark that was a fifth of the process's CPU time, most of it allocation and
 * the garbage collection that followed. This writer sizes everything first, allocates once and
 * copies every key and value once. Its output is byte for byte what kafkajs writes (a property
 * test holds it to that), except that the batch's first and max timestamps are the numeric
 * smallest and largest where kafkajs sorts them as strings (only different when timestamps have
 * different numbers of digits). It handles the shapes the transport sends: keys and values as
 * Buffers, strings or null, headers as Buffers or strings (or arrays of them), timestamps as
 * numeric strings or numbers, no compression; `encodable()` says whether a request is one of those.
 */
import { createRequire } from 'node:module';

/** What kafkajs hands a Produce request for each partition. */
export interface ProduceMessage {
  readonly key?: Buffer | string | null;
  readonly value: Buffer | string | null;
  readonly headers?: Readonly<Record<string, Buffer | string | ReadonlyArray<Buffer | string>>>;
  readonly timestamp?: string | number | null;
}

export interface ProducePartition {
  readonly partition: number;
  readonly firstSequence?: number;
  readonly messages: readonly ProduceMessage[];
}

export interface ProduceTopic {
  readonly topic: string;
  readonly partitions: readonly ProducePartition[];
}

/** A kafkajs `Long` (a BigInt in `value`), a bigint, a number or a numeric string. */
export type Int64Like = bigint | number | string | { readonly value: bigint };

export interface ProduceRequestBody {
  readonly transactionalId: string | null;
  readonly acks: number;
  readonly timeout: number;
  readonly producerId: Int64Like;
  readonly producerEpoch: number;
  readonly topicData: readonly ProduceTopic[];
}

const MAGIC = 2;
const TRANSACTIONAL = 16;
/** Bytes of a record batch before its records: offset 8, length 4, epoch 4, magic 1, crc 4, attributes 2, last offset delta 4, timestamps 16, producer 10, sequence 4, count 4. */
const BATCH_HEADER = 61;
/** Where the CRC-covered part of a batch starts (its attributes). */
const CRC_START = 21;

const isText = (value: unknown): value is string => typeof value === 'string';
const isBytes = (value: unknown): value is Buffer | string => Buffer.isBuffer(value) || isText(value);
const byteLength = (value: Buffer | string): number => (isText(value) ? Buffer.byteLength(value, 'utf8') : value.length);

/** Whether `encodeProduceRequest` writes this request (else kafkajs' own encoder must). */
export function encodable(body: ProduceRequestBody): boolean {
  for (const { topic, partitions } of body.topicData) {
    if (!isText(topic)) return false;
    for (const { messages } of partitions) {
      for (const message of messages) {
        if (message.key !== undefined && message.key !== null && !isBytes(message.key)) return false;
        if (message.value !== null && !isBytes(message.value)) return false;
        const timestamp = message.timestamp;
        if (timestamp !== undefined && timestamp !== null && !Number.isSafeInteger(Number(timestamp))) return false;
        if (timestamp !== undefined && timestamp !== null && isText(timestamp) && timestamp.trim() === '') return false;
        for (const name in message.headers) {
          const raw = message.headers[name];
          if (Array.isArray(raw) ? !raw.every(isBytes) : !isBytes(raw)) return false;
        }
      }
    }
  }
  return true;
}

const zigZag32 = (value: number): number => ((value << 1) ^ (value >> 31)) >>> 0;

function varUintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size += 1;
  }
  return size;
}

const varIntSize = (value: number): number => varUintSize(zigZag32(value));
/** ZigZag of a safe integer as a non-negative number (no 64-bit bitwise in JavaScript numbers). */
const zigZag64 = (value: number): number => (value >= 0 ? value * 2 : -value * 2 - 1);
const varLongSize = (value: number): number => varUintSize(zigZag64(value));

function toBigInt(value: Int64Like): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'object') return value.value;
  return BigInt(value);
}

interface HeaderEntry {
  readonly name: string;
  readonly value: Buffer | string;
}

function headerEntries(headers: ProduceMessage['headers']): HeaderEntry[] {
  const entries: HeaderEntry[] = [];
  for (const name in headers) {
    const raw = headers[name] as Buffer | string | ReadonlyArray<Buffer | string>;
    if (Array.isArray(raw)) for (const value of raw as ReadonlyArray<Buffer | string>) entries.push({ name, value });
    else entries.push({ name, value: raw as Buffer | string });
  }
  return entries;
}

/** One record's fields, sized once and written later. */
interface Sized {
  readonly message: ProduceMessage;
  readonly headers: HeaderEntry[];
  readonly timestampDelta: number;
  readonly bodySize: number;
}

class Writer {
  offset = 0;
  constructor(readonly buffer: Buffer) {}

  int8(value: number): void {
    this.buffer.writeInt8(value, this.offset);
    this.offset += 1;
  }
  int16(value: number): void {
    this.buffer.writeInt16BE(value, this.offset);
    this.offset += 2;
  }
  int32(value: number): void {
    this.buffer.writeInt32BE(value, this.offset);
    this.offset += 4;
  }
  int64(value: bigint): void {
    this.buffer.writeBigInt64BE(BigInt.asIntN(64, value), this.offset);
    this.offset += 8;
  }
  varUint(value: number): void {
    const buffer = this.buffer;
    while (value >= 0x80) {
      buffer[this.offset++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    buffer[this.offset++] = value;
  }
  varInt(value: number): void {
    this.varUint(zigZag32(value));
  }
  varLong(value: number): void {
    this.varUint(zigZag64(value));
  }
  raw(value: Buffer | string): void {
    this.offset += isText(value) ? this.buffer.write(value, this.offset, 'utf8') : value.copy(this.buffer, this.offset);
  }
  /** A string with an int16 length; null as -1. */
  string(value: string | null): void {
    if (value === null) {
      this.int16(-1);
      return;
    }
    this.int16(Buffer.byteLength(value, 'utf8'));
    this.raw(value);
  }
  /** Bytes with a varint length; null as -1. */
  varBytes(value: Buffer | string | null | undefined): void {
    if (value === null || value === undefined) {
      this.varInt(-1);
      return;
    }
    this.varInt(byteLength(value));
    this.raw(value);
  }
}

const varBytesSize = (value: Buffer | string | null | undefined): number => {
  if (value === null || value === undefined) return varIntSize(-1);
  const size = byteLength(value);
  return varIntSize(size) + size;
};

function sizeRecords(messages: readonly ProduceMessage[], now: number): { sized: Sized[]; firstTimestamp: number; maxTimestamp: number; size: number } {
  let first = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const message of messages) {
    if (message.timestamp === undefined || message.timestamp === null) continue;
    const timestamp = Number(message.timestamp);
    if (timestamp < first) first = timestamp;
    if (timestamp > max) max = timestamp;
  }
  if (first === Number.POSITIVE_INFINITY) first = max = now;
  const sized: Sized[] = [];
  let size = 0;
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i] as ProduceMessage;
    const headers = headerEntries(message.headers);
    // A message without a timestamp takes the time of the request; kafkajs tests the value as
    // given, so the number 0 counts as none and the string '0' as the epoch.
    const timestampDelta = (message.timestamp ? Number(message.timestamp) : now) - first;
    let headersSize = varIntSize(headers.length);
    for (const header of headers) headersSize += varBytesSize(header.name) + varBytesSize(header.value);
    const bodySize = 1 + varLongSize(timestampDelta) + varIntSize(i) + varBytesSize(message.key) + varBytesSize(message.value) + headersSize;
    sized.push({ message, headers, timestampDelta, bodySize });
    size += varIntSize(bodySize) + bodySize;
  }
  return { sized, firstTimestamp: first, maxTimestamp: max, size };
}

/** The body of a Produce request (no request header: kafkajs adds it), in one buffer. */
export function encodeProduceRequest(body: ProduceRequestBody, now = Date.now()): Buffer {
  const producerId = toBigInt(body.producerId);
  const attributes = body.transactionalId ? TRANSACTIONAL : 0;
  const topics = body.topicData.map(({ topic, partitions }) => ({
    topic,
    partitions: partitions.map((partition) => ({ partition, ...sizeRecords(partition.messages, now) })),
  }));
  let total = 2 + (body.transactionalId === null ? 0 : Buffer.byteLength(body.transactionalId, 'utf8')) + 2 + 4 + 4;
  for (const { topic, partitions } of topics) {
    total += 2 + Buffer.byteLength(topic, 'utf8') + 4;
    for (const { size } of partitions) total += 4 + 4 + BATCH_HEADER + size;
  }
  const out = new Writer(Buffer.allocUnsafe(total));
  out.string(body.transactionalId);
  out.int16(body.acks);
  out.int32(body.timeout);
  out.int32(topics.length);
  for (const { topic, partitions } of topics) {
    out.string(topic);
    out.int32(partitions.length);
    for (const { partition, sized, firstTimestamp, maxTimestamp, size } of partitions) {
      out.int32(partition.partition);
      out.int32(BATCH_HEADER + size);
      const start = out.offset;
      out.int64(0n);
      out.int32(BATCH_HEADER + size - 12);
      out.int32(0); // partition leader epoch: kafkajs sends 0; brokers ignore a producer's
      out.int8(MAGIC);
      out.offset += 4; // the CRC, once the rest is written
      out.int16(attributes);
      out.int32(sized.length - 1);
      out.int64(BigInt(firstTimestamp));
      out.int64(BigInt(maxTimestamp));
      out.int64(producerId);
      out.int16(body.producerEpoch);
      out.int32(partition.firstSequence ?? 0);
      out.int32(sized.length);
      for (let i = 0; i < sized.length; i++) {
        const { message, headers, timestampDelta, bodySize } = sized[i] as Sized;
        out.varInt(bodySize);
        out.int8(0);
        out.varLong(timestampDelta);
        out.varInt(i);
        out.varBytes(message.key);
        out.varBytes(message.value);
        out.varInt(headers.length);
        for (const header of headers) {
          out.varBytes(header.name);
          out.varBytes(header.value);
        }
      }
      out.buffer.writeUInt32BE(batchCrc32c(out.buffer, start + CRC_START, out.offset), start + 17);
    }
  }
  if (out.offset !== total) throw new Error(`produce encoder sized ${total} bytes but wrote ${out.offset}`);
  return out.buffer;
}

/** The CRC-32C of @node-rs/crc32 (the CPU's CRC instruction, about 15 times the JavaScript one), if its binary loads here. */
const nativeCrc32c: ((input: Buffer) => number) | undefined = (() => {
  try {
    return (createRequire(import.meta.url)('@node-rs/crc32') as { crc32c(input: Buffer): number }).crc32c;
  } catch {
    return undefined;
  }
})();

/** CRC-32C of `buffer[start, end)`, as Kafka's record batches use: native when it can be, else JavaScript. */
export function batchCrc32c(buffer: Buffer, start: number, end: number): number {
  return nativeCrc32c === undefined ? crc32c(buffer, start, end) : nativeCrc32c(buffer.subarray(start, end));
}

/** CRC-32C (Castagnoli) tables for slicing by 8: eight bytes per step instead of one. */
const CRC_TABLES: readonly Int32Array[] = (() => {
  const tables = Array.from({ length: 8 }, () => new Int32Array(256));
  const first = tables[0] as Int32Array;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    first[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = first[n] as number;
    for (let t = 1; t < 8; t++) {
      c = (first[c & 0xff] as number) ^ (c >>> 8);
      (tables[t] as Int32Array)[n] = c;
    }
  }
  return tables;
})();

/** CRC-32C of `buffer[start, end)` in JavaScript (slicing by 8). */
export function crc32c(buffer: Uint8Array, start = 0, end = buffer.length): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC_TABLES as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];
  let crc = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = (buffer[i] as number) | ((buffer[i + 1] as number) << 8) | ((buffer[i + 2] as number) << 16) | ((buffer[i + 3] as number) << 24);
    crc ^= a;
    crc =
      (t7[crc & 0xff] as number) ^
      (t6[(crc >>> 8) & 0xff] as number) ^
      (t5[(crc >>> 16) & 0xff] as number) ^
      (t4[crc >>> 24] as number) ^
      (t3[buffer[i + 4] as number] as number) ^
      (t2[buffer[i + 5] as number] as number) ^
      (t1[buffer[i + 6] as number] as number) ^
      (t0[buffer[i + 7] as number] as number);
  }
  for (; i < end; i++) crc = (t0[(crc ^ (buffer[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
