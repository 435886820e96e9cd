import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro, { type Type } from 'avsc';
import { ConfigError, SchemaError, SchemaRegistryError } from '../errors/streams-error.ts';
import { loadAvroSchema, parseAvroSchema } from './avro-schema.ts';
import { avroSerde, type AvroRecordSchema } from './avro-serde.ts';
import type { Serde } from './serde.ts';
import { deserializationFailure, reasonOf } from './serde-failure.ts';

/** Magic byte 0, then the schema id as a big-endian 32-bit integer, then the Avro binary. */
const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;
/** Errors from the HTTP layer that mean "could not talk to the registry", not "the registry said no". */
const NETWORK_FAILURE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|socket hang up|timeout/i;

export type Compatibility = keyof typeof COMPATIBILITY;

export interface ConfluentAvroSerdeOptions {
  /**
   * The Confluent-compatible API, e.g. `http://127.0.0.1:8081/apis/ccompat/v7` (Apicurio) or
   * `https://user:secret@registry:8081` (credentials in the URL become basic auth and never
   * appear in messages).
   */
  readonly registryUrl: string;
  /** The record schema: a path to an `.avsc` file, the schema as JSON text, parsed JSON, or an avsc `Type`. */
  readonly schema: string | AvroRecordSchema;
  /** The subject to register under; default `<topic>-value` (`<topic>-key` with `isKey`). */
  readonly subject?: string;
  /** The topic this serde writes; needed for the default subject. */
  readonly topic?: string;
  /** For record keys: the default subject becomes `<topic>-key`. */
  readonly isKey?: boolean;
  /**
   * The compatibility the subject must have (set on first registration, checked afterwards, as
   * `@kafkajs/confluent-schema-registry` does). Default `BACKWARD`.
   */
  readonly compatibility?: Compatibility;
  /** Per-request HTTP timeout. Default 10 s. */
  readonly requestTimeoutMs?: number;
  /** Retries of a failed request or connection (exponential backoff from 100 ms). Default 3. */
  readonly retries?: number;
}

/**
 * A `Serde` in the Confluent wire format whose schema is registered, plus what the synchronous
 * `Serde` interface cannot do: fetch writer schemas it has not seen yet.
 */
export interface ConfluentAvroSerde<T> extends Serde<T> {
  /** The subject the schema is registered under. */
  readonly subject: string;
  /** The id the registry gave the schema; `serialize` writes it into every record. */
  readonly schemaId: number;
  /** The registry's URL without credentials. */
  readonly registryUrl: string;
  /** Fetches the writer schemas of these ids, so `deserialize` can decode records written with them. */
  prefetch(ids: Iterable<number>): Promise<void>;
  /** `deserialize` that first fetches the record's writer schema when it is not known yet. */
  decode(data: Buffer | null, topic?: string): Promise<T | null>;
}

type Decoder = (payload: Buffer, topic: string, data: Buffer) => unknown;
type ClientArgs = ConstructorParameters<typeof SchemaRegistry>[0];
type Middleware = NonNullable<ClientArgs['middlewares']>[number];

/**
 * Avro in the Confluent wire format (magic byte 0, 4-byte schema id, Avro binary), with the schema
 * registered in a Confluent-compatible registry (Apicurio's `/apis/ccompat/v7` or Confluent's), via
 * `@kafkajs/confluent-schema-registry`; named `confluent-avro(<fullname>)`.
 *
 * Like a Confluent producer, the factory registers the schema (or finds it already registered)
 * before the serde exists, so `serialize` stays synchronous: it validates the value as
 * `avroSerde` does and writes the registered id.
 *
 * `deserialize` is synchronous too, so it only decodes ids it already knows: the serde's own, and
 * any fetched by `prefetch(ids)` or `decode(bytes)`. An unknown id is a `DeserializationError`
 * that names the id and says how to fetch it. Records written with another registered schema are
 * read into this serde's schema by Avro schema resolution (new fields take their defaults).
 *
 * Registry failures are `SchemaRegistryError`s naming the URL (without credentials) and the
 * subject; `retriable` only when the registry could not be reached.
 *
 * @example
 * const ratings = await confluentAvroSerde<RatingEvent>({
 *   registryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7',
 *   schema: 'topologies/schemas/rating-event.avsc',
 *   topic: 'ratings', // subject "ratings-value"
 * });
 * ratings.serialize(rating, 'ratings'); // <00 00 00 00 01 ...>
 */
