import type pg from 'pg';
import { ConfigError } from '../errors/streams-error.ts';
import type { Serde } from '../serdes/serde.ts';
import { CachingKeyValueStore, type CacheStats } from './caching-key-value-store.ts';
import { InMemoryKeyValueStore } from './in-memory-key-value-store.ts';
import type { KeyValueStore } from './key-value-store.ts';
import { PostgresKeyValueStore } from './postgres-key-value-store.ts';
import { ReadThroughKeyValueStore, type KeyLoader } from './read-through-key-value-store.ts';
import { storeTableName } from './sql-identifier.ts';

/** `Materialized`-style choice of a store's layers; only `name` and `keySerde` are required. */
export interface MaterializeOptions<K, V> {
  /** The store's name, e.g. the table's; names its PostgreSQL table unless `postgres.table` does. */
  readonly name: string;
  readonly keySerde: Serde<K>;
  /** Needed with `postgres`, which stores values as bytes. */
  readonly valueSerde?: Serde<V>;
  /** Keep the table in PostgreSQL instead of in memory. */
  readonly postgres?: {
    readonly pool: pg.Pool;
    /** Default: `storeTableName(name)`. */
    readonly table?: string;
    readonly schema?: string;
    readonly maxPendingEntries?: number;
  };
  /** Bound the hot set in an LRU cache in front of the store. */
  readonly cache?: {
    readonly maxEntries?: number;
    readonly maxBytes?: number;
    readonly sizeOf?: (value: V) => number;
  };
  /** Look keys the table has never carried up elsewhere (e.g. `SELECT * FROM users WHERE id = $1`). */
  readonly loader?: KeyLoader<K, V>;
  /** Values scrubbed from error messages (e.g. the loader's database password). */
  readonly secrets?: readonly string[];
}

export interface MaterializedStore<K, V> {
  /** The outermost layer: what the runtime reads and writes. */
  readonly store: KeyValueStore<K, V>;
  /** Hit, miss and eviction counters of the cache; `undefined` without one. */
  cacheStats(): CacheStats | undefined;
}

/**
 * Builds a store from its layers, innermost first: in-memory or PostgreSQL, then the read-through
 * loader, then the cache, so the cache also holds hot loaded values and a topic update overwrites
 * any of them. Call `store.init()` before use, `store.flush()` at commit, `store.close()` at shutdown.
 *
 * Like Kafka Streams' `Materialized.as(...)`: the table's code stays the same whatever the layers.
 *
 * @example
 * const { store } = materialize({ name: 'users', keySerde: stringSerde(), valueSerde: jsonSerde<User>(),
 *   postgres: { pool }, cache: { maxEntries: 10_000 }, loader: (id) => findUser(pool, id) });
 */
export function materialize<K, V>(options: MaterializeOptions<K, V>): MaterializedStore<K, V> {
  const { name, keySerde, postgres } = options;
  let store: KeyValueStore<K, V>;
  if (postgres === undefined) {
    store = new InMemoryKeyValueStore<K, V>({ name, keySerde });
  } else {
    if (options.valueSerde === undefined) throw new ConfigError(`State store "${name}": option valueSerde is required with postgres`);
    store = new PostgresKeyValueStore<K, V>({
      name,
      keySerde,
      valueSerde: options.valueSerde,
      pool: postgres.pool,
      table: postgres.table ?? storeTableName(name),
      ...(postgres.schema === undefined ? {} : { schema: postgres.schema }),
      ...(postgres.maxPendingEntries === undefined ? {} : { maxPendingEntries: postgres.maxPendingEntries }),
      ...(options.secrets === undefined ? {} : { secrets: options.secrets }),
    });
  }
  if (options.loader !== undefined) {
    store = new ReadThroughKeyValueStore(store, { keySerde, loader: options.loader, ...(options.secrets === undefined ? {} : { secrets: options.secrets }) });
  }
  if (options.cache === undefined) return { store, cacheStats: () => undefined };
  const cache = new CachingKeyValueStore(store, { keySerde, ...options.cache });
  return { store: cache, cacheStats: () => cache.stats() };
}
