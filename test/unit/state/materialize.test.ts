import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { ConfigError } from '../../../src/errors/streams-error.ts';
import { jsonSerde, stringSerde } from '../../../src/serdes/index.ts';
import { CachingKeyValueStore, InMemoryKeyValueStore, materialize, PostgresKeyValueStore, ReadThroughKeyValueStore } from '../../../src/state/index.ts';
import { deferred } from './store-doubles.ts';

describe('materialize', () => {
  it('builds a plain in-memory store with no other layer by default', async () => {
    const { store, cacheStats } = materialize<string, string>({ name: 'users', keySerde: stringSerde() });
    expect(store).toBeInstanceOf(InMemoryKeyValueStore);
    expect(cacheStats()).toBeUndefined();
    await store.init();
    await store.put('u1', 'Ada');
    expect(await store.get('u1')).toBe('Ada');
  });

  it('puts the cache outermost, over the read-through, so hot loaded values are cached', async () => {
    let loads = 0;
    const { store, cacheStats } = materialize<string, string>({
      name: 'users',
      keySerde: stringSerde(),
      cache: { maxEntries: 2 },
      loader: async (id) => {
        loads++;
        return `loaded ${id}`;
      },
    });
    expect(store).toBeInstanceOf(CachingKeyValueStore);
    await store.init();
    expect(await store.get('u1')).toBe('loaded u1');
    expect(await store.get('u1')).toBe('loaded u1');
    expect(loads).toBe(1);
    expect(cacheStats()).toMatchObject({ hits: 1, misses: 1, size: 1 });
  });

  it('a topic update overwrites a cached loaded value, and a delete is never loaded again', async () => {
    let loads = 0;
    const { store } = materialize<string, string>({
      name: 'users',
      keySerde: stringSerde(),
      cache: { maxEntries: 1 },
      loader: async () => {
        loads++;
        return 'from database';
      },
    });
    await store.init();
    expect(await store.get('u1')).toBe('from database');
    await store.put('u1', 'from topic');
    expect(await store.get('u1')).toBe('from topic');
    await store.delete('u1');
    await store.put('u2', 'evicts u1 from the one-entry cache');
    expect(await store.get('u1')).toBeUndefined();
    expect(loads).toBe(1);
  });

  it('a load overtaken by a put through the whole stack leaves the put value cached', async () => {
    const answer = deferred<string>();
    const called = deferred<undefined>();
    let loads = 0;
    const { store, cacheStats } = materialize<string, string>({
      name: 'users',
      keySerde: stringSerde(),
      cache: { maxEntries: 10 },
      loader: () => {
        loads++;
        called.resolve(undefined);
        return answer.promise;
      },
    });
    await store.init();
    const lookup = store.get('u1');
    await called.promise;
    await store.put('u1', 'from topic');
    answer.resolve('stale from database');
    expect(await lookup).toBe('from topic');
    expect(await store.get('u1')).toBe('from topic');
    expect(loads).toBe(1);
    expect(cacheStats()?.hits).toBe(1);
  });

  it('without a cache, the read-through is the outer layer', () => {
    const { store } = materialize<string, string>({ name: 'users', keySerde: stringSerde(), loader: async () => undefined });
    expect(store).toBeInstanceOf(ReadThroughKeyValueStore);
  });

  it('with postgres, needs a value serde and names the table after the store', async () => {
    const pool = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none' });
    try {
      expect(() => materialize({ name: 'users', keySerde: stringSerde(), postgres: { pool } })).toThrow(ConfigError);
      const { store } = materialize({ name: 'users-STORE', keySerde: stringSerde(), valueSerde: jsonSerde(), postgres: { pool } });
      expect(store).toBeInstanceOf(PostgresKeyValueStore);
      expect(() => materialize({ name: 'users', keySerde: stringSerde(), valueSerde: jsonSerde(), postgres: { pool, table: 'users; DROP TABLE x' } })).toThrow(
        /option table must be a plain SQL identifier/,
      );
    } finally {
      await pool.end();
    }
  });
});
