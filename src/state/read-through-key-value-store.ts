import type { Serde } from '../serdes/serde.ts';
import { found, UNKNOWN, valueOf, type KeyValueStore, type Lookup, type StoreEntry } from './key-value-store.ts';
import { SingleFlight } from './single-flight.ts';
import { stateStoreFailure } from './store-error.ts';
import { keyIdentity } from './store-key.ts';

/**
 * Loads a key the table has never carried from elsewhere, e.g. the seed's
 * `SELECT * FROM users WHERE id = $1`; `undefined` or `null` when it is not there either.
 */
export type KeyLoader<K, V> = (key: K) => Promise<V | null | undefined>;

export interface ReadThroughOptions<K, V> {
  /** Gives keys their identity; the same serde as the inner store's. */
  readonly keySerde: Serde<K>;
  readonly loader: KeyLoader<K, V>;
  /** Values scrubbed from a loader's error messages (e.g. its database password). */
  readonly secrets?: readonly string[];
}

/**
 * Answers lookups of keys the table has never carried with a loader, so a join can enrich a record
 * whose user has not reached the topic yet.
 *
 * Loaded values are returned, not stored: the inner store holds only what the table consumed (a
 * cache above keeps the hot loaded values). A key the table deleted stays deleted: the loader only
 * runs for keys the inner store calls unknown. Concurrent misses for one key are one loader call,
 * and a load that a write to its key overtook is not returned: the lookup runs again and finds the
 * written value (or tombstone) in the inner store.
 *
 * @example new ReadThroughKeyValueStore(store, { keySerde: stringSerde(), loader: (id) => findUser(pool, id) })
 */
export class ReadThroughKeyValueStore<K, V> implements KeyValueStore<K, V> {
  readonly name: string;
  readonly #inner: KeyValueStore<K, V>;
  readonly #id: (key: K) => string;
  readonly #loader: KeyLoader<K, V>;
  readonly #secrets: readonly string[];
  readonly #flights = new SingleFlight<Lookup<V>>();

  constructor(inner: KeyValueStore<K, V>, options: ReadThroughOptions<K, V>) {
    this.name = inner.name;
    this.#inner = inner;
    this.#id = keyIdentity(options.keySerde, inner.name);
    this.#loader = options.loader;
    this.#secrets = options.secrets ?? [];
  }

  init(): Promise<void> {
    return this.#inner.init();
  }

  async get(key: K): Promise<V | undefined> {
    return valueOf(await this.lookup(key));
  }

  async lookup(key: K): Promise<Lookup<V>> {
    const result = await this.#flights.run(this.#id(key), () => this.#lookupOrLoad(key));
    if (result.fresh) return result.value;
    // Writes kept overtaking the load: what the table holds now wins over the loaded value.
    const now = await this.#inner.lookup(key);
    return now.kind === 'unknown' ? result.value : now;
  }

  /** What the inner store knows without waiting; a key it has never carried needs the loader. */
  peek(key: K): Lookup<V> | undefined {
    const known = this.#inner.peek?.(key);
    return known === undefined || known.kind === 'unknown' ? undefined : known;
  }

  async put(key: K, value: V): Promise<void> {
    await this.#writeThrough([key], () => this.#inner.put(key, value));
  }

  async delete(key: K): Promise<void> {
    await this.#writeThrough([key], () => this.#inner.delete(key));
  }

  async putAll(entries: Iterable<StoreEntry<K, V>>): Promise<void> {
    const list = [...entries];
    await this.#writeThrough(list.map((entry) => entry.key), () => this.#inner.putAll(list));
  }

  flush(): Promise<void> {
    return this.#inner.flush();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  approximateSize(): Promise<number> {
    return this.#inner.approximateSize();
  }

  /** Only what the table consumed; loaded values are not part of it. */
  all(): AsyncIterable<StoreEntry<K, V> & { readonly value: V }> {
    return this.#inner.all();
  }

  /** Loads in flight; for tests and metrics. */
  get loadsInFlight(): number {
    return this.#flights.size;
  }

  /** A load in flight for a written key may have read before the write, failed or not. */
  async #writeThrough(keys: readonly K[], write: () => Promise<void>): Promise<void> {
    // Before too: a load that ends while the write is in progress may have read before it.
    for (const key of keys) this.#flights.invalidate(this.#id(key));
    try {
      await write();
    } finally {
      for (const key of keys) this.#flights.invalidate(this.#id(key));
    }
  }

  /** Asks the inner store again first: a retried load must see a write that overtook the last one. */
  async #lookupOrLoad(key: K): Promise<Lookup<V>> {
    const known = await this.#inner.lookup(key);
    if (known.kind !== 'unknown') return known;
    let loaded: V | null | undefined;
    try {
      loaded = await this.#loader(key);
    } catch (error) {
      throw stateStoreFailure(this.name, 'the read-through loader', error, this.#secrets);
    }
    return loaded === null || loaded === undefined ? UNKNOWN : found(loaded);
  }
}
