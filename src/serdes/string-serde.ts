import type { Serde } from './serde.ts';
import { deserializationFailure, describeKind, reasonOf, serializationFailure } from './serde-failure.ts';
import { decodeUtf8Strict, findLoneSurrogate } from './utf8.ts';

const NAME = 'string';

const STRING_SERDE: Serde<string> = Object.freeze({
  name: NAME,
  serialize(value: string | null, topic: string): Buffer | null {
    if (value === null) return null;
    if (typeof value !== 'string') throw serializationFailure(NAME, topic, `expected a string, got ${describeKind(value)}`);
    const surrogate = findLoneSurrogate(value);
    if (surrogate >= 0) {
      throw serializationFailure(NAME, topic, `the string has a lone UTF-16 surrogate at index ${surrogate}, which UTF-8 cannot encode`);
    }
    return Buffer.from(value, 'utf8');
  },
  deserialize(data: Buffer | null, topic: string): string | null {
    if (data === null) return null;
    try {
      return decodeUtf8Strict(data);
    } catch (error) {
      throw deserializationFailure(NAME, topic, data, `payload is not valid UTF-8 (${reasonOf(error)})`, error);
    }
  },
});

/**
 * UTF-8 strings, strictly: bytes that are not valid UTF-8 and strings with lone surrogates fail
 * instead of turning into U+FFFD.
 *
 * Like Kafka's `StringSerde`, but a corrupt record becomes a `DeserializationError` (and so a
 * dead letter) rather than a quietly mangled string. The empty string is a value; `null` is a
 * tombstone.
 *
 * @example builder.stream('ratings', { keySerde: stringSerde(), valueSerde: avroSerde(type) })
 */
export function stringSerde(): Serde<string> {
  return STRING_SERDE;
}
