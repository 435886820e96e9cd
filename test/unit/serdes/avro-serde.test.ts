import avro from 'avsc';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeserializationError, SchemaError, SerializationError } from '../../../src/errors/streams-error.ts';
import { avroSerde, avroSerdeFromFile, loadAvroSchema, Serdes } from '../../../src/serdes/index.ts';
import { expectStreamsError } from './expect-error.ts';
import { RATING_EVENT_AVSC, type RatingEvent, sampleRating } from './rating-event.ts';

const NAME = 'avro(com.ubos.openclaw.RatingEvent)';
const serde = avroSerdeFromFile<RatingEvent>(RATING_EVENT_AVSC);
const encode = (event: RatingEvent): Buffer => {
  const bytes = serde.serialize(event, 'ratings');
  if (bytes === null) throw new Error('expected bytes');
  return bytes;
};

/** Avro's encoding of a long, computed independently of avsc: zigzag, then base-128 little-endian. */
function zigzagVarint(long: bigint): Buffer {
  let zigzag = BigInt.asUintN(64, (long << 1n) ^ (long >> 63n));
  const bytes: number[] = [];
  do {
    const low = Number(zigzag & 0x7fn);
    zigzag >>= 7n;
    bytes.push(zigzag === 0n ? low : low | 0x80);
  } while (zigzag !== 0n);
  return Buffer.from(bytes);
}

/** A RatingEvent payload whose last field, the timestamp, is the given raw bytes. */
function withTimestampBytes(timestamp: Buffer): Buffer {
  const bytes = encode(sampleRating({ timestamp: 0 }));
  return Buffer.concat([bytes.subarray(0, bytes.length - 1), timestamp]);
}

/** The same record layout with wider types, to write bytes RatingEvent must refuse. */
const looseType = avro.Type.forSchema({
  type: 'record',
  name: 'Loose',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'productId', type: 'string' },
    { name: 'userId', type: 'string' },
    { name: 'score', type: 'long' },
    { name: 'comment', type: ['null', 'string'] },
    { name: 'timestamp', type: 'long' },
  ],
});

