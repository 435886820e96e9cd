/**
 * The state stores of one app instance (or one test driver): one store per (store, partition) for a
 * table or an aggregation, shared by the tasks of that partition number (the table's task writes it,
 * the stream's task reads it), and one per global table (partition `GLOBAL`).
 *
 * Stores are built from the topology's `StoreSpec` with `materialize()`; a windowed aggregation's
 * store is keyed by `Windowed<K>` (see `windowed-serde.ts`).
 */
import { StateStoreError, toError } from '../errors/streams-error.ts';
import type { Serde } from '../serdes/serde.ts';
import type { CacheStats } from '../state/caching-key-value-store.ts';
import type { KeyValueStore } from '../state/key-value-store.ts';
import { materialize } from '../state/materialize.ts';
import { keyIdentity } from '../state/store-key.ts';
import { windowedSerde } from '../state/windowed-serde.ts';
import type { TableNode } from '../topology/graph.ts';
import type { Topology } from '../topology/topology.ts';
import type { IncomingRecord } from '../transport/transport.ts';

/** The partition number of a global table's store. */
export const GLOBAL = -1;

export interface StoreHandle {
  readonly name: string;
  readonly partition: number;
  readonly node: TableNode;
  readonly store: KeyValueStore<unknown, unknown>;
  /** The store's key serde: the node's, or its windowed form for a windowed aggregation. */
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
  /** Resolves once `init()` finished (a PostgreSQL store creates its table). */
  readonly ready: Promise<void>;
  cacheStats(): CacheStats | undefined;
  /** Live keys written by `restore()` into a windowed aggregation's store, to close restored windows; empty for other stores. */
  restoredKeys(): unknown[];
  /**
   * The highest record timestamp `restore()` read (0 if none). An aggregation's changelog record
   * carries its input's timestamp, so this is the stream time the store had reached: a task
   * starts from it, and windows closed before a restart stay closed.
   */
  restoredStreamTime(): number;
}

/** What one open store holds and how its cache does (see `StreamsApp.storeStats()`). */
export interface StoreStats {
  readonly name: string;
  /** The partition number, or `GLOBAL` (-1) for a global table's store. */
  readonly partition: number;
  /**
   * Where the entries live. The partitions of a `postgres` store share one table, so each reports
   * the table's size: count it once, not per partition.
   */
  readonly backend: 'memory' | 'postgres';
  /** Live keys (`KeyValueStore.approximateSize()`); `undefined` when the store could not say (not ready, closed, database away). */
  readonly approximateSize: number | undefined;
  /** Hits, misses and evictions of the store's LRU cache; `undefined` without one. */
  readonly cache: CacheStats | undefined;
}

export class StateStores {
  private readonly handles = new Map<string, StoreHandle & { readonly restored: Map<string, unknown> | undefined; maxTimestamp: number }>();
  private readonly owners = new Map<string, TableNode>();

  constructor(private readonly topology: Topology) {
    for (const { node } of topology.stores()) {
      const owner = topology.node(node) as TableNode;
      this.owners.set(owner.store.name, owner);
    }
  }

  /** The store's handle for `partition`, if open. */
  get(storeName: string, partition: number): StoreHandle | undefined {
    return this.handles.get(slot(storeName, partition));
  }

  /** Every open handle. */
  list(): StoreHandle[] {
    return [...this.handles.values()];
  }

  /** Size and cache counters of every open store, ordered by name and partition. */
  async stats(): Promise<StoreStats[]> {
    const handles = this.list().sort((a, b) => a.name.localeCompare(b.name) || a.partition - b.partition);
    return Promise.all(handles.map(async (handle): Promise<StoreStats> => {
      let approximateSize: number | undefined;
      try {
        await handle.ready;
        approximateSize = await handle.store.approximateSize();
      } catch {
        // A store closed by a rebalance meanwhile, or a database that does not answer, leaves its
        // size unknown; a statistics read must not fail the caller for it.
        approximateSize = undefined;
      }
      return {
        name: handle.name,
        partition: handle.partition,
        backend: handle.node.store.layers.postgres === undefined ? 'memory' : 'postgres',
        approximateSize,
        cache: handle.cacheStats(),
      };
    }));
  }

