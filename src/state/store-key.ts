import type { Serde } from '../serdes/serde.ts';
import { stringSerde } from '../serdes/string-serde.ts';
import { StateStoreError } from '../errors/streams-error.ts';

/**
 * A function giving each key a string identity for `Map`s and caches: its serialized bytes read as
 * latin1 (one character per byte, so two keys share an identity exactly when their bytes are equal).
 * Keys are compared by bytes, as Kafka and the PostgreSQL store compare them; comparing objects by
 * reference would make two equal keys two entries.
 */
export function keyIdentity<K>(keySerde: Serde<K>, storeName: string): (key: K) => string {
  const bytes = (key: K) => keyBytes(keySerde, storeName, key).toString('latin1');
  // The string serde writes a string's UTF-8 bytes, and refuses strings that have none (lone
  // surrogates); UTF-8 is one-to-one, so a well-formed string identifies its bytes by itself.
  // That saves an encode and a decode per lookup; anything else takes the serde (and its error).
  if (keySerde === stringSerde()) return (key) => (typeof key === 'string' && key.isWellFormed() ? key : bytes(key));
  return bytes;
}

/** The key's bytes through its serde; a key serializing to `null` cannot be stored. */
export function keyBytes<K>(keySerde: Serde<K>, storeName: string, key: K): Buffer {
  const bytes = keySerde.serialize(key, storeName);
  if (bytes === null) throw new StateStoreError(`State store "${storeName}": a null key cannot be stored or looked up`);
  return bytes;
}
