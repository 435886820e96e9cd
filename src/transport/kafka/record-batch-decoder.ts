/**
 * Reads an uncompressed v2 record batch of a Fetch response into the records kafkajs hands on,
 * without kafkajs' per-record detours: kafkajs builds a decoder object per record and does every
 * offset, timestamp and varlong in 64-bit BigInt wrappers (a dozen allocations per record, the
 * largest share of the consumer's garbage on the enrichment benchmark). Here the batch is read in
 * place with plain numbers, falling back to BigInt only for values beyond 2^53.
 *
 * The result is what kafkajs' decoder gives, field for field (a property test holds it to that),
 * including its quirks (a header repeated on the wire becomes an array; a header named after an
 * `Object.prototype` member merges with it). Anything else, a compressed batch, a partial one, or
 * bytes that do not parse cleanly, goes to kafkajs' own decoder, which then throws or decodes as
 * it always did.
 */

/** kafkajs' decoder object for a Fetch response: its buffer and where it stands. */
export interface FetchDecoder {
  buffer: Buffer;
  offset: number;
}

export interface DecodedBatch {
  readonly firstOffset: string;
  readonly records: DecodedRecord[];
  readonly [field: string]: unknown;
}

export interface DecodedRecord {
  readonly magicByte: number;
  readonly attributes: number;
  readonly timestamp: string;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, unknown>;
  readonly isControlRecord: boolean;
  readonly batchContext: Record<string, unknown>;
}

export type BatchDecoder = (decoder: FetchDecoder) => Promise<DecodedBatch>;

const TIMESTAMP_TYPE_FLAG = 0x8;
const TRANSACTIONAL_FLAG = 0x10;
const CONTROL_FLAG = 0x20;
const COMPRESSION_MASK = 0x7;
const LOG_APPEND_TIME = 1;
const CREATE_TIME = 0;
/** Bytes of a batch after its length field and before its records. */
const BATCH_HEADER = 49;

/** Thrown inside to give up on the fast path; never escapes. */
class Irregular extends Error {}
const IRREGULAR = new Irregular();

class Cursor {
  constructor(
    readonly buffer: Buffer,
    public pos: number,
    public end: number,
  ) {}

  byte(): number {
    if (this.pos >= this.end) throw IRREGULAR;
    return this.buffer[this.pos++] as number;
  }

  /** kafkajs' `readVarInt`, to the bit: 32-bit shifts that wrap past four bytes, then zigzag. */
  varInt(): number {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = this.byte();
      result += (byte & 0x7f) << shift;
      shift += 7;
    } while (byte >= 0x80);
    return (result >>> 1) ^ -(result & 1);
  }

  /** A zigzag varlong of up to seven bytes (|value| < 2^48) as a number; longer ones leave the fast path. */
  varLong(): number {
    let result = 0;
    let scale = 1;
    let byte: number;
    let count = 0;
    do {
      if (++count > 7) throw IRREGULAR;
      byte = this.byte();
      result += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte >= 0x80);
    return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
  }

  /** Bytes with a varint length: null for -1, a view (not a copy) as kafkajs gives. */
  bytes(): Buffer | null {
    const length = this.varInt();
    if (length === -1) return null;
    if (length < 0 || this.pos + length > this.end) throw IRREGULAR;
    const view = this.buffer.subarray(this.pos, this.pos + length);
    this.pos += length;
    return view;
  }

  text(): string | null {
    const length = this.varInt();
    if (length === -1) return null;
    if (length < 0 || this.pos + length > this.end) throw IRREGULAR;
    const value = this.buffer.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return value;
  }
}

/** `base + delta` as kafkajs' Long would print it. */
function plus(base: number, baseText: string, delta: number): string {
  const sum = base + delta;
  return Number.isSafeInteger(base) && Number.isSafeInteger(sum) ? String(sum) : String(BigInt(baseText) + BigInt(delta));
}

