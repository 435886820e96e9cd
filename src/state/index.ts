export { DELETED, UNKNOWN, found, valueOf, type KeyValueStore, type Lookup, type StoreEntry } from './key-value-store.ts';
export { InMemoryKeyValueStore, type InMemoryKeyValueStoreOptions } from './in-memory-key-value-store.ts';
export { CachingKeyValueStore, estimateSize, type CachingOptions, type CacheStats } from './caching-key-value-store.ts';
export { PostgresKeyValueStore, type PostgresKeyValueStoreOptions } from './postgres-key-value-store.ts';
export { ReadThroughKeyValueStore, type KeyLoader, type ReadThroughOptions } from './read-through-key-value-store.ts';
export { materialize, type MaterializeOptions, type MaterializedStore } from './materialize.ts';
export { quoteIdentifier, storeTableName } from './sql-identifier.ts';
export { windowedSerde } from './windowed-serde.ts';