describe('avro serde', () => {
  it('is named after the record full name, however it is built', () => {
    expect(serde.name).toBe(NAME);
    expect(avroSerde(loadAvroSchema(RATING_EVENT_AVSC)).name).toBe(NAME);
    expect(Serdes.avro({ type: 'record', name: 'User', namespace: 'com.example', fields: [{ name: 'id', type: 'string' }] }).name).toBe(
      'avro(com.example.User)',
    );
  });

  it('refuses a schema that is not a record', () => {
    expectStreamsError(() => avroSerde(avro.Type.forSchema('string')), SchemaError, 'SCHEMA_LOAD_FAILED', /needs a named record schema, got a string/);
    expectStreamsError(
      () => avroSerde({ type: 'record', name: 'Bad', fields: [{ name: 'x', type: 'nope' }] }),
      SchemaError,
      'SCHEMA_LOAD_FAILED',
      /undefined type name: nope/,
    );
  });

  describe('round trips', () => {
    it.each([
      ['a full rating', sampleRating()],
      ['a null comment', sampleRating({ comment: null })],
      ['an empty comment and ids', sampleRating({ id: '', productId: '', userId: '', comment: '' })],
      ['unicode text', sampleRating({ comment: 'crème brûlée 評価 👍🏽 ⭐️⭐️⭐️⭐️⭐️' })],
      ['a genuine U+FFFD in text', sampleRating({ comment: 'replacement \uFFFD character' })],
      ['int limits', sampleRating({ score: -2_147_483_648 })],
      ['the largest safe long', sampleRating({ timestamp: Number.MAX_SAFE_INTEGER })],
      ['the smallest safe long', sampleRating({ timestamp: -Number.MAX_SAFE_INTEGER })],
      ['a negative long below -2^52, which avsc default long flips to positive', sampleRating({ timestamp: -(2 ** 52) - 1 })],
      ['a negative long', sampleRating({ timestamp: -1 })],
    ])('keeps %s', (_label, event) => {
      expect(serde.deserialize(encode(event), 'ratings')).toEqual(event);
    });

    it('writes every safe long as the standard zigzag varint and reads it back exactly', () => {
      fc.assert(
        fc.property(fc.oneof(fc.maxSafeInteger(), fc.integer(), fc.constantFrom(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 32, -(2 ** 32), -(2 ** 52) - 1, 0, -1)), (timestamp) => {
          const bytes = encode(sampleRating({ timestamp }));
          const expected = zigzagVarint(BigInt(timestamp));
          // The timestamp is the record's last field.
          expect(bytes.subarray(bytes.length - expected.length).equals(expected)).toBe(true);
          expect(serde.deserialize(bytes, 'ratings')?.timestamp).toBe(timestamp);
        }),
      );
    });

    it('keeps records larger than its scratch buffer (64 KiB) and small ones after them, each in bytes of its own', () => {
      const big = sampleRating({ comment: 'x'.repeat(100_000) });
      const small = sampleRating({ comment: 'tiny' });
      const bigBytes = serde.serialize(big, 'ratings');
      const smallBytes = serde.serialize(small, 'ratings');
      const again = serde.serialize(sampleRating({ comment: 'other' }), 'ratings');
      expect(serde.deserialize(bigBytes, 'ratings')).toEqual(big);
      // A later serialize must not overwrite what an earlier one returned.
      expect(serde.deserialize(smallBytes, 'ratings')).toEqual(small);
      expect(serde.deserialize(again, 'ratings')?.comment).toBe('other');
    });

    it('keeps an ordinary Date.now() timestamp exactly', () => {
      const timestamp = Date.now();
      const decoded = serde.deserialize(encode(sampleRating({ timestamp })), 'ratings');
      expect(decoded?.timestamp).toBe(timestamp);
      expect(typeof decoded?.timestamp).toBe('number');
    });

    it('writes Avro binary any reader of the schema can decode', () => {
      const event = sampleRating();
      expect(loadAvroSchema(RATING_EVENT_AVSC).fromBuffer(encode(event))).toEqual(event);
    });

    it('serializes a missing optional field as null and ignores undeclared properties', () => {
      const { comment: _comment, ...withoutComment } = sampleRating();
      const bytes = serde.serialize({ ...withoutComment, extra: 'ignored' } as unknown as RatingEvent, 'ratings');
      expect(serde.deserialize(bytes, 'ratings')).toEqual({ ...withoutComment, comment: null });
    });

    it('passes null through both ways (a tombstone)', () => {
      expect(serde.serialize(null, 'ratings')).toBeNull();
      expect(serde.deserialize(null, 'ratings')).toBeNull();
    });
  });

  describe('deserialize failures', () => {
    it('rejects a truncated payload', () => {
      const bytes = encode(sampleRating());
      expectStreamsError(
        () => serde.deserialize(bytes.subarray(0, bytes.length - 1), 'ratings'),
        DeserializationError,
        'DESERIALIZATION_FAILED',
        new RegExp(`Cannot deserialize avro\\(com\\.ubos\\.openclaw\\.RatingEvent\\) from topic "ratings": truncated payload.*\\(payload ${bytes.length - 1} bytes: `),
      );
    });

    it('rejects an empty payload as truncated', () => {
      expectStreamsError(() => serde.deserialize(Buffer.alloc(0), 'ratings'), DeserializationError, 'DESERIALIZATION_FAILED', /truncated payload.*\(payload 0 bytes\)/);
    });

    it('rejects a negative string length', () => {
      // 0x01 is zigzag -1: the id would have length -1.
      expectStreamsError(() => serde.deserialize(Buffer.from([0x01, 0x00, 0x00, 0x00, 0x00, 0x00]), 't'), DeserializationError, 'DESERIALIZATION_FAILED', /truncated payload/);
    });

    it('rejects trailing garbage, counting it', () => {
      const bytes = Buffer.concat([encode(sampleRating()), Buffer.from([0xde, 0xad, 0xbe])]);
      expectStreamsError(() => serde.deserialize(bytes, 'ratings'), DeserializationError, 'DESERIALIZATION_FAILED', /3 trailing bytes after the record/);
    });

    it('rejects an out-of-range union index, keeping avsc error as cause', () => {
      const bytes = encode(sampleRating({ comment: null }));
      // Layout: id, productId, userId (length-prefixed), score (1 byte here), then the union index.
      const unionAt = 1 + 3 + 1 + 4 + 1 + 3 + 1;
      expect(bytes[unionAt]).toBe(0x00);
      bytes[unionAt] = 0x04; // zigzag 2: there are only branches 0 and 1
      const error = expectStreamsError(() => serde.deserialize(bytes, 'ratings'), DeserializationError, 'DESERIALIZATION_FAILED', /do not fit the schema \(invalid union index: 2\)/);
      expect(error.cause).toBeInstanceOf(Error);
    });

    it('rejects an int field holding more than 32 bits', () => {
      const bytes = looseType.toBuffer({ ...sampleRating(), score: 2 ** 40 });
      expectStreamsError(
        () => serde.deserialize(bytes, 'ratings'),
        DeserializationError,
        'DESERIALIZATION_FAILED',
        /decoded fields do not fit the schema: score: expected int, got integer beyond 32 bits/,
      );
    });

    it.each([2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n)])('rejects the long %s instead of rounding it', (long) => {
      const bytes = withTimestampBytes(zigzagVarint(long));
      const error = expectStreamsError(
        () => serde.deserialize(bytes, 'ratings'),
        DeserializationError,
        'DESERIALIZATION_FAILED',
        /do not fit the schema \(long beyond ±\(2\^53 - 1\) cannot be a JavaScript number exactly\)/,
      );
      expect(error.cause).toBeInstanceOf(Error);
    });

    it('reads longs written by any Avro writer exactly (Avro zigzag varints)', () => {
      for (const long of [0n, -1n, 1_718_000_000_123n, -(2n ** 52n) - 1n, 2n ** 53n - 1n, -(2n ** 53n) + 1n]) {
        expect(serde.deserialize(withTimestampBytes(zigzagVarint(long)), 'ratings')?.timestamp).toBe(Number(long));
        expect(encode(sampleRating({ timestamp: Number(long) })).subarray(-zigzagVarint(long).length)).toEqual(zigzagVarint(long));
      }
    });

    it('rejects a string that is not UTF-8, naming the field', () => {
      const bytes = encode(sampleRating({ comment: 'ab' }));
      const at = bytes.indexOf(Buffer.from('ab'));
      bytes[at] = 0xff;
      expectStreamsError(() => serde.deserialize(bytes, 'ratings'), DeserializationError, 'DESERIALIZATION_FAILED', /string fields are not valid UTF-8: comment/);
    });

    it('never puts more than 16 payload bytes in the message', () => {
      const bytes = Buffer.concat([encode(sampleRating({ comment: 'x'.repeat(500) })), Buffer.from([0])]);
      const error = expectStreamsError(() => serde.deserialize(bytes, 'ratings'), DeserializationError, 'DESERIALIZATION_FAILED', /1 trailing bytes/);
      expect(error.message).toContain(`(payload ${bytes.length} bytes: ${bytes.subarray(0, 16).toString('hex')}…)`);
      expect(error.message).not.toContain('xxxxxxxx');
      expect(error.message.length).toBeLessThan(200);
    });
  });

  describe('serialize failures', () => {
    it('names every bad field path, the expected type and what it got, not the value', () => {
      const bad = { ...sampleRating(), id: undefined, score: '5', comment: 42, timestamp: 1.5 } as unknown as RatingEvent;
      const error = expectStreamsError(() => serde.serialize(bad, 'ratings'), SerializationError, 'SERIALIZATION_FAILED', /Cannot serialize avro\(com\.ubos\.openclaw\.RatingEvent\) for topic "ratings": invalid fields: /);
      expect(error.message).toContain('id: expected string, got undefined');
      expect(error.message).toContain('score: expected int, got string');
      expect(error.message).toContain('comment: expected ["null","string"], got integer');
      expect(error.message).toContain('timestamp: expected long, got non-integer number');
      expect(error.message).not.toContain('productId');
    });

    it('names a value that is not a record at all', () => {
      expectStreamsError(() => serde.serialize('r-1' as unknown as RatingEvent, 't'), SerializationError, 'SERIALIZATION_FAILED', /value: expected com\.ubos\.openclaw\.RatingEvent, got string/);
    });

    it.each([
      ['a BigInt timestamp', { timestamp: 1n }, /timestamp: expected long, got bigint/],
      ['an unsafe long', { timestamp: 2 ** 60 }, /timestamp: expected long, got integer beyond 2\^53/],
      ['a long in a string', { timestamp: '1718000000123' }, /timestamp: expected long, got string/],
      ['an int out of range', { score: 2 ** 31 }, /score: expected int, got integer beyond 32 bits/],
    ])('rejects %s', (_label, overrides, message) => {
      expectStreamsError(() => serde.serialize({ ...sampleRating(), ...overrides } as unknown as RatingEvent, 't'), SerializationError, 'SERIALIZATION_FAILED', message);
    });

    it('lists nested paths in arrays and maps', () => {
      const nested = avroSerde({
        type: 'record',
        name: 'Basket',
        fields: [
          { name: 'items', type: { type: 'array', items: 'int' } },
          { name: 'labels', type: { type: 'map', values: 'string' } },
        ],
      });
      expectStreamsError(
        () => nested.serialize({ items: [1, 'two'], labels: { colour: 3 } }, 't'),
        SerializationError,
        'SERIALIZATION_FAILED',
        /items\.1: expected int, got string; labels\.colour: expected string, got integer/,
      );
    });
  });
});
