import { describe, expect, it } from 'vitest';
import { StateStoreError } from '../../../src/errors/streams-error.ts';
import { bytesSerde, stringSerde } from '../../../src/serdes/index.ts';
import { InMemoryKeyValueStore } from '../../../src/state/index.ts';
import { collect } from './store-doubles.ts';

interface User {
  readonly name: string;
}

async function openStore(): Promise<InMemoryKeyValueStore<string, User>> {
  const store = new InMemoryKeyValueStore<string, User>({ name: 'users', keySerde: stringSerde() });
  await store.init();
  return store;
}

describe('InMemoryKeyValueStore', () => {
  it('returns what was put, and undefined for keys never put', async () => {
    const store = await openStore();
    await store.put('u1', { name: 'Ada' });
    expect(await store.get('u1')).toEqual({ name: 'Ada' });
    expect(await store.get('u2')).toBeUndefined();
  });

  it('tells a deleted key from one never seen', async () => {
    const store = await openStore();
    await store.put('u1', { name: 'Ada' });
    await store.delete('u1');
    expect(await store.lookup('u1')).toEqual({ kind: 'deleted' });
    expect(await store.lookup('u2')).toEqual({ kind: 'unknown' });
    expect(await store.get('u1')).toBeUndefined();
  });

  it('applies putAll in order, a null value deleting', async () => {
    const store = await openStore();
    await store.putAll([
      { key: 'u1', value: { name: 'Ada' } },
      { key: 'u2', value: { name: 'Grace' } },
      { key: 'u1', value: null },
      { key: 'u2', value: { name: 'Grace H.' } },
    ]);
    expect(await store.lookup('u1')).toEqual({ kind: 'deleted' });
    expect(await store.get('u2')).toEqual({ name: 'Grace H.' });
  });

  it('counts live keys only and lists live entries only', async () => {
    const store = await openStore();
    await store.putAll([
      { key: 'a', value: { name: 'A' } },
      { key: 'b', value: { name: 'B' } },
      { key: 'c', value: { name: 'C' } },
      { key: 'b', value: null },
      { key: 'a', value: { name: 'A2' } },
    ]);
    await store.delete('never-there');
    expect(await store.approximateSize()).toBe(2);
    const entries = await collect(store.all());
    expect(entries.sort((x, y) => x.key.localeCompare(y.key))).toEqual([
      { key: 'a', value: { name: 'A2' } },
      { key: 'c', value: { name: 'C' } },
    ]);
  });

  it('compares keys by their bytes, not by reference', async () => {
    const store = new InMemoryKeyValueStore<Buffer, string>({ name: 'raw', keySerde: bytesSerde() });
    await store.put(Buffer.from([1, 2, 255]), 'first');
    await store.put(Buffer.from([1, 2, 255]), 'second');
    expect(await store.get(Buffer.from([1, 2, 255]))).toBe('second');
    expect(await store.approximateSize()).toBe(1);
  });

  it('refuses use after close with a StateStoreError', async () => {
    const store = await openStore();
    await store.put('u1', { name: 'Ada' });
    await store.close();
    await expect(store.get('u1')).rejects.toThrow(StateStoreError);
    await expect(store.put('u1', { name: 'Ada' })).rejects.toMatchObject({ code: 'STATE_STORE_FAILED', message: 'State store "users" is closed' });
  });
});