  /** Opens (or returns the open) store of `storeName` for `partition`. */
  open(storeName: string, partition: number): StoreHandle {
    const existing = this.handles.get(slot(storeName, partition));
    if (existing) return existing;
    const node = this.owners.get(storeName);
    if (node === undefined) throw new StateStoreError(`no store named ${storeName} in this topology`);
    const nodeKeySerde = this.topology.serde(node.name, 'keySerde');
    const valueSerde = this.topology.serde(node.name, 'valueSerde');
    const keySerde = node.kind === 'aggregate' && node.window !== undefined ? (windowedSerde(nodeKeySerde, node.window.sizeMs) as Serde<unknown>) : nodeKeySerde;
    const built = materialize({ name: storeName, keySerde, valueSerde, ...node.store.layers });
    // Only a windowed aggregation reads them back: a table would keep a copy of every key it restored.
    const restored = node.kind === 'aggregate' && node.window !== undefined ? new Map<string, unknown>() : undefined;
    const handle = {
      name: storeName,
      partition,
      node,
      store: built.store,
      keySerde,
      valueSerde,
      ready: built.store.init(),
      cacheStats: () => built.cacheStats(),
      restoredKeys: () => [...(restored?.values() ?? [])],
      restoredStreamTime: () => handle.maxTimestamp,
      restored,
      maxTimestamp: 0,
    };
    // Failures surface to whoever awaits `ready`; an unawaited rejection must not crash the process.
    handle.ready.catch(() => undefined);
    this.handles.set(slot(storeName, partition), handle);
    return handle;
  }

  /**
   * Applies one record of the store's topic (the table's source topic, or its changelog) without
   * processing it: a `null` value deletes. A record that cannot be decoded is skipped and reported
   * to `onSkip` (it was dead-lettered, or never valid, when it was first processed).
   */
  restore(handle: StoreHandle, raw: IncomingRecord, onSkip: (error: Error) => void): Promise<void> | undefined {
    const own = this.handles.get(slot(handle.name, handle.partition));
    if (own === undefined) return undefined;
    let key: unknown;
    let value: unknown;
    try {
      key = handle.keySerde.deserialize(raw.key, raw.topic);
      value = raw.value === null ? null : handle.valueSerde.deserialize(raw.value, raw.topic);
    } catch (error) {
      onSkip(toError(error));
      return undefined;
    }
    if (raw.timestamp > own.maxTimestamp) own.maxTimestamp = raw.timestamp;
    if (key === null || key === undefined) return undefined;
    if (own.restored !== undefined) {
      const id = keyIdentity(handle.keySerde, handle.name)(key);
      if (value === null) own.restored.delete(id);
      else own.restored.set(id, key);
    }
    return value === null ? handle.store.delete(key) : handle.store.put(key, value);
  }

  /** Flushes every open store (at commit). */
  async flush(): Promise<void> {
    await Promise.all([...this.handles.values()].map((handle) => handle.store.flush()));
  }

  /** Closes (flushing) the stores of `partition`; their next owner restores them. */
  async closePartition(partition: number): Promise<void> {
    const closing = [...this.handles.values()].filter((handle) => handle.partition === partition);
    for (const handle of closing) this.handles.delete(slot(handle.name, handle.partition));
    await closeAll(closing);
  }

  /** Closes one store, e.g. to restore it again from scratch. */
  async close(storeName: string, partition: number): Promise<void> {
    const handle = this.handles.get(slot(storeName, partition));
    if (handle === undefined) return;
    this.handles.delete(slot(storeName, partition));
    await closeAll([handle]);
  }

  async closeAll(): Promise<void> {
    const all = [...this.handles.values()];
    this.handles.clear();
    await closeAll(all);
  }
}

async function closeAll(handles: readonly StoreHandle[]): Promise<void> {
  const results = await Promise.allSettled(handles.map(async (handle) => {
    await handle.ready.catch(() => undefined);
    await handle.store.close();
  }));
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw new StateStoreError(`closing a state store failed: ${toError(failed.reason).message}`, { cause: failed.reason });
}

function slot(storeName: string, partition: number): string {
  return `${partition}\u0000${storeName}`;
}
