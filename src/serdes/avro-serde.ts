import avro, { type schema, type Type } from 'avsc';
import { SchemaError } from '../errors/streams-error.ts';
import { loadAvroSchema, parseAvroSchema } from './avro-schema.ts';
import type { Serde } from './serde.ts';
import { deserializationFailure, describeKind, reasonOf, serializationFailure } from './serde-failure.ts';

/** Records up to this size are encoded into a reused buffer (see `serialize`). */
const SCRATCH_BYTES = 64 * 1024;
/** Field problems listed in one message; the rest are counted, so a message stays one line. */
const MAX_LISTED_PROBLEMS = 10;
const REPLACEMENT_CHARACTER = '\uFFFD';
/** avsc's default `long` accepts at most ±(2^53 - 2), one short of `Number.MAX_SAFE_INTEGER`. */
const AVSC_LONG_LIMIT = 9_007_199_254_740_990;
const INT_MIN = -2_147_483_648;
const INT_MAX = 2_147_483_647;

/** An avsc `Type` for a record, or the record schema itself as parsed JSON. */
export type AvroRecordSchema = Type | schema.RecordType;

/**
 * Avro binary encoding (no header, no schema id) of one record schema, via avsc; named
 * `avro(<fullname>)`.
 *
 * Strict both ways, so a bad record becomes a dead letter instead of a wrong value:
 * - serialize validates first and names every bad field path (`score: expected int, got string`);
 * - deserialize rejects truncated payloads, trailing bytes, union/enum indexes and numbers outside
 *   their type (an `int` beyond 32 bits, a `long` beyond 2^53), and strings that are not UTF-8.
 *
 * `long` fields are JavaScript numbers: with a schema given as JSON or loaded by `loadAvroSchema`,
 * every safe integer (so any `Date.now()`) round-trips exactly and a long beyond ±(2^53 - 1) is
 * refused rather than rounded. An avsc `Type` built elsewhere is used as it is, with avsc's
 * default long, which is only exact from -2^52 to 2^53 - 2; prefer `parseAvroSchema`.
 *
 * Missing optional fields serialize as `null`; undeclared extra properties are ignored, as avsc
 * does.
 *
 * @example
 * const ratings = avroSerde<RatingEvent>(loadAvroSchema('schemas/rating-event.avsc'));
 * ratings.name; // 'avro(com.ubos.openclaw.RatingEvent)'
 */
export function avroSerde<T>(recordSchema: AvroRecordSchema): Serde<T> {
  const type = avro.Type.isType(recordSchema) ? (recordSchema as Type) : parseAvroSchema(recordSchema);
  if (type.typeName !== 'record' || type.name === undefined) {
    throw new SchemaError(`An Avro serde needs a named record schema, got a ${type.typeName} (${type.name ?? 'anonymous'})`);
  }
  const name = `avro(${type.name})`;
  /** Where records are encoded before they are copied out; a larger one goes through toBuffer. */
  const scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  return Object.freeze({
    name,
    serialize(value: T | null, topic: string): Buffer | null {
      if (value === null) return null;
      try {
        // avsc checks every value as it writes it and throws on the first bad one, so a valid value
        // (the usual case) is walked once; only a refused one is checked again to name every bad field.
        // Written into a scratch buffer and copied into a pooled one: avsc's own toBuffer allocates
        // a fresh zero-filled buffer per record, which was most of the serializer's cost.
        const end = type.encode(value, scratch, 0);
        if (end < 0) return type.toBuffer(value);
        const bytes = Buffer.allocUnsafe(end);
        scratch.copy(bytes, 0, 0, end);
        return bytes;
      } catch (error) {
        const problems = invalidFields(type, value);
        throw serializationFailure(name, topic, problems.length > 0 ? `invalid fields: ${listProblems(problems)}` : reasonOf(error), error);
      }
    },
    deserialize(data: Buffer | null, topic: string): T | null {
      if (data === null) return null;
      return decodeStrict(type, name, data, topic) as T;
    },
  });
}

/**
 * `avroSerde` for the record schema in an `.avsc` file; a bad file is a `SchemaError` at start-up.
 *
 * @example const valueSerde = avroSerdeFromFile<RatingEvent>('schemas/rating-event.avsc');
 */
export function avroSerdeFromFile<T>(path: string): Serde<T> {
  return avroSerde<T>(loadAvroSchema(path));
}

