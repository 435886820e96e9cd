import type { Serde } from './serde.ts';
import { describeKind, serializationFailure } from './serde-failure.ts';

const NAME = 'bytes';

const BYTES_SERDE: Serde<Buffer> = Object.freeze({
  name: NAME,
  serialize(value: Buffer | null, topic: string): Buffer | null {
    // Typed as Buffer, but JavaScript callers and `as` casts can hand over anything.
    const input: unknown = value;
    if (input === null) return null;
    if (Buffer.isBuffer(input)) return input;
    // A plain Uint8Array is bytes too; view it without copying.
    if (input instanceof Uint8Array) return Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    throw serializationFailure(NAME, topic, `expected a Buffer or Uint8Array, got ${describeKind(value)}`);
  },
  deserialize(data: Buffer | null): Buffer | null {
    return data;
  },
});

/**
 * Raw bytes, passed through untouched in both directions (no copy).
 *
 * For records the topology only routes (a dead-letter replayer, a mirror) or decodes itself later;
 * deserializing can never fail, which is why a DLQ reader uses it.
 *
 * @example builder.stream('ratings_dlq', { keySerde: bytesSerde(), valueSerde: bytesSerde() })
 */
export function bytesSerde(): Serde<Buffer> {
  return BYTES_SERDE;
}