/** kafkajs' header object: one key per name, an array when the name repeats (its `reduce`, without the copies). */
function headersOf(cursor: Cursor): Record<string, unknown> {
  const count = cursor.varInt();
  const headers: Record<string, unknown> = {};
  if (count === -1) return headers;
  if (count < 0) throw IRREGULAR;
  for (let i = 0; i < count; i++) {
    const name = String(cursor.text());
    const value = cursor.bytes();
    const current = headers[name];
    const next = current === undefined ? value : Array.isArray(current) ? current.concat([value]) : [current, value];
    // A computed key in kafkajs' object literal makes even `__proto__` an own property.
    Object.defineProperty(headers, name, { value: next, writable: true, enumerable: true, configurable: true });
  }
  return headers;
}

function decodeInPlace(decoder: FetchDecoder): { batch: DecodedBatch; next: number } | undefined {
  const buffer = decoder.buffer;
  const at = decoder.offset;
  if (at + 12 > buffer.length) return undefined;
  const length = buffer.readInt32BE(at + 8);
  const start = at + 12;
  const end = start + length;
  if (length < BATCH_HEADER || end > buffer.length) return undefined;
  const attributes = buffer.readInt16BE(start + 9);
  if ((attributes & COMPRESSION_MASK) !== 0) return undefined;
  const firstOffsetBig = buffer.readBigInt64BE(at);
  const firstOffset = firstOffsetBig.toString();
  const firstTimestamp = buffer.readBigInt64BE(start + 15).toString();
  const maxTimestamp = buffer.readBigInt64BE(start + 23).toString();
  const timestampType = (attributes & TIMESTAMP_TYPE_FLAG) > 0 ? LOG_APPEND_TIME : CREATE_TIME;
  const isControlBatch = (attributes & CONTROL_FLAG) > 0;
  const recordContext = {
    firstOffset,
    firstTimestamp,
    partitionLeaderEpoch: buffer.readInt32BE(start),
    inTransaction: (attributes & TRANSACTIONAL_FLAG) > 0,
    isControlBatch,
    lastOffsetDelta: buffer.readInt32BE(start + 11),
    producerId: buffer.readBigInt64BE(start + 31).toString(),
    producerEpoch: buffer.readInt16BE(start + 39),
    firstSequence: buffer.readInt32BE(start + 41),
    maxTimestamp,
    timestampType,
  };
  const magicByte = buffer.readInt8(start + 4);
  const batchContext = { ...recordContext, magicByte };
  const count = buffer.readInt32BE(start + 45);
  const records: DecodedRecord[] = [];
  if (count !== -1) {
    if (count < 0) return undefined;
    const offsetBase = Number(firstOffsetBig);
    const timestampBase = Number(firstTimestamp);
    const logAppendTime = timestampType === LOG_APPEND_TIME;
    const cursor = new Cursor(buffer, start + BATCH_HEADER, end);
    try {
      for (let i = 0; i < count; i++) {
        const size = cursor.varInt();
        if (size < 0 || cursor.pos + size > end) return undefined;
        const recordEnd = cursor.pos + size;
        const outer = cursor.end;
        cursor.end = recordEnd;
        const recordAttributes = buffer.readInt8(cursor.pos);
        cursor.pos += 1;
        if (cursor.pos > recordEnd) return undefined;
        const timestampDelta = cursor.varLong();
        const offsetDelta = cursor.varInt();
        const key = cursor.bytes();
        const value = cursor.bytes();
        const headers = headersOf(cursor);
        records.push({
          magicByte,
          attributes: recordAttributes,
          timestamp: logAppendTime ? maxTimestamp : plus(timestampBase, firstTimestamp, timestampDelta),
          offset: plus(offsetBase, firstOffset, offsetDelta),
          key,
          value,
          headers,
          isControlRecord: isControlBatch,
          batchContext,
        });
        cursor.pos = recordEnd;
        cursor.end = outer;
      }
    } catch (error) {
      if (error === IRREGULAR) return undefined;
      throw error;
    }
  }
  return { batch: { ...recordContext, records }, next: end };
}

/** kafkajs' record batch decoder with the fast path in front of it. */
export function fastRecordBatchDecoder(original: BatchDecoder): BatchDecoder {
  return async (decoder) => {
    const decoded = decodeInPlace(decoder);
    if (decoded === undefined) return original(decoder);
    decoder.offset = decoded.next;
    return decoded.batch;
  };
}
