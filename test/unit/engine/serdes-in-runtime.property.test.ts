import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamsBuilder, Serdes, type Serde } from '../../../src/index.ts';
import { TopologyTestDriver } from '../../../src/testing/index.ts';

const ratingSchema = new URL('../../fixtures/avro/rating-event.avsc', import.meta.url).pathname;

const validRating = fc.record({
  id: fc.string({ minLength: 1 }),
  productId: fc.string(),
  userId: fc.string(),
  score: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  comment: fc.option(fc.string(), { nil: null }),
  timestamp: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
});

const serdes: ReadonlyArray<readonly [string, () => Serde<unknown>, fc.Arbitrary<unknown>]> = [
  ['string', () => Serdes.string() as Serde<unknown>, fc.string()],
  ['json', () => Serdes.json(), fc.jsonValue()],
  ['avro', () => Serdes.avroFromFile(ratingSchema), validRating],
];

/** Payloads of every kind: random bytes, random JSON text, and some that are valid for each serde. */
const payload = (serde: Serde<unknown>, valid: fc.Arbitrary<unknown>) =>
  fc.oneof(
    fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
    fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
    valid.map((value) => serde.serialize(value, 'in') as Buffer),
    fc.string().map((text) => Buffer.from(text)),
  );

describe('random bytes through the runtime never crash it; every bad record is dead-lettered with its reason', () => {
  for (const [name, make, valid] of serdes) {
    it(`${name} serde`, () => {
      const serde = make();
      fc.assert(
        fc.property(fc.array(payload(serde, valid), { minLength: 1, maxLength: 25 }), (payloads) => {
          const builder = new StreamsBuilder();
          builder.stream('in', { keySerde: 'bytes', valueSerde: serde }).to('out', { keySerde: 'bytes', valueSerde: serde });
          const driver = new TopologyTestDriver(builder.build());
          const input = driver.createInputTopic<Buffer, unknown>('in', { keySerde: 'bytes', valueSerde: serde });
          payloads.forEach((bytes, index) => input.pipeRaw(Buffer.from(`k${index}`), bytes));

          const out = driver.createOutputTopic<Buffer, unknown>('out', { keySerde: 'bytes', valueSerde: 'bytes' }).readRecordsToList();
          const dead = driver.deadLetters();
          expect(out.length + dead.length).toBe(payloads.length);
          for (const letter of dead) {
            const offset = Number(letter.error.sourceOffset);
            expect(letter.value).toEqual(payloads[offset]);
            expect(letter.key?.toString()).toBe(`k${offset}`);
            expect(letter.error.errorCode).toBe('DESERIALIZATION_FAILED');
            expect(letter.error.errorStage).toBe('deserialization');
            expect(letter.error.errorMessage?.length).toBeGreaterThan(0);
          }
          // Every input offset is done: written or dead-lettered.
          expect(driver.committedOffset('in')).toBe(payloads.length);
        }),
        { numRuns: 200 },
      );
    });
  }
});
