import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeserializationError, SerializationError } from '../../../src/errors/streams-error.ts';
import { avroSerdeFromFile, bytesSerde, jsonSerde, type Serde, stringSerde } from '../../../src/serdes/index.ts';
import { RATING_EVENT_AVSC, type RatingEvent } from './rating-event.ts';

const RUNS = { numRuns: 1_000 };
const TOPIC = 'property';

const avro = avroSerdeFromFile<RatingEvent>(RATING_EVENT_AVSC);
const serdes: ReadonlyArray<Serde<unknown>> = [stringSerde(), jsonSerde(), bytesSerde(), avro];

/** Runs `fn`; a throw is allowed only if it is `allowed`, with a one-line message and no huge payload. */
function decodeOrReject<T>(fn: () => T, allowed: typeof DeserializationError | typeof SerializationError): { ok: true; value: T } | { ok: false } {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    if (!(error instanceof allowed)) throw error;
    expect(error.message).not.toContain('\n');
    expect(error.message.length).toBeLessThan(1_000);
    return { ok: false };
  }
}

const ratingEvent: fc.Arbitrary<RatingEvent> = fc.record({
  id: fc.string({ unit: 'grapheme' }),
  productId: fc.string(),
  userId: fc.string({ unit: 'binary' }),
  score: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  comment: fc.option(fc.string({ unit: 'grapheme' }), { nil: null }),
  timestamp: fc.oneof(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.maxSafeInteger()),
});

/** Everything fast-check can build, including BigInts, Maps, null-prototype objects and boxed values. */
const anything = fc.anything({
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withNullPrototype: true,
  withSet: true,
  withSparseArray: true,
  withTypedArray: true,
});

/** Any UTF-16 string, including lone surrogates. */
const utf16 = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)) });

describe.each(serdes.map((serde) => [serde.name, serde] as const))('%s serde never crashes', (_name, serde) => {
  it('decodes random bytes or throws a DeserializationError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => {
        decodeOrReject(() => serde.deserialize(Buffer.from(bytes), TOPIC), DeserializationError);
      }),
      RUNS,
    );
  });

  it('decodes serialized random JSON or throws a DeserializationError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        decodeOrReject(() => serde.deserialize(Buffer.from(JSON.stringify(value), 'utf8'), TOPIC), DeserializationError);
      }),
      RUNS,
    );
  });

  it('serializes anything or throws a SerializationError, and decodes whatever it wrote', () => {
    fc.assert(
      fc.property(anything, (value) => {
        const written = decodeOrReject(() => serde.serialize(value, TOPIC), SerializationError);
        if (written.ok) expect(() => serde.deserialize(written.value, TOPIC)).not.toThrow();
      }),
      RUNS,
    );
  });
});

describe('serde properties', () => {
  it('json decodes every JSON text to what JSON.parse reads', () => {
    const json = jsonSerde();
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        expect(json.deserialize(Buffer.from(text, 'utf8'), TOPIC)).toEqual(JSON.parse(text));
      }),
      RUNS,
    );
  });

  it('string round-trips every well-formed string and refuses the rest', () => {
    const strings = stringSerde();
    fc.assert(
      fc.property(utf16, (text) => {
        const written = decodeOrReject(() => strings.serialize(text, TOPIC), SerializationError);
        if (written.ok) expect(strings.deserialize(written.value, TOPIC)).toBe(text);
        else expect(text).toMatch(/\p{Cs}/u);
      }),
      RUNS,
    );
  });

  it('avro round-trips every valid RatingEvent exactly', () => {
    fc.assert(
      fc.property(ratingEvent, (event) => {
        expect(avro.deserialize(avro.serialize(event, TOPIC), TOPIC)).toEqual(event);
      }),
      RUNS,
    );
  });

  it('avro rejects or decodes a valid record with a byte changed, cut off or appended', () => {
    const mutation = fc.tuple(ratingEvent, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'cut', 'append'));
    fc.assert(
      fc.property(mutation, ([event, position, byte, kind]) => {
        const bytes = avro.serialize(event, TOPIC) ?? Buffer.alloc(0);
        const at = position % bytes.length;
        const mutated =
          kind === 'flip'
            ? Buffer.from(bytes).fill(byte, at, at + 1)
            : kind === 'cut'
              ? bytes.subarray(0, at)
              : Buffer.concat([bytes, Buffer.from([byte])]);
        const decoded = decodeOrReject(() => avro.deserialize(mutated, TOPIC), DeserializationError);
        if (kind !== 'flip') expect(decoded.ok).toBe(false);
      }),
      RUNS,
    );
  });

  it('avro serializes near-miss records or names what is wrong', () => {
    const nearMiss = fc.record(
      { id: anything, productId: fc.string(), userId: fc.string(), score: anything, comment: anything, timestamp: anything },
      { requiredKeys: ['productId', 'userId'] },
    );
    fc.assert(
      fc.property(nearMiss, (value) => {
        const written = decodeOrReject(() => avro.serialize(value as unknown as RatingEvent, TOPIC), SerializationError);
        if (written.ok) expect(() => avro.deserialize(written.value, TOPIC)).not.toThrow();
      }),
      RUNS,
    );
  });
});
