/**
 * A serde turns values into bytes and back. `null` stands for an absent key or value (a tombstone);
 * serdes pass it through unless they document otherwise.
 *
 * Serdes throw `DeserializationError` / `SerializationError` (from `errors/`) with a message that
 * says what was wrong with the bytes or value; the runtime turns those into dead-letter records, so
 * a bad record never stops a run.
 */
export interface Serde<T> {
  /** Short name shown by `Topology.describe()`, e.g. `string`, `json`, `avro(com.ubos.openclaw.RatingEvent)`. */
  readonly name: string;
  serialize(value: T | null, topic: string): Buffer | null;
  deserialize(data: Buffer | null, topic: string): T | null;
}