export async function confluentAvroSerde<T>(options: ConfluentAvroSerdeOptions): Promise<ConfluentAvroSerde<T>> {
  const reader = readerType(options.schema);
  const subject = subjectOf(options);
  const { client, safeUrl } = registryClient(options);
  const name = `confluent-avro(${reader.name ?? 'record'})`;
  const own = avroSerde<T>(reader);

  const schemaId = await register(client, reader, subject, safeUrl, options.compatibility ?? 'BACKWARD');
  const decoders = new Map<number, Decoder>([[schemaId, (payload, topic) => own.deserialize(payload, topic)]]);
  const inflight = new Map<number, Promise<void>>();

  const fetchDecoder = (id: number): Promise<void> => {
    const pending = inflight.get(id);
    if (pending) return pending;
    const fetching = writerType(client, id, safeUrl, subject)
      .then((writer) => void decoders.set(id, decoderFor(reader, writer, own, name, id)))
      .finally(() => inflight.delete(id));
    inflight.set(id, fetching);
    return fetching;
  };

  const deserialize = (data: Buffer | null, topic: string): T | null => {
    if (data === null) return null;
    const id = schemaIdOf(data, name, topic);
    const decoder = decoders.get(id);
    if (decoder === undefined) {
      throw deserializationFailure(
        name,
        topic,
        data,
        `schema id ${id} is not known to this serde yet (registry ${safeUrl}, subject "${subject}"); ` +
          `fetch it first with \`await serde.prefetch([${id}])\` or decode with \`await serde.decode(bytes)\``,
      );
    }
    return decoder(data.subarray(HEADER_BYTES), topic, data) as T;
  };

  return Object.freeze({
    name,
    subject,
    schemaId,
    registryUrl: safeUrl,
    serialize(value: T | null, topic: string): Buffer | null {
      const body = own.serialize(value, topic);
      if (body === null) return null;
      const header = Buffer.alloc(HEADER_BYTES);
      header.writeUInt8(MAGIC_BYTE, 0);
      header.writeInt32BE(schemaId, 1);
      return Buffer.concat([header, body]);
    },
    deserialize,
    async prefetch(ids: Iterable<number>): Promise<void> {
      const missing = [...new Set(ids)].filter((id) => !decoders.has(id));
      await Promise.all(missing.map(fetchDecoder));
    },
    async decode(data: Buffer | null, topic = subject): Promise<T | null> {
      if (data === null) return null;
      const id = schemaIdOf(data, name, topic);
      if (!decoders.has(id)) {
        try {
          await fetchDecoder(id);
        } catch (error) {
          // The registry answered and has no such schema: the record is bad, not the registry.
          if (error instanceof SchemaRegistryError && !error.retriable) {
            throw deserializationFailure(name, topic, data, reasonOf(error), error);
          }
          throw error;
        }
      }
      return deserialize(data, topic);
    },
  });
}

function readerType(schema: string | AvroRecordSchema): Type {
  let type: Type;
  if (typeof schema !== 'string') {
    type = avro.Type.isType(schema) ? (schema as Type) : parseAvroSchema(schema);
  } else if (schema.trimStart().startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(schema) as unknown;
    } catch (error) {
      throw new SchemaError(`The Avro schema text given to confluentAvroSerde is not valid JSON: ${reasonOf(error)}`, { cause: error });
    }
    type = parseAvroSchema(json, 'the schema text given to confluentAvroSerde');
  } else {
    type = loadAvroSchema(schema);
  }
  if (type.typeName !== 'record' || type.name === undefined) {
    throw new SchemaError(`confluentAvroSerde needs a named record schema, got a ${type.typeName} (${type.name ?? 'anonymous'})`);
  }
  return type;
}

function subjectOf(options: ConfluentAvroSerdeOptions): string {
  if (options.subject !== undefined && options.subject !== '') return options.subject;
  if (options.topic !== undefined && options.topic !== '') return `${options.topic}-${options.isKey === true ? 'key' : 'value'}`;
  throw new ConfigError('confluentAvroSerde needs `subject`, or `topic` for the default subject `<topic>-value`');
}

