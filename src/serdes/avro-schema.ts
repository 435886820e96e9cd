import { readFileSync } from 'node:fs';
import avro, { type Type } from 'avsc';
import { SchemaError } from '../errors/streams-error.ts';
import { reasonOf } from './serde-failure.ts';

const TWO_32 = 4_294_967_296;
/** avsc turns this into the varint right away, so one buffer serves every write. */
const SCRATCH = Buffer.alloc(8);

/**
 * A `long` that is exact for every safe integer. avsc's built-in long computes the zigzag varint in
 * floating point, which flips the sign of negative values below -2^52 when writing and reading
 * (-4503599627370497 comes back as 4503599627370496, no error). Going through the 64-bit two's
 * complement bytes, split into two exact 32-bit halves, is exact; a wire value outside
 * ±(2^53 - 1) is refused, never rounded.
 */
const EXACT_LONG: Type = avro.types.LongType.__with({
  fromBuffer(buf: Buffer): number {
    const low = buf.readUInt32LE(0);
    const high = buf.readInt32LE(4);
    // |n| <= 2^53 - 1 means high in [-2^21, 2^21 - 1], and -2^53 itself (high -2^21, low 0) is out.
    if (high > 0x1f_ffff || high < -0x20_0000 || (high === -0x20_0000 && low === 0)) {
      throw new Error('long beyond ±(2^53 - 1) cannot be a JavaScript number exactly');
    }
    return high * TWO_32 + low;
  },
  toBuffer(n: number): Buffer {
    const high = Math.floor(n / TWO_32);
    SCRATCH.writeUInt32LE(n - high * TWO_32, 0);
    SCRATCH.writeInt32LE(high, 4);
    return SCRATCH;
  },
  fromJSON(json: unknown): number {
    if (!Number.isSafeInteger(json)) throw new Error('a long default must be a safe integer');
    return json as number;
  },
  toJSON: (n: number): number => n,
  isValid: (value: unknown): boolean => Number.isSafeInteger(value),
  compare: (a: number, b: number): number => Math.sign(a - b),
});

/**
 * Reads an Avro schema file (`.avsc`, JSON) and returns its avsc `Type`.
 *
 * Synchronous on purpose: schemas load once while a topology is built, and a bad file should stop
 * start-up with a `SchemaError` that names the file and the problem (missing, not JSON, not a
 * valid schema), before any record is consumed.
 *
 * @example const ratingEvent = loadAvroSchema('schemas/rating-event.avsc');
 */
export function loadAvroSchema(path: string): Type {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new SchemaError(`Cannot read Avro schema file ${path}: ${missing ? 'file not found' : reasonOf(error)}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (error) {
    throw new SchemaError(`Avro schema file ${path} is not valid JSON: ${reasonOf(error)}`, { cause: error });
  }
  return parseAvroSchema(json, `file ${path}`);
}

/**
 * Turns a parsed Avro schema (a JSON object such as the content of an `.avsc` file) into an avsc
 * `Type`, or throws a `SchemaError` naming `source` and avsc's complaint.
 *
 * `long` fields are JavaScript numbers, exact over the whole safe-integer range (avsc's default
 * long corrupts negative values below -2^52, so it is replaced); a long outside ±(2^53 - 1) is an
 * error, never a rounded number. `loadAvroSchema` builds its types the same way.
 *
 * @example parseAvroSchema({ type: 'record', name: 'User', fields: [{ name: 'id', type: 'string' }] })
 */
export function parseAvroSchema(schema: unknown, source = 'inline schema'): Type {
  if (schema === null || (typeof schema !== 'object' && typeof schema !== 'string')) {
    throw new SchemaError(`Invalid Avro schema in ${source}: expected a JSON object, array or type name`);
  }
  try {
    // A fresh registry per call: avsc adds the schema's named types to it.
    return avro.Type.forSchema(schema as Parameters<typeof avro.Type.forSchema>[0], { registry: { long: EXACT_LONG } });
  } catch (error) {
    throw new SchemaError(`Invalid Avro schema in ${source}: ${reasonOf(error)}`, { cause: error });
  }
}
