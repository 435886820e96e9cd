import { StateStoreError } from '../errors/streams-error.ts';
import type { Serde } from '../serdes/serde.ts';
import { applyEach, DELETED, found, UNKNOWN, valueOf, type KeyValueStore, type Lookup, type StoreEntry } from './key-value-store.ts';
import { keyIdentity } from './store-key.ts';

export interface InMemoryKeyValueStoreOptions<K> {
  readonly name: string;
  /** Gives keys their identity: two keys are the same key when their bytes are equal. */
  readonly keySerde: Serde<K>;
}

/** A live value, or `undefined` for a tombstone, with the answer a lookup gives (made once, not per lookup). */
interface Slot<K, V> {
  readonly key: K;
  readonly value: V | undefined;
  readonly lookup: Lookup<V>;
}

/**
 * A key-value store in a `Map`: the embedded default and the innermost layer in tests.
 *
 * Like a `Map`, values are held by reference: callers must not mutate a value after `put` or after
 * `get` returned it. Tombstones are kept (one small slot per deleted key) so that a read-through
 * loader above never resurrects a deleted key.
 *
 * @example const users = new InMemoryKeyValueStore({ name: 'users', keySerde: stringSerde() });
 */
export class InMemoryKeyValueStore<K, V> implements KeyValueStore<K, V> {
  readonly name: string;
  readonly #id: (key: K) => string;
  readonly #slots = new Map<string, Slot<K, V>>();
  #live = 0;
  #closed = false;

  constructor(options: InMemoryKeyValueStoreOptions<K>) {
    this.name = options.name;
    this.#id = keyIdentity(options.keySerde, options.name);
  }

  async init(): Promise<void> {}

  async get(key: K): Promise<V | undefined> {
    return valueOf(await this.lookup(key));
  }

  async lookup(key: K): Promise<Lookup<V>> {
    return this.peek(key);
  }

  /** Always answers: everything is in memory. */
  peek(key: K): Lookup<V> {
    this.#checkOpen();
    const slot = this.#slots.get(this.#id(key));
    return slot === undefined ? UNKNOWN : slot.lookup;
  }

  async put(key: K, value: V): Promise<void> {
    this.#set(key, value);
  }

  async delete(key: K): Promise<void> {
    this.#set(key, undefined);
  }

  async putAll(entries: Iterable<StoreEntry<K, V>>): Promise<void> {
    await applyEach(this, entries);
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.#closed = true;
    this.#slots.clear();
    this.#live = 0;
  }

  async approximateSize(): Promise<number> {
    return this.#live;
  }

  async *all(): AsyncIterable<StoreEntry<K, V> & { readonly value: V }> {
    this.#checkOpen();
    for (const { key, value } of [...this.#slots.values()]) {
      if (value !== undefined) yield { key, value };
    }
  }

  #set(key: K, value: V | undefined): void {
    this.#checkOpen();
    const id = this.#id(key);
    const before = this.#slots.get(id);
    this.#live += (value === undefined ? 0 : 1) - (before?.value === undefined ? 0 : 1);
    this.#slots.set(id, { key, value, lookup: value === undefined ? DELETED : found(value) });
  }

  #checkOpen(): void {
    if (this.#closed) throw new StateStoreError(`State store "${this.name}" is closed`);
  }
}
