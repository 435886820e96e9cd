/**
 * Test doubles for the state layers: promises settled by the test, and a wrapper around a store
 * that counts lookups and can hold them at a gate or fail writes.
 */
import type { KeyValueStore, Lookup, StoreEntry } from '../../../src/state/index.ts';

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Wraps a store: counts lookups; while `gate` is set, a lookup reads the inner store first and
 * then waits for the gate before answering, like a slow query that read before a later write.
 */
export class ProbeStore<K, V> implements KeyValueStore<K, V> {
  readonly name: string;
  lookups = 0;
  gate: Promise<void> | undefined;
  /** Resolves when a lookup has read and is waiting at the gate. */
  waiting = deferred<undefined>();
  /** When set, writes reach the inner store and then throw this. */
  failWrites: Error | undefined;
  /** When set, a write reaches the inner store and then waits for this before it returns. */
  writeGate: Promise<unknown> | undefined;

  constructor(readonly inner: KeyValueStore<K, V>) {
    this.name = inner.name;
  }

  init(): Promise<void> {
    return this.inner.init();
  }

  async get(key: K): Promise<V | undefined> {
    const lookup = await this.lookup(key);
    return lookup.kind === 'value' ? lookup.value : undefined;
  }

  async lookup(key: K): Promise<Lookup<V>> {
    this.lookups++;
    const answer = await this.inner.lookup(key);
    if (this.gate !== undefined) {
      this.waiting.resolve(undefined);
      await this.gate;
    }
    return answer;
  }

  async put(key: K, value: V): Promise<void> {
    const gate = this.writeGate;
    await this.inner.put(key, value);
    await gate;
    if (this.failWrites) throw this.failWrites;
  }

  async delete(key: K): Promise<void> {
    const gate = this.writeGate;
    await this.inner.delete(key);
    await gate;
    if (this.failWrites) throw this.failWrites;
  }

  async putAll(entries: Iterable<StoreEntry<K, V>>): Promise<void> {
    const gate = this.writeGate;
    await this.inner.putAll(entries);
    await gate;
    if (this.failWrites) throw this.failWrites;
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  approximateSize(): Promise<number> {
    return this.inner.approximateSize();
  }

  all(): AsyncIterable<StoreEntry<K, V> & { readonly value: V }> {
    return this.inner.all();
  }
}

/** Collects an async iterable into an array. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
