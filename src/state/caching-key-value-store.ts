import { LRUCache } from 'lru-cache';
import { ConfigError } from '../errors/streams-error.ts';
import type { Serde } from '../serdes/serde.ts';
import { DELETED, found, valueOf, type KeyValueStore, type Lookup, type StoreEntry } from './key-value-store.ts';
import { SingleFlight } from './single-flight.ts';
import { keyIdentity } from './store-key.ts';

export interface CachingOptions<K, V> {
  /** Gives keys their identity; the same serde as the inner store's. */
  readonly keySerde: Serde<K>;
  /** At most this many keys cached. */
  readonly maxEntries?: number;
  /** At most this many bytes cached, as measured by `sizeOf`. */
  readonly maxBytes?: number;
  /** Bytes one cached value takes (its key is counted apart); defaults to `estimateSize`. */
  readonly sizeOf?: (value: V) => number;
}

export interface CacheStats {
  readonly hits: number;
  readonly misses: number;
  /** Entries dropped to stay within the bounds (not those overwritten or deleted by writes). */
  readonly evictions: number;
  /** Entries cached now. */
  readonly size: number;
  /** Bytes cached now, when bound by bytes (else 0). */
  readonly bytes: number;
}

/** Bytes a cached tombstone or "unknown" marker is counted as, beside its key. */
const MARKER_BYTES = 16;

/**
 * A bounded LRU cache (lru-cache) in front of another store: the hot set in memory, the rest in the
 * inner store, from which an evicted key is read back.
 *
 * Writes overwrite the cached entry and go through to the inner store, so a lookup never returns a
 * value older than the table has consumed; a load from the inner store that a write
 * overtook is retried rather than cached (see `SingleFlight`). Concurrent misses for one key are one
 * inner lookup. Deletions and "unknown" answers are cached too, so a hot absent key costs no query.
 *
 * @example new CachingKeyValueStore(postgresStore, { keySerde: stringSerde(), maxEntries: 10_000 })
 */
export class CachingKeyValueStore<K, V> implements KeyValueStore<K, V> {
  readonly name: string;
  readonly #inner: KeyValueStore<K, V>;
  readonly #id: (key: K) => string;
  readonly #cache: LRUCache<string, Lookup<V>>;
  readonly #flights = new SingleFlight<Lookup<V>>();
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  /** Keys with a write in progress, to the sequence number of the latest such write. */
  readonly #writing = new Map<string, number>();
  #writeSeq = 0;

