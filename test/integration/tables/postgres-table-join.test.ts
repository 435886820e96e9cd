/**
 * A stream-table join whose table lives in PostgreSQL behind a small LRU cache, on a real broker:
 * every rating meets its user's profile although the cache holds a tenth of the table (evicted
 * profiles are read back from PostgreSQL, not loaded), and a user the topic never carried is
 * looked up once through the loader for a burst of ratings.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CachingKeyValueStore, StreamsApp, StreamsBuilder, silentLogger, storeTableName } from '../../../src/index.ts';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import type { IncomingRecord, OutgoingRecord } from '../../../src/transport/transport.ts';
import { databaseUrl, hasKafka, hasPostgres, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { consumeUntil, createTopics, produce } from '../../support/streams-harness.ts';

interface User {
  readonly id: string;
  readonly name: string;
}
interface Rating {
  readonly id: string;
  readonly userId: string;
  readonly score: number;
}
interface Enriched extends Rating {
  readonly user: User | null;
}

const USERS = 500;
const CACHE = 50;
const GHOST = 'u-ghost';
const BURST = 100;

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const parse = (record: IncomingRecord) => JSON.parse(record.value?.toString() ?? 'null') as Enriched;
/** A plain SQL identifier no other run uses. */
const sqlName = (prefix: string) => uniqueName(prefix).replaceAll('-', '_');

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe.skipIf(!hasKafka || !hasPostgres)('a PostgreSQL-backed table with a small cache, joined on a real broker', () => {
  let pool: pg.Pool;
  const tables: string[] = [];
  const apps: StreamsApp[] = [];

  beforeAll(() => {
    pool = new pg.Pool({ connectionString: databaseUrl(), max: 4 });
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()));
  });
  afterAll(async () => {
    for (const table of tables.splice(0)) await pool?.query(`DROP TABLE IF EXISTS "${table}"`);
    await pool?.end();
  });

  it(`joins ratings of ${USERS} users in random order through a ${CACHE}-entry cache, and a never-carried user through one loader call`, { timeout: 180_000 }, async () => {
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'postgres-table-join', logLevel: 'nothing' });
    const users = uniqueName('pg-users');
    const ratings = uniqueName('pg-ratings');
    const out = uniqueName('pg-enriched');
    // One partition: one store, so one cache of CACHE entries holds the whole table's hot set.
    await createTopics(transport, [users, ratings, out].map((topic) => ({ topic, partitions: 1 })));

    // The seed's users table, which the loader reads: it knows the one user the topic never carries.
    const seed = sqlName('seed_users');
    tables.push(seed);
    await pool.query(`CREATE TABLE "${seed}" (id text PRIMARY KEY, name text NOT NULL)`);
    await pool.query(`INSERT INTO "${seed}" VALUES ($1, 'Only in the seed')`, [GHOST]);
    const loaded: string[] = [];
    const loader = async (id: string): Promise<User | undefined> => {
      loaded.push(id);
      const { rows } = await pool.query<User>(`SELECT id, name FROM "${seed}" WHERE id = $1`, [id]);
      return rows[0];
    };

    const storeName = sqlName('users');
    const storeTable = storeTableName(storeName);
    tables.push(storeTable);
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    const table = builder.table<string, User>(users, { store: { name: storeName, postgres: { pool }, cache: { maxEntries: CACHE }, loader } });
    builder
      .stream<string, Rating>(ratings)
      .leftJoin(table, (rating, user): Enriched => ({ ...rating, user }))
      .to(out);
    const app = new StreamsApp(builder.build(), {
      applicationId: uniqueName('pg-join'),
      transport,
      logger: silentLogger(),
      processingGuarantee: 'at-least-once',
      commitIntervalMs: 200,
    });
    apps.push(app);

    await produce(transport, Array.from({ length: USERS }, (_, n) => ({ topic: users, key: Buffer.from(`u${n}`), value: json({ id: `u${n}`, name: `User ${n}` }) })));
    await app.start();
    // Two ratings per user, shuffled: consecutive lookups rarely hit the cache's last 50 users.
    const firstRatings: OutgoingRecord[] = shuffled(Array.from({ length: 2 * USERS }, (_, i) => i)).map((i) => {
      const userId = `u${i % USERS}`;
      return { topic: ratings, key: Buffer.from(userId), value: json({ id: `r${i}`, userId, score: 1 + (i % 5) }) };
    });
    await produce(transport, firstRatings);
    const joined = (await consumeUntil(transport, out, (got) => new Set(got.map((r) => parse(r).id)).size >= 2 * USERS, { timeoutMs: 120_000 })).map(parse);
    const wrong = joined.filter((r) => r.user?.id !== r.userId || r.user.name !== `User ${r.userId.slice(1)}`);
    expect(wrong.map((r) => r.id)).toEqual([]);
    expect(new Set(joined.map((r) => r.id)).size).toBe(2 * USERS);

    // The cache really was too small: profiles were evicted and read back from PostgreSQL, never loaded.
    const store = app.store(storeName, 0);
    expect(store).toBeInstanceOf(CachingKeyValueStore);
    const stats = (store as CachingKeyValueStore<string, User>).stats();
    expect(stats.size).toBeLessThanOrEqual(CACHE);
    expect(stats.evictions).toBeGreaterThan(USERS);
    expect(stats.misses).toBeGreaterThan(USERS);
    expect(loaded).toEqual([]);
    // The profiles are rows of the store's own table (written at commit).
    const rows = async () => Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${storeTable}" WHERE v IS NOT NULL`)).rows[0]?.n ?? 0);
    let stored = await rows();
    for (const deadline = Date.now() + 30_000; stored < USERS && Date.now() < deadline; stored = await rows()) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stored).toBe(USERS);

    // A burst for a user the topic never carried: every rating is enriched from the seed, loaded once.
    await produce(transport, Array.from({ length: BURST }, (_, i) => ({ topic: ratings, key: Buffer.from(GHOST), value: json({ id: `g${i}`, userId: GHOST, score: 5 }) })));
    const ghosts = (await consumeUntil(transport, out, (got) => new Set(got.map(parse).filter((r) => r.userId === GHOST).map((r) => r.id)).size >= BURST, { timeoutMs: 60_000 }))
      .map(parse)
      .filter((r) => r.userId === GHOST);
    expect(ghosts.filter((r) => r.user?.name !== 'Only in the seed').map((r) => r.id)).toEqual([]);
    expect(new Set(ghosts.map((r) => r.id)).size).toBe(BURST);
    expect(loaded).toEqual([GHOST]);
  });
});