function decodeStrict(type: Type, name: string, data: Buffer, topic: string): unknown {
  let decoded: { value: unknown; offset: number };
  try {
    decoded = type.decode(data, 0);
  } catch (error) {
    // avsc throws for an out-of-range union or enum index, and the long type for a long beyond 2^53.
    throw deserializationFailure(name, topic, data, `the bytes do not fit the schema (${reasonOf(error)})`, error);
  }
  if (decoded.offset < 0) {
    throw deserializationFailure(name, topic, data, 'truncated payload: the bytes end before the record does (or a length prefix is negative)');
  }
  if (decoded.offset < data.length) {
    throw deserializationFailure(name, topic, data, `${data.length - decoded.offset} trailing bytes after the record`);
  }
  const problems = invalidFields(type, decoded.value);
  if (problems.length > 0) throw deserializationFailure(name, topic, data, `decoded fields do not fit the schema: ${listProblems(problems)}`);
  const notUtf8 = stringsWithInvalidUtf8(type, decoded.value, data);
  if (notUtf8.length > 0) throw deserializationFailure(name, topic, data, `string fields are not valid UTF-8: ${listProblems(notUtf8)}`);
  return decoded.value;
}

/** The bad fields of `value` as `path: expected <type>, got <kind>`; empty when the value is valid. */
function invalidFields(type: Type, value: unknown): string[] {
  const problems: string[] = [];
  const errorHook = (path: string[], bad: unknown, badType: Type): void => {
    const where = path.length === 0 ? 'value' : path.join('.');
    problems.push(`${where}: expected ${describeType(badType)}, got ${describeFound(bad, badType)}`);
  };
  try {
    if (!type.isValid(value, { errorHook }) && problems.length === 0) problems.push('value: does not match the schema');
  } catch (error) {
    problems.push(`value: cannot be checked (${reasonOf(error)})`);
  }
  return problems;
}

/**
 * avsc decodes invalid UTF-8 to U+FFFD without complaint. Only a string holding U+FFFD can come from
 * invalid bytes, and then re-encoding tells: genuine U+FFFD re-encodes to the same bytes. (Avro from
 * any standard writer is canonical, so the comparison has no false alarms in practice.)
 */
function stringsWithInvalidUtf8(type: Type, value: unknown, data: Buffer): string[] {
  // Nearly every record holds no U+FFFD at all: a scan that builds no paths settles it.
  if (!holdsReplacement(value)) return [];
  const suspects: string[] = [];
  collectReplacementStrings(value, [], suspects);
  if (suspects.length === 0 || type.toBuffer(value).equals(data)) return [];
  return suspects;
}

function holdsReplacement(value: unknown): boolean {
  if (typeof value === 'string') return value.includes(REPLACEMENT_CHARACTER);
  if (typeof value !== 'object' || value === null || Buffer.isBuffer(value)) return false;
  if (Array.isArray(value)) return value.some(holdsReplacement);
  for (const key of Object.keys(value)) if (holdsReplacement((value as Record<string, unknown>)[key])) return true;
  return false;
}

function collectReplacementStrings(value: unknown, path: string[], into: string[]): void {
  if (typeof value === 'string') {
    if (value.includes(REPLACEMENT_CHARACTER)) into.push(path.length === 0 ? 'value' : path.join('.'));
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => collectReplacementStrings(item, [...path, String(index)], into));
  } else if (typeof value === 'object' && value !== null && !Buffer.isBuffer(value)) {
    for (const [key, item] of Object.entries(value)) collectReplacementStrings(item, [...path, key], into);
  }
}

/** What a bad field holds, in terms of the type it should have had (an integer may be too wide for it). */
function describeFound(value: unknown, expected: Type): string {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) return describeKind(value);
  if (expected.typeName === 'int' && (value < INT_MIN || value > INT_MAX)) return 'integer beyond 32 bits';
  if (expected.typeName === 'long' && Math.abs(value) > AVSC_LONG_LIMIT) return `integer beyond ±${AVSC_LONG_LIMIT}`;
  return 'integer';
}

/** A short type name for messages: the full name of a named type, else its schema when short. */
function describeType(type: Type): string {
  if (type.name !== undefined) return type.name;
  const schemaOf = type.schema();
  const text = typeof schemaOf === 'string' ? schemaOf : JSON.stringify(schemaOf);
  return text.length <= 80 ? text : type.typeName;
}

function listProblems(problems: readonly string[]): string {
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).join('; ');
  const more = problems.length - MAX_LISTED_PROBLEMS;
  return more > 0 ? `${listed}; and ${more} more` : listed;
}