  constructor(inner: KeyValueStore<K, V>, options: CachingOptions<K, V>) {
    this.name = inner.name;
    this.#inner = inner;
    this.#id = keyIdentity(options.keySerde, inner.name);
    this.#cache = new LRUCache<string, Lookup<V>>(cacheOptions(inner.name, options, (reason) => {
      if (reason === 'evict') this.#evictions++;
    }));
  }

  init(): Promise<void> {
    return this.#inner.init();
  }

  async get(key: K): Promise<V | undefined> {
    return valueOf(await this.lookup(key));
  }

  async lookup(key: K): Promise<Lookup<V>> {
    const id = this.#id(key);
    const cached = this.#cache.get(id);
    if (cached !== undefined) {
      this.#hits++;
      return cached;
    }
    this.#misses++;
    // A load no write overtook is cached as it completes; one that writes kept overtaking is not,
    // nor one that ends while a write to its key is in progress.
    const result = await this.#flights.run(
      id,
      () => this.#inner.lookup(key),
      (value) => {
        if (!this.#writing.has(id)) this.#cache.set(id, value);
      },
    );
    // What is cached now is at least as new as the load (a write may have landed since).
    return this.#cache.peek(id) ?? result.value;
  }

  /**
   * A cached answer (a hit), else what the inner store can answer at once (an in-memory store
   * always can; it is cached as a miss would be), else `undefined`: only `lookup` can tell.
   */
  peek(key: K): Lookup<V> | undefined {
    const id = this.#id(key);
    const cached = this.#cache.get(id);
    if (cached !== undefined) {
      this.#hits++;
      return cached;
    }
    const inner = this.#inner.peek?.(key);
    if (inner === undefined) return undefined;
    this.#misses++;
    if (!this.#writing.has(id)) this.#cache.set(id, inner);
    return inner;
  }

  async put(key: K, value: V): Promise<void> {
    await this.#writeThrough([{ key, value }], () => this.#inner.put(key, value));
  }

  async delete(key: K): Promise<void> {
    await this.#writeThrough([{ key, value: null }], () => this.#inner.delete(key));
  }

  async putAll(entries: Iterable<StoreEntry<K, V>>): Promise<void> {
    const list = [...entries];
    await this.#writeThrough(list, () => this.#inner.putAll(list));
  }

  flush(): Promise<void> {
    return this.#inner.flush();
  }

  async close(): Promise<void> {
    this.#cache.clear();
    await this.#inner.close();
  }

  approximateSize(): Promise<number> {
    return this.#inner.approximateSize();
  }

  /** The table's content is the inner store's; the cache holds only a copy of part of it. */
  all(): AsyncIterable<StoreEntry<K, V> & { readonly value: V }> {
    return this.#inner.all();
  }

  stats(): CacheStats {
    return { hits: this.#hits, misses: this.#misses, evictions: this.#evictions, size: this.#cache.size, bytes: this.#cache.calculatedSize };
  }

  /**
   * Caches the written entries at once, then writes them to the inner store. Caching first keeps
   * the order of the calls when writes to one key finish out of order (one waits for a flush, a
   * later one does not). While a write is in progress, loads are not cached (they may have read
   * before it); once it is done, its entries are cached again unless a later write to the key is
   * in progress. When the inner write fails part way, the inner store may hold some of the new
   * values, so the entries are dropped instead: the next lookup reads what the inner store has.
   */
  async #writeThrough(entries: ReadonlyArray<StoreEntry<K, V>>, write: () => Promise<void>): Promise<void> {
    const seq = ++this.#writeSeq;
    const latest = new Map<string, Lookup<V>>();
    for (const { key, value } of entries) latest.set(this.#id(key), value === null ? DELETED : found(value));
    for (const [id, lookup] of latest) {
      this.#writing.set(id, seq);
      // A value too large for the cache is not stored, and lru-cache then drops the older entry too.
      this.#cache.set(id, lookup);
      this.#flights.invalidate(id);
    }
    let written = false;
    try {
      await write();
      written = true;
    } finally {
      for (const [id, lookup] of latest) {
        const newest = this.#writing.get(id) === seq;
        if (newest) this.#writing.delete(id);
        if (!written) this.#cache.delete(id);
        else if (newest) this.#cache.set(id, lookup);
        this.#flights.invalidate(id);
      }
    }
  }
}

function cacheOptions<K, V>(
  name: string,
  options: CachingOptions<K, V>,
  onDispose: (reason: LRUCache.DisposeReason) => void,
): LRUCache.Options<string, Lookup<V>, unknown> {
  const { maxEntries, maxBytes } = options;
  if (maxEntries === undefined && maxBytes === undefined) {
    throw new ConfigError(`State store "${name}": the cache needs maxEntries and/or maxBytes, or it grows without bound`);
  }
  for (const [option, bound] of [['maxEntries', maxEntries], ['maxBytes', maxBytes]] as const) {
    if (bound !== undefined && !(Number.isSafeInteger(bound) && bound > 0)) {
      throw new ConfigError(`State store "${name}": cache option ${option} must be a positive integer, got ${String(bound)}`);
    }
  }
  const sizeOf = options.sizeOf ?? estimateSize;
  const dispose = (_value: Lookup<V>, _key: string, reason: LRUCache.DisposeReason) => onDispose(reason);
  if (maxBytes === undefined) return { max: maxEntries ?? 0, dispose };
  return {
    ...(maxEntries === undefined ? {} : { max: maxEntries }),
    maxSize: maxBytes,
    // lru-cache needs a positive integer; the key counts as its identity's length (its bytes).
    sizeCalculation: (lookup, id) => Math.max(1, Math.ceil(id.length + (lookup.kind === 'value' ? sizeOf(lookup.value) : MARKER_BYTES))),
    dispose,
  };
}

/**
 * A rough size in bytes of a value: exact for Buffers and strings (UTF-16 in memory), the length of
 * its JSON otherwise. Pass `sizeOf` when values are large or their JSON is not representative.
 */
export function estimateSize(value: unknown): number {
  if (Buffer.isBuffer(value)) return value.length;
  if (typeof value === 'string') return 2 * value.length;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return 8;
  return 2 * (JSON.stringify(value)?.length ?? 8);
}
