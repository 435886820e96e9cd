import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors/streams-error.ts';
import { stringSerde } from '../../../src/serdes/index.ts';
import { CachingKeyValueStore, InMemoryKeyValueStore, type CachingOptions } from '../../../src/state/index.ts';
import { deferred, ProbeStore } from './store-doubles.ts';

async function cachedStore(options: Omit<CachingOptions<string, string>, 'keySerde'>) {
  const probe = new ProbeStore(new InMemoryKeyValueStore<string, string>({ name: 'users', keySerde: stringSerde() }));
  const cache = new CachingKeyValueStore(probe, { keySerde: stringSerde(), ...options });
  await cache.init();
  return { probe, cache };
}

describe('CachingKeyValueStore', () => {
  it('serves a hot key from the cache and counts hits and misses', async () => {
    const { probe, cache } = await cachedStore({ maxEntries: 10 });
    await probe.inner.put('u1', 'Ada');
    expect(await cache.get('u1')).toBe('Ada');
    expect(await cache.get('u1')).toBe('Ada');
    expect(await cache.get('u1')).toBe('Ada');
    expect(probe.lookups).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 1, evictions: 0, size: 1 });
  });

  it('stays within maxEntries, counts evictions, and reads an evicted key back from the inner store', async () => {
    const { probe, cache } = await cachedStore({ maxEntries: 3 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) await cache.put(id, `user ${id}`);
    expect(cache.stats()).toMatchObject({ size: 3, evictions: 2 });
    expect(await cache.get('a')).toBe('user a');
    expect(probe.lookups).toBe(1);
    expect(cache.stats()).toMatchObject({ size: 3, evictions: 3, misses: 1 });
  });

  it('stays within maxBytes as measured by sizeOf', async () => {
    const { cache } = await cachedStore({ maxBytes: 100, sizeOf: (value) => value.length });
    // Each entry: 2 key bytes + 20 value bytes = 22; four fit in 100, the fifth evicts one.
    for (const id of ['k1', 'k2', 'k3', 'k4', 'k5']) await cache.put(id, 'x'.repeat(20));
    expect(cache.stats()).toMatchObject({ size: 4, bytes: 88, evictions: 1 });
  });

  it('does not keep an older cached value when the newer one is too large to cache', async () => {
    const { probe, cache } = await cachedStore({ maxBytes: 50, sizeOf: (value) => value.length });
    await cache.put('u1', 'small');
    await cache.put('u1', 'L'.repeat(200));
    expect(cache.stats().size).toBe(0);
    expect(await cache.get('u1')).toBe('L'.repeat(200));
    expect(probe.lookups).toBe(1);
  });

  it('a write overwrites the cached entry and a delete caches the tombstone', async () => {
    const { probe, cache } = await cachedStore({ maxEntries: 10 });
    await cache.put('u1', 'Ada');
    expect(await cache.get('u1')).toBe('Ada');
    await cache.put('u1', 'Ada L.');
    expect(await cache.get('u1')).toBe('Ada L.');
    await cache.delete('u1');
    expect(await cache.lookup('u1')).toEqual({ kind: 'deleted' });
    await cache.putAll([{ key: 'u1', value: 'back' }, { key: 'u2', value: null }]);
    expect(await cache.get('u1')).toBe('back');
    expect(await cache.lookup('u2')).toEqual({ kind: 'deleted' });
    expect(probe.lookups).toBe(0);
  });

  it('coalesces concurrent misses for one key into one inner lookup', async () => {
    const { probe, cache } = await cachedStore({ maxEntries: 10 });
    await probe.inner.put('u1', 'Ada');
    const gate = deferred<undefined>();
    probe.gate = gate.promise;
    const lookups = Array.from({ length: 50 }, () => cache.get('u1'));
    await probe.waiting.promise;
    gate.resolve(undefined);
    expect(new Set(await Promise.all(lookups))).toEqual(new Set(['Ada']));
    expect(probe.lookups).toBe(1);
  });

  it('a load that read before a write does not cache or return the older value (stale-load race)', async () => {
    const { probe, cache } = await cachedStore({ maxEntries: 10 });
    await probe.inner.put('u1', 'old');
    const gate = deferred<undefined>();
    probe.gate = gate.promise;
    const lookup = cache.get('u1');
    await probe.waiting.promise; // the load has read 'old' and is still in flight
    probe.gate = undefined;
    await cache.put('u1', 'new');
    gate.resolve(undefined);
    expect(await lookup).toBe('new');
    expect(await cache.get('u1')).toBe('new');
    // The overtaken load ran again and read the new value.
    expect(probe.lookups).toBe(2);
  });

  it('a load that read before a delete does not bring the value back', async () => {
    const { probe, cache } = await cachedStore({ maxEntries: 10 });
    await probe.inner.put('u1', 'old');
    const gate = deferred<undefined>();
    probe.gate = gate.promise;
    const lookup = cache.get('u1');
    await probe.waiting.promise;
    probe.gate = undefined;
    await cache.delete('u1');
    gate.resolve(undefined);
    expect(await lookup).toBeUndefined();
    expect(await cache.lookup('u1')).toEqual({ kind: 'deleted' });
  });

  it('keeps the order of writes to one key that finish out of order (one waits for a flush, the next does not)', async () => {
    const { probe, cache } = await cachedStore({ maxEntries: 10 });
    const flush = deferred<undefined>();
    probe.writeGate = flush.promise;
    const first = cache.put('u1', 'v1');
    probe.writeGate = undefined;
    await cache.put('u1', 'v2');
    flush.resolve(undefined);
    await first;
    expect(await probe.inner.get('u1')).toBe('v2');
    expect(await cache.get('u1')).toBe('v2');
  });

  it('does not cache a load that ends while a write to its key is in progress', async () => {
    const { probe, cache } = await cachedStore({ maxEntries: 10 });
    await probe.inner.put('u1', 'old');
    const gate = deferred<undefined>();
    probe.gate = gate.promise;
    const lookup = cache.get('u1');
    await probe.waiting.promise; // the load read 'old'
    probe.gate = undefined;
    const flush = deferred<undefined>();
    probe.writeGate = flush.promise;
    const write = cache.put('u1', 'new');
    gate.resolve(undefined);
    expect(await lookup).toBe('new');
    flush.resolve(undefined);
    await write;
    expect(await cache.get('u1')).toBe('new');
  });

  it('drops the cached entry when the inner write fails, so the next lookup reads what the inner store has', async () => {
    const { probe, cache } = await cachedStore({ maxEntries: 10 });
    await cache.put('u1', 'old');
    probe.failWrites = new Error('flush failed');
    await expect(cache.put('u1', 'new')).rejects.toThrow('flush failed');
    expect(await cache.get('u1')).toBe('new');
    expect(probe.lookups).toBe(1);
  });

  it('refuses a cache without a bound, or with a bound that is not a positive integer', () => {
    const inner = new InMemoryKeyValueStore<string, string>({ name: 'users', keySerde: stringSerde() });
    expect(() => new CachingKeyValueStore(inner, { keySerde: stringSerde() })).toThrow(ConfigError);
    expect(() => new CachingKeyValueStore(inner, { keySerde: stringSerde(), maxEntries: 0 })).toThrow(/maxEntries must be a positive integer, got 0/);
    expect(() => new CachingKeyValueStore(inner, { keySerde: stringSerde(), maxBytes: 1.5 })).toThrow(/maxBytes must be a positive integer/);
  });
});
