import type { Serde } from './serde.ts';
import { deserializationFailure, describeKind, reasonOf, serializationFailure } from './serde-failure.ts';
import { decodeUtf8Strict } from './utf8.ts';

const NAME = 'json';

/**
 * Checks a parsed JSON value: either a type guard (`value is T`; `false` rejects) or a parser that
 * returns the value as `T` (throwing rejects, and its message becomes the reason).
 *
 * A function that returns a boolean is read as a guard, so a parser whose `T` is `boolean` must be
 * written as a guard.
 */
export type JsonValidator<T> = ((value: unknown) => value is T) | ((value: unknown) => T);

export interface JsonSerdeOptions<T> {
  /** Run on every deserialized non-null value; a rejection is a `DeserializationError`. */
  readonly validate?: JsonValidator<T>;
}

/**
 * JSON text in UTF-8: `JSON.stringify` out, strict UTF-8 + `JSON.parse` in, with an optional
 * guard or parser so a topology gets typed values or a dead letter, never an unchecked cast.
 *
 * Serializing a value JSON cannot hold (a BigInt, a circular object, a function, `undefined`) is a
 * `SerializationError`. `JSON.stringify` semantics otherwise apply (`NaN` becomes `null`, `Date`
 * an ISO string). A `null` value is a tombstone (no bytes); the payload `null` decodes to `null`
 * without calling `validate`, like an absent value.
 *
 * @example
 * const isUser = (v: unknown): v is User => typeof v === 'object' && v !== null && 'id' in v;
 * builder.table('users', { keySerde: stringSerde(), valueSerde: jsonSerde({ validate: isUser }) });
 */
export function jsonSerde<T = unknown>(options: JsonSerdeOptions<T> = {}): Serde<T> {
  const { validate } = options;
  return Object.freeze({
    name: NAME,
    serialize(value: T | null, topic: string): Buffer | null {
      if (value === null) return null;
      return Buffer.from(stringify(value, topic), 'utf8');
    },
    deserialize(data: Buffer | null, topic: string): T | null {
      if (data === null) return null;
      const parsed = parse(data, topic);
      if (parsed === null || validate === undefined) return parsed as T | null;
      return check(parsed, validate, data, topic);
    },
  });
}

function stringify(value: unknown, topic: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    // BigInt and circular structures land here; V8's messages name the constructor and property
    // path, not the data.
    throw serializationFailure(NAME, topic, `JSON cannot represent the value (${reasonOf(error)})`, error);
  }
  if (text === undefined) throw serializationFailure(NAME, topic, `JSON cannot represent a value of type ${describeKind(value)}`);
  return text;
}

function parse(data: Buffer, topic: string): unknown {
  let text: string;
  try {
    // RFC 8259 lets a parser ignore a byte-order mark; JSON.parse would reject it.
    text = decodeUtf8Strict(data).replace(/^\ufeff/, '');
  } catch (error) {
    throw deserializationFailure(NAME, topic, data, `payload is not valid UTF-8 (${reasonOf(error)})`, error);
  }
  if (text.trim() === '') throw deserializationFailure(NAME, topic, data, 'payload is empty, which is not JSON');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw deserializationFailure(NAME, topic, data, `payload is not valid JSON (${withoutSourceExcerpt(reasonOf(error))})`, error);
  }
}

function check<T>(parsed: unknown, validate: JsonValidator<T>, data: Buffer, topic: string): T {
  const by = validate.name === '' ? 'validate' : validate.name;
  let result: unknown;
  try {
    result = validate(parsed);
  } catch (error) {
    throw deserializationFailure(NAME, topic, data, `value rejected by ${by}: ${reasonOf(error)}`, error);
  }
  if (result === false) throw deserializationFailure(NAME, topic, data, `value rejected by ${by}`);
  return (result === true ? parsed : result) as T;
}

/**
 * V8 quotes part of the input in `JSON.parse` errors (`Unexpected token 'x', "{"pass…" is not valid
 * JSON`); the quote can be the whole payload, so it is cut. The full message stays on `cause`.
 */
function withoutSourceExcerpt(message: string): string {
  return message.replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, '').slice(0, 160);
}
