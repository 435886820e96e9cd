/**
 * Bytes of a windowed key: the grouping key's bytes, then the window start as an 8-byte big-endian
 * integer. The window's size is fixed by the aggregation, so its end is derived, not stored. Used for
 * a windowed aggregation's store and changelog keys, and available to users who write windowed
 * results to a topic as they are.
 */
import { DeserializationError, SerializationError } from '../errors/streams-error.ts';
import type { Serde } from '../serdes/serde.ts';
import type { Windowed } from '../topology/windows.ts';

const START_BYTES = 8;

/**
 * @param inner the grouping key's serde
 * @param sizeMs the windows' size, to rebuild `window.end` when reading
 * @example const serde = windowedSerde(stringSerde(), 60_000);
 */
export function windowedSerde<K>(inner: Serde<K>, sizeMs: number): Serde<Windowed<K>> {
  return {
    name: `windowed(${inner.name})`,
    serialize(value, topic) {
      if (value === null) return null;
      const start = value.window.start;
      if (!Number.isSafeInteger(start) || start < 0) {
        throw new SerializationError(`windowed key for ${topic}: window start must be a non-negative whole number of ms (got ${String(start)})`, { context: { topic } });
      }
      const key = inner.serialize(value.key, topic) ?? Buffer.alloc(0);
      const out = Buffer.allocUnsafe(key.length + START_BYTES);
      key.copy(out, 0);
      out.writeBigInt64BE(BigInt(start), key.length);
      return out;
    },
    deserialize(data, topic) {
      if (data === null) return null;
      if (data.length < START_BYTES) {
        throw new DeserializationError(`windowed key from ${topic}: ${data.length} bytes is shorter than the ${START_BYTES}-byte window start`, { context: { topic } });
      }
      const start = Number(data.readBigInt64BE(data.length - START_BYTES));
      const key = inner.deserialize(data.subarray(0, data.length - START_BYTES), topic) as K;
      return { key, window: { start, end: start + sizeMs } };
    },
  };
}
