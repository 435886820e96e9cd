/**
 * The contract every state store layer implements. Layers are composed by wrapping (a cache around a
 * read-through around a PostgreSQL store), never by subclassing, so each file holds one concern.
 *
 * A store tells three answers apart, because a read-through loader must never resurrect a key that
 * the table deleted: a value, a key the table deleted (a tombstone the store keeps), and a key the
 * table has never carried.
 */

/** What a store knows about one key. */
export type Lookup<V> =
  | { readonly kind: 'value'; readonly value: V }
  /** The table carried the key and then a tombstone: absent, and no loader may fill it in. */
  | { readonly kind: 'deleted' }
  /** The table has never carried the key (or its tombstone has been compacted away). */
  | { readonly kind: 'unknown' };

export const DELETED: Lookup<never> = Object.freeze({ kind: 'deleted' });
export const UNKNOWN: Lookup<never> = Object.freeze({ kind: 'unknown' });

/** One change to apply; a `null` value is a tombstone (delete), as on a compacted topic. */
export interface StoreEntry<K, V> {
  readonly key: K;
  readonly value: V | null;
}

/**
 * An asynchronous key-value store. Reads see every write made before them through the same store
 * (flushed or not); `flush()` makes the writes durable, and is what the runtime calls at commit time.
 *
 * Lifecycle: `init()` once before use, `flush()` at each commit, `close()` (which flushes) at shutdown.
 */
export interface KeyValueStore<K, V> {
  /** The store's name, used in errors and logs. */
  readonly name: string;
  /** Prepares the store (creates its table, ...); call once before any other method. */
  init(): Promise<void>;
  /** The value, or `undefined` when the key is deleted or unknown. */
  get(key: K): Promise<V | undefined>;
  /** Like `get`, but says whether an absent key was deleted or never seen. */
  lookup(key: K): Promise<Lookup<V>>;
  /**
   * The answer `lookup` would give, when the store can give it without waiting (an in-memory slot,
   * a cache hit); `undefined` when only `lookup` can tell. Lets the runtime join and aggregate
   * synchronously on the hot path, and the test driver stay synchronous on in-memory stores.
   */
  peek?(key: K): Lookup<V> | undefined;
  put(key: K, value: V): Promise<void>;
  /** Deletes the key, keeping a tombstone so that a read-through loader does not bring it back. */
  delete(key: K): Promise<void>;
  /** Applies changes in order; a `null` value deletes. */
  putAll(entries: Iterable<StoreEntry<K, V>>): Promise<void>;
  /** Makes every write so far durable (a no-op for stores that are not). */
  flush(): Promise<void>;
  /** Flushes, then releases what the store holds; the store cannot be used afterwards. */
  close(): Promise<void>;
  /** Number of live (non-deleted) keys; may be off while writes are unflushed. */
  approximateSize(): Promise<number>;
  /** Every live entry the table holds, in no promised order; for restoration checks and tests. */
  all(): AsyncIterable<StoreEntry<K, V> & { readonly value: V }>;
}

/** The value of a lookup, `undefined` when deleted or unknown. */
export function valueOf<V>(lookup: Lookup<V>): V | undefined {
  return lookup.kind === 'value' ? lookup.value : undefined;
}

/** A lookup that found `value`. */
export function found<V>(value: V): Lookup<V> {
  return { kind: 'value', value };
}

/** Applies entries one by one through `put`/`delete`; for layers with no cheaper bulk path. */
export async function applyEach<K, V>(store: KeyValueStore<K, V>, entries: Iterable<StoreEntry<K, V>>): Promise<void> {
  for (const { key, value } of entries) {
    if (value === null) await store.delete(key);
    else await store.put(key, value);
  }
}