/** The client, and the URL as messages may show it: credentials move from the URL to basic auth. */
function registryClient(options: ConfluentAvroSerdeOptions): { client: SchemaRegistry; safeUrl: string } {
  let url: URL;
  try {
    url = new URL(options.registryUrl);
  } catch {
    throw new ConfigError('confluentAvroSerde: `registryUrl` is not a URL (expected e.g. http://127.0.0.1:8081/apis/ccompat/v7)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`confluentAvroSerde: \`registryUrl\` must be http or https, got ${url.protocol}`);
  }
  const auth = url.username === '' ? undefined : { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  const safeUrl = url.toString().replace(/\/+$/, '');
  const client = new SchemaRegistry({
    host: safeUrl,
    ...(auth === undefined ? {} : { auth }),
    retry: { retries: options.retries ?? 3 },
    middlewares: [timeoutMiddleware(options.requestTimeoutMs ?? 10_000)],
  });
  return { client, safeUrl };
}

/** mappersmith (under the registry client) waits forever by default. */
function timeoutMiddleware(timeoutMs: number): Middleware {
  return () => ({
    prepareRequest: async (next) => (await next()).enhance({ timeout: timeoutMs }),
  });
}

async function register(client: SchemaRegistry, reader: Type, subject: string, safeUrl: string, compatibility: Compatibility): Promise<number> {
  // exportAttrs keeps docs and defaults; without it avsc drops field defaults from the schema text.
  const schema = JSON.stringify(reader.schema({ exportAttrs: true }));
  try {
    const registered = await client.register({ type: SchemaType.AVRO, schema }, { subject, compatibility: COMPATIBILITY[compatibility] });
    return registered.id;
  } catch (error) {
    throw registryFailure(`Cannot register ${reader.name} under subject "${subject}" at ${safeUrl}`, error);
  }
}

async function writerType(client: SchemaRegistry, id: number, safeUrl: string, subject: string): Promise<Type> {
  let fetched: unknown;
  try {
    fetched = await client.getSchema(id);
  } catch (error) {
    throw registryFailure(`Cannot fetch schema id ${id} from ${safeUrl} (serde for subject "${subject}")`, error);
  }
  if (!avro.Type.isType(fetched)) {
    throw new SchemaRegistryError(`Schema id ${id} at ${safeUrl} is not an Avro schema (serde for subject "${subject}")`);
  }
  // Parsed again from its JSON so that `long` is exact over all safe integers, as for the reader.
  return parseAvroSchema((fetched as Type).schema({ exportAttrs: true }), `schema id ${id} from ${safeUrl}`);
}

function registryFailure(what: string, error: unknown): SchemaRegistryError {
  const status = typeof error === 'object' && error !== null ? (error as { status?: unknown }).status : undefined;
  const reason = reasonOf(error).replace(/^Confluent_Schema_Registry - /, '');
  // mappersmith reports a connection failure as status 400 with the socket error as message.
  const unreachable = (status === 400 && NETWORK_FAILURE.test(reason)) || (typeof status === 'number' && status >= 500);
  const detail = typeof status === 'number' && !(status === 400 && unreachable) ? `HTTP ${status}: ${reason}` : reason;
  return new SchemaRegistryError(`${what}: ${detail}`, { cause: error, retriable: unreachable });
}

function schemaIdOf(data: Buffer, name: string, topic: string): number {
  if (data.length < HEADER_BYTES) {
    throw deserializationFailure(name, topic, data, `not the Confluent wire format: shorter than its ${HEADER_BYTES}-byte header (magic byte 0, schema id)`);
  }
  if (data[0] !== MAGIC_BYTE) {
    throw deserializationFailure(name, topic, data, `not the Confluent wire format: magic byte is 0x${data[0]?.toString(16).padStart(2, '0')}, expected 0x00`);
  }
  return data.readInt32BE(1);
}

/** Decodes records written with `writer`: strictly by `own` when it is the same schema, else by schema resolution. */
function decoderFor<T>(reader: Type, writer: Type, own: Serde<T>, name: string, id: number): Decoder {
  if (writer.equals(reader)) return (payload, topic) => own.deserialize(payload, topic);
  let resolver: ReturnType<Type['createResolver']>;
  try {
    resolver = reader.createResolver(writer);
  } catch (error) {
    const reason = `writer schema id ${id} (${writer.name ?? writer.typeName}) cannot be read as ${reader.name}: ${reasonOf(error)}`;
    return (_payload, topic, data) => {
      throw deserializationFailure(name, topic, data, reason, error);
    };
  }
  return (payload, topic, data) => {
    let decoded: { value: unknown; offset: number };
    try {
      decoded = reader.decode(payload, 0, resolver);
    } catch (error) {
      throw deserializationFailure(name, topic, data, `the bytes do not fit writer schema id ${id} (${reasonOf(error)})`, error);
    }
    if (decoded.offset < 0) throw deserializationFailure(name, topic, data, `truncated payload for writer schema id ${id}`);
    if (decoded.offset < payload.length) {
      throw deserializationFailure(name, topic, data, `${payload.length - decoded.offset} trailing bytes after the record (writer schema id ${id})`);
    }
    return decoded.value;
  };
}
