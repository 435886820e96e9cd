import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import { StateStoreError } from '../../../src/errors/streams-error.ts';
import { jsonSerde, stringSerde } from '../../../src/serdes/index.ts';
import { materialize, PostgresKeyValueStore, ReadThroughKeyValueStore, type KeyValueStore } from '../../../src/state/index.ts';
import { databaseUrl, hasPostgres, uniqueName } from '../../support/services.ts';

interface User {
  readonly id: string;
  readonly name: string;
  readonly tier: number;
}

const user = (n: number): User => ({ id: `u-${n}`, name: `User ${n}`, tier: n % 5 });

/** A random table name that is a plain SQL identifier. */
const tableName = (prefix: string) => uniqueName(prefix).replaceAll('-', '_');

/** Statements sent through `pool.query` that start with `verb`, counted from a spy. */
function statements(spy: { mock: { calls: unknown[][] } }, verb: string): number {
  return spy.mock.calls.filter(([sql]) => typeof sql === 'string' && sql.startsWith(verb)).length;
}

describe.skipIf(!hasPostgres)('PostgreSQL-backed state stores', () => {
  let pool: pg.Pool;
  let seedPool: pg.Pool;
  let seedTable: string;

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: databaseUrl(), max: 4 });
    // The seed's users table, read by the loader through a pool of its own so its queries are countable.
    seedPool = new pg.Pool({ connectionString: databaseUrl(), max: 4 });
    seedTable = tableName('seed_users');
    await seedPool.query(`CREATE TABLE ${seedTable} (id text PRIMARY KEY, name text NOT NULL, tier int NOT NULL)`);
    await seedPool.query(`INSERT INTO ${seedTable} VALUES ('u-seed', 'Only in the database', 3), ('u-doomed', 'Deleted on the topic', 1)`);
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await pool?.end();
    await seedPool?.end();
  });

  const loadUser = async (id: string): Promise<User | undefined> => {
    const { rows } = await seedPool.query<User>(`SELECT * FROM ${seedTable} WHERE id = $1`, [id]);
    return rows[0];
  };

  function usersStore(options: { table: string; cache?: number; loader?: boolean; maxPendingEntries?: number }) {
    return materialize<string, User>({
      name: 'users',
      keySerde: stringSerde(),
      valueSerde: jsonSerde<User>(),
      postgres: { pool, table: options.table, ...(options.maxPendingEntries === undefined ? {} : { maxPendingEntries: options.maxPendingEntries }) },
      ...(options.cache === undefined ? {} : { cache: { maxEntries: options.cache } }),
      ...(options.loader ? { loader: loadUser } : {}),
    });
  }

  it('with an LRU bound (500) far below the table (10,000 users), every lookup of an evicted user is correct', async () => {
    const { store, cacheStats } = usersStore({ table: tableName('lru'), cache: 500, maxPendingEntries: 750 });
    await store.init();
    await store.putAll(Array.from({ length: 10_000 }, (_, n) => ({ key: `u-${n}`, value: user(n) })));
    const spy = vi.spyOn(pool, 'query');
    try {
      // 10,000 = 13 flushed batches of 750 + 250 unflushed: evicted keys come from both the table and the buffer.
      for (let start = 0; start < 10_000; start += 100) {
        const ids = Array.from({ length: 100 }, (_, i) => start + i);
        const got = await Promise.all(ids.map((n) => store.get(`u-${n}`)));
        expect(got).toEqual(ids.map(user));
      }
      expect(statements(spy, 'SELECT v FROM')).toBe(9_750);
    } finally {
      spy.mockRestore();
    }
    const stats = cacheStats();
    expect(stats?.size).toBe(500);
    expect(stats?.misses).toBe(10_000);
    expect(stats?.evictions).toBeGreaterThanOrEqual(19_000);
    await store.close();
  });

  it('writes a full batch in the background while the next fills; a writer waits only when a second batch is full', async () => {
    const table = tableName('pipelined');
    const store = new PostgresKeyValueStore<string, User>({ name: 'users', pool, table, keySerde: stringSerde(), valueSerde: jsonSerde<User>(), maxPendingEntries: 100 });
    await store.init();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const original = pool.query.bind(pool) as (text: string, values?: unknown[]) => Promise<unknown>;
    let inserts = 0;
    const spy = vi.spyOn(pool, 'query').mockImplementation((async (text: string, values?: unknown[]) => {
      if (text.startsWith('INSERT')) {
        inserts += 1;
        await released;
      }
      return original(text, values);
    }) as never);
    try {
      // The 100th write starts a batch and returns at once; the next 99 fill the next batch.
      for (let n = 0; n < 199; n++) await store.put(`u-${n}`, user(n));
      expect(inserts).toBe(1);
      expect(store.pendingWrites).toBe(99);
      // The 200th waits for the batch being written.
      let done = false;
      const last = store.put('u-199', user(199)).then(() => (done = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(done).toBe(false);
      release();
      await last;
      await store.flush();
      expect(await store.approximateSize()).toBe(200);
    } finally {
      spy.mockRestore();
    }
  });

  it('writes in batches: one upsert per maxPendingEntries writes and per flush, none per put', async () => {
    const table = tableName('batches');
    const store = new PostgresKeyValueStore<string, User>({ name: 'users', pool, table, keySerde: stringSerde(), valueSerde: jsonSerde<User>(), maxPendingEntries: 500 });
    await store.init();
    const spy = vi.spyOn(pool, 'query');
    try {
      for (let n = 0; n < 2_200; n++) await store.put(`u-${n}`, user(n));
      expect(statements(spy, 'INSERT')).toBe(4);
      expect(store.pendingWrites).toBe(200);
      await store.flush();
      await store.flush(); // nothing pending: no statement
      expect(statements(spy, 'INSERT')).toBe(5);
      // Writing the same data again (a replay after a crash) is harmless: upserts and tombstones.
      for (let n = 0; n < 100; n++) await store.put(`u-${n}`, user(n));
      for (let n = 100; n < 200; n++) await store.delete(`u-${n}`);
      await store.flush();
      for (let n = 100; n < 200; n++) await store.delete(`u-${n}`);
      await store.flush();
      expect(statements(spy, 'INSERT')).toBe(7);
      expect(spy.mock.calls.length).toBe(7);
    } finally {
      spy.mockRestore();
    }
    const { rows } = await pool.query<{ live: string; tombstones: string }>(
      `SELECT count(v) AS live, count(*) - count(v) AS tombstones FROM "${table}"`,
    );
    expect(rows[0]).toEqual({ live: '2100', tombstones: '100' });
    expect(await store.approximateSize()).toBe(2_100);
    await store.close();
  });

  it('100 concurrent lookups of a user the topic never carried cause exactly one loader query', async () => {
    const { store, cacheStats } = usersStore({ table: tableName('coalesce'), cache: 100, loader: true });
    await store.init();
    const spy = vi.spyOn(seedPool, 'query');
    try {
      const got = await Promise.all(Array.from({ length: 100 }, () => store.get('u-seed')));
      expect(got).toEqual(Array.from({ length: 100 }, () => ({ id: 'u-seed', name: 'Only in the database', tier: 3 })));
      expect(statements(spy, 'SELECT * FROM')).toBe(1);
      // Cached now: later lookups cost no query either.
      expect(await store.get('u-seed')).toMatchObject({ id: 'u-seed' });
      expect(statements(spy, 'SELECT * FROM')).toBe(1);
      expect(cacheStats()?.hits).toBe(1);
    } finally {
      spy.mockRestore();
    }
    await store.close();
  });

  it('without a cache, the read-through alone coalesces 100 concurrent lookups into one loader query', async () => {
    const { store } = usersStore({ table: tableName('coalesce_nocache'), loader: true });
    expect(store).toBeInstanceOf(ReadThroughKeyValueStore);
    await store.init();
    const spy = vi.spyOn(seedPool, 'query');
    try {
      const got = await Promise.all(Array.from({ length: 100 }, () => store.get('u-seed')));
      expect(new Set(got.map((u) => u?.name))).toEqual(new Set(['Only in the database']));
      expect(statements(spy, 'SELECT * FROM')).toBe(1);
    } finally {
      spy.mockRestore();
    }
    await store.close();
  });

  it('a user deleted on the topic is not read through from the database, not even after a restart', async () => {
    const table = tableName('tombstones');
    const spy = vi.spyOn(seedPool, 'query');
    try {
      const first = usersStore({ table, cache: 10, loader: true }).store;
      await first.init();
      await first.put('u-doomed', { id: 'u-doomed', name: 'From the topic', tier: 1 });
      await first.delete('u-doomed');
      expect(await first.get('u-doomed')).toBeUndefined();
      await first.close();

      const restarted = usersStore({ table, cache: 10, loader: true }).store;
      await restarted.init();
      expect(await restarted.get('u-doomed')).toBeUndefined();
      expect(await restarted.lookup('u-doomed')).toEqual({ kind: 'deleted' });
      expect(statements(spy, 'SELECT * FROM')).toBe(0);
      // A key the topic never carried is still read through.
      expect(await restarted.get('u-seed')).toMatchObject({ name: 'Only in the database' });
      expect(statements(spy, 'SELECT * FROM')).toBe(1);
      await restarted.close();
    } finally {
      spy.mockRestore();
    }
  });

  it('stores of several partitions opened at once over a table that does not exist yet all open', async () => {
    // Each partition of a table has its store; they share one PostgreSQL table and are opened
    // together on assignment. Concurrent CREATE TABLE IF NOT EXISTS fails in PostgreSQL with a
    // unique violation on pg_type (23505) most times, and with "type ... already exists" (42710)
    // about once in 40 rounds of four: 100 rounds catch a store that takes only the first.
    for (let round = 0; round < 100; round++) {
      const table = tableName('together');
      const stores = Array.from({ length: 4 }, () => usersStore({ table }).store);
      await Promise.all(stores.map((store) => store.init()));
      await stores[0]?.put('u-1', user(1));
      await stores[0]?.flush();
      expect(await stores[3]?.get('u-1')).toEqual(user(1));
      await Promise.all(stores.map((store) => store.close()));
      await pool.query(`DROP TABLE ${table}`);
    }
  });

  it('a new store over the same table (a restart) sees the flushed writes, and only those', async () => {
    const table = tableName('restart');
    const before: KeyValueStore<string, User> = usersStore({ table, maxPendingEntries: 10_000 }).store;
    await before.init();
    await before.putAll(Array.from({ length: 2_500 }, (_, n) => ({ key: `u-${n}`, value: user(n) })));
    await before.delete('u-7');
    await before.flush();
    await before.put('u-unflushed', user(-1)); // the process dies before the next commit

    const after = usersStore({ table, cache: 50 }).store;
    await after.init();
    expect(await after.get('u-0')).toEqual(user(0));
    expect(await after.get('u-2499')).toEqual(user(2_499));
    expect(await after.lookup('u-7')).toEqual({ kind: 'deleted' });
    expect(await after.lookup('u-unflushed')).toEqual({ kind: 'unknown' });
    expect(await after.approximateSize()).toBe(2_499);
    const all: User[] = [];
    for await (const entry of after.all()) all.push(entry.value);
    expect(all).toHaveLength(2_499);
    expect(new Set(all.map((u) => u.id)).size).toBe(2_499);
    expect(all.find((u) => u.id === 'u-7')).toBeUndefined();
    await after.close();
  });

  it('the stores of several partitions creating their shared table at once all start', async () => {
    // The partitions of one store share a table; an app opening them together runs their
    // CREATE TABLE IF NOT EXISTS concurrently, and PostgreSQL may refuse all but one of them.
    for (let round = 0; round < 5; round++) {
      // Connections already open, as in a running app, so the statements really run side by side.
      await Promise.all(Array.from({ length: 4 }, () => pool.query('SELECT pg_sleep(0.05)')));
      const table = tableName('together');
      const stores = Array.from({ length: 6 }, () => usersStore({ table }).store);
      await Promise.all(stores.map((store) => store.init()));
      await stores[0]?.put('u-1', user(1));
      await stores[0]?.flush();
      expect(await stores[5]?.get('u-1')).toEqual(user(1));
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('keys and values are stored as their serdes\' bytes (bytea)', async () => {
    const table = tableName('bytes');
    const { store } = usersStore({ table });
    await store.init();
    await store.put('u-1', user(1));
    await store.flush();
    const { rows } = await pool.query<{ k: Buffer; v: Buffer }>(`SELECT k, v FROM "${table}"`);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.k).toEqual(Buffer.from('u-1', 'utf8'));
    expect(JSON.parse(rows[0]?.v.toString('utf8') ?? '')).toEqual(user(1));
    await store.close();
  });

  it('uses a mixed-case table name exactly as written (quoted), and refuses one that is not a plain identifier', async () => {
    const table = tableName('Mixed_Case');
    const { store } = usersStore({ table });
    await store.init();
    await store.put('u-1', user(1));
    await store.flush();
    const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`);
    expect(rows[0]?.n).toBe('1');
    expect(() => usersStore({ table: `${table}"; DROP TABLE "${table}` })).toThrow(/option table must be a plain SQL identifier/);
    await store.close();
  });

  it('lookups see a batch while it is being written; a failed batch is kept for the next flush, behind newer writes', async () => {
    const table = tableName('failed_flush');
    const open = () => new PostgresKeyValueStore<string, User>({ name: 'users', pool, table, keySerde: stringSerde(), valueSerde: jsonSerde<User>() });
    const store = open();
    await store.init();
    await store.put('a', user(1));
    await store.put('b', user(2));
    let issued!: () => void;
    const insertIssued = new Promise<void>((resolve) => (issued = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    // The server drops the connection while the batch is being written.
    const spy = vi.spyOn(pool, 'query').mockImplementationOnce((async () => {
      issued();
      await released;
      throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    }) as never);
    try {
      const flushing = store.flush();
      await insertIssued;
      expect(store.pendingWrites).toBe(0);
      expect(await store.get('a')).toEqual(user(1)); // from the batch in flight, no query
      await store.put('a', user(10)); // a newer write while the batch is in flight
      release();
      await expect(flushing).rejects.toMatchObject({ code: 'STATE_STORE_FAILED', retriable: true });
      expect(spy).toHaveBeenCalledTimes(1);
      expect(store.pendingWrites).toBe(2);
      expect(await store.get('a')).toEqual(user(10));
      expect(await store.get('b')).toEqual(user(2));
    } finally {
      spy.mockRestore();
    }
    await store.close();
    const restarted = open();
    await restarted.init();
    expect(await restarted.get('a')).toEqual(user(10));
    expect(await restarted.get('b')).toEqual(user(2));
  });

  it('wraps PostgreSQL errors into StateStoreErrors that never show the connection password', async () => {
    const secret = 'Pw0rdSecretXyz';
    // Trust auth accepts any password; the database is named like it, so the server's
    // "database ... does not exist" message carries the secret and must be scrubbed.
    const url = new URL(databaseUrl());
    url.username = 'postgres';
    url.password = secret;
    url.pathname = `/${secret}`;
    const badPool = new pg.Pool({ connectionString: url.toString(), max: 1 });
    try {
      const store = new PostgresKeyValueStore<string, User>({ name: 'users', pool: badPool, table: tableName('bad'), keySerde: stringSerde(), valueSerde: jsonSerde<User>() });
      const error = await store.init().then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(StateStoreError);
      const failure = error as StateStoreError;
      expect(failure.code).toBe('STATE_STORE_FAILED');
      expect(failure.message).toMatch(/^State store "users": creating table "bad_\w+" failed: database "\[REDACTED\]" does not exist/);
      expect((failure.cause as { code?: string }).code).toBe('3D000');
      const text = [failure.message, failure.stack, (failure.cause as Error).message, (failure.cause as Error).stack].join('\n');
      expect(text).not.toContain(secret);
    } finally {
      await badPool.end();
    }
  });
});
