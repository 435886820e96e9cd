import { avroSerde, avroSerdeFromFile } from './avro-serde.ts';
import { bytesSerde } from './bytes-serde.ts';
import { jsonSerde } from './json-serde.ts';
import { stringSerde } from './string-serde.ts';

export type { Serde } from './serde.ts';
export { stringSerde } from './string-serde.ts';
export { jsonSerde, type JsonSerdeOptions, type JsonValidator } from './json-serde.ts';
export { bytesSerde } from './bytes-serde.ts';
export { avroSerde, avroSerdeFromFile, type AvroRecordSchema } from './avro-serde.ts';
export { loadAvroSchema, parseAvroSchema } from './avro-schema.ts';
export {
  confluentAvroSerde,
  type Compatibility,
  type ConfluentAvroSerde,
  type ConfluentAvroSerdeOptions,
} from './confluent-avro-serde.ts';
export {
  BUILT_IN_SERDE_NAMES,
  isSerde,
  resolveSerde,
  type BuiltInSerdeName,
  type ResolvedSerde,
  type SerdeSpec,
  type SerdeSpecSite,
} from './serde-registry.ts';
export { describePayload } from './serde-failure.ts';

/**
 * The built-in serdes in one place, as Kafka Streams' `Serdes` class: `Serdes.string()`,
 * `Serdes.json<T>(options?)`, `Serdes.bytes()`, `Serdes.avro<T>(schema)`, `Serdes.avroFromFile<T>(path)`.
 *
 * @example builder.stream('ratings', { keySerde: Serdes.string(), valueSerde: Serdes.avro<RatingEvent>(type) })
 */
export const Serdes = Object.freeze({
  string: stringSerde,
  json: jsonSerde,
  bytes: bytesSerde,
  avro: avroSerde,
  avroFromFile: avroSerdeFromFile,
});
