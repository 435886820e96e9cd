/**
 * The users CDC on real PostgreSQL and the in-memory transport: the initial snapshot, changes in
 * commit order per user with tombstones, a restart (also after a crash between the Kafka commit
 * and the change-row delete) without loss or duplicates, a transaction that commits after a later
 * seq is not skipped, and idempotent migrations. Each run uses its own schema.
 */
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UsersCdc, cdcMigrations, usersMapping, type UserProfile } from '../../../src/connectors/postgres/users-cdc.ts';
import { runMigrations } from '../../../src/connectors/postgres/migrations.ts';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import { MemoryTransport } from '../../../src/transport/memory/index.ts';
import { databaseUrl, hasKafka, hasPostgres, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { consumeUntil } from '../../support/streams-harness.ts';

const sqlName = (prefix: string) => uniqueName(prefix).replaceAll('-', '_');
type Event = Omit<UserProfile, 'updatedAt'> | null;

describe.skipIf(!hasPostgres)('users CDC (PostgreSQL → compacted topic)', () => {
  const schema = sqlName('users_cdc');
  let admin: pg.Pool;
  let pool: pg.Pool;
  let transport: MemoryTransport;
  let cdcs: UsersCdc[] = [];
  /** What was done in PostgreSQL, per user, in commit order (null = deleted). */
  let expected: Map<string, Event[]>;

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: databaseUrl(), max: 1 });
    await admin.query(`CREATE SCHEMA ${schema}`);
    pool = new pg.Pool({ connectionString: databaseUrl(), max: 4, options: `-c search_path=${schema}` });
  });
  afterAll(async () => {
    await Promise.all(cdcs.map((cdc) => cdc.stop()));
    await pool?.end();
    await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin?.end();
  });
  beforeEach(async () => {
    await Promise.all(cdcs.map((cdc) => cdc.stop()));
    cdcs = [];
    await runMigrations(pool, cdcMigrations(usersMapping()));
    await pool.query('TRUNCATE users, users_changes');
    transport = new MemoryTransport();
    expected = new Map();
  });

  const newCdc = (batchSize = 5) => {
    const cdc = new UsersCdc({ pool, transport, batchSize, intervalMs: 3_600_000 });
    cdcs.push(cdc);
    return cdc;
  };
  const record = (id: string, event: Event) => expected.set(id, [...(expected.get(id) ?? []), event]);
  const upsert = async (id: string, name: string, tier = 'bronze') => {
    await pool.query(
      `INSERT INTO users (id, name, email, tier) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email, tier = EXCLUDED.tier, updated_at = now()`,
      [id, name, `${id}@example.com`, tier],
    );
    record(id, { id, name, email: `${id}@example.com`, tier });
  };
  const remove = async (id: string) => {
    await pool.query('DELETE FROM users WHERE id = $1', [id]);
    record(id, null);
  };
  /** Per user, every value on the topic in offset order (read_committed). */
  const published = () => {
    const byUser = new Map<string, Event[]>();
    for (const r of transport.broker.read('users', 0, 0)) {
      const id = r.key?.toString() ?? '';
      let event: Event = null;
      if (r.value !== null) {
        const { updatedAt, ...rest } = JSON.parse(r.value.toString()) as UserProfile;
        expect(typeof updatedAt).toBe('string');
        event = rest;
      }
      byUser.set(id, [...(byUser.get(id) ?? []), event]);
    }
    return byUser;
  };
  const drain = async (cdc: UsersCdc) => {
    let total = 0;
    for (let n = await cdc.pollOnce(); n > 0; n = await cdc.pollOnce()) total += n;
    return total;
  };
  const changeRows = async () => Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM users_changes')).rows[0]?.n);

  it('runs its migrations once: a second run applies nothing and leaves one trigger', async () => {
    expect(await runMigrations(pool, cdcMigrations(usersMapping()))).toEqual([]);
    const versions = await pool.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(versions.rows.map((r) => Number(r.version))).toEqual([1, 2, 3]);
    const triggers = await pool.query(`SELECT 1 FROM information_schema.triggers WHERE event_object_schema = $1 AND event_object_table = 'users'`, [schema]);
    // One row per event (INSERT, UPDATE, DELETE) of the single trigger.
    expect(triggers.rowCount).toBe(3);
    await pool.query("INSERT INTO users (id, name) VALUES ('once', 'x')");
    expect(await changeRows()).toBe(1);
  });

  it('publishes a snapshot of every current user, then continues after the snapshot seq', async () => {
    for (let i = 0; i < 23; i++) await upsert(`u${String(i).padStart(2, '0')}`, `name ${i}`);
    await remove('u05');
    const cdc = newCdc();
    await cdc.start({ poll: false });
    const snapshot = published();
    expect([...snapshot.keys()].sort()).toEqual([...expected.keys()].filter((id) => id !== 'u05').sort());
    for (const [id, events] of snapshot) expect(events).toEqual([expected.get(id)?.at(-1)]);
    expect(cdc.metrics.snapshotRows).toBe(22);
    expect(await changeRows()).toBe(0);
    expect(await cdc.pollOnce()).toBe(0);
    await upsert('u01', 'renamed');
    expect(await cdc.pollOnce()).toBe(1);
    expect(published().get('u01')).toEqual([{ id: 'u01', name: 'name 1', email: 'u01@example.com', tier: 'bronze' }, expected.get('u01')?.at(-1)]);
  });

  it('takes the snapshot only after in-flight writers committed, so their change is neither lost nor repeated', async () => {
    await upsert('w', 'w-0');
    const slow = await pool.connect();
    const cdc = newCdc();
    try {
      await slow.query('BEGIN');
      await slow.query("UPDATE users SET name = 'w-1' WHERE id = 'w'");
      const started = cdc.start({ poll: false });
      // The snapshot waits on the table lock until the writer ends.
      await expect
        .poll(async () => (await admin.query(`SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'users' AND c.relnamespace = $1::regnamespace AND l.mode = 'ShareLock' AND NOT l.granted`, [schema])).rowCount, { timeout: 10_000 })
        .toBe(1);
      await slow.query('COMMIT');
      await started;
    } finally {
      slow.release();
    }
    expect(published().get('w')).toEqual([{ id: 'w', name: 'w-1', email: 'w@example.com', tier: 'bronze' }]);
    expect(await drain(cdc)).toBe(0);
    expect(published().get('w')).toHaveLength(1);
  });

  it('publishes inserts, updates and deletes in commit order per user; a delete is a tombstone', async () => {
    const cdc = newCdc(7);
    await cdc.start({ poll: false });
    expect(published().size).toBe(0);
    for (let round = 0; round < 6; round++) {
      for (const id of ['a', 'b', 'c', 'd']) await upsert(id, `${id}-${round}`, round % 2 === 0 ? 'gold' : 'silver');
      if (round % 2 === 1) await remove(['a', 'b', 'c', 'd'][round % 4] ?? 'a');
    }
    await pool.query("UPDATE users SET id = 'e' WHERE id = 'c'");
    record('c', null);
    record('e', { id: 'e', name: 'c-5', email: 'c@example.com', tier: 'silver' });
    const total = await drain(cdc);
    expect(total).toBe([...expected.values()].reduce((n, events) => n + events.length, 0));
    expect(published()).toEqual(expected);
    expect(await changeRows()).toBe(0);
    expect(cdc.cursor).toBeGreaterThan(0n);
  });

  it('resumes after a restart (also after a crash before the change rows were deleted) without loss or duplicates', async () => {
    for (const id of ['p', 'q']) await upsert(id, `${id}-0`);
    const first = newCdc(3);
    await first.start({ poll: false });
    for (let i = 1; i <= 5; i++) for (const id of ['p', 'q', 'r']) await upsert(id, `${id}-${i}`);
    expect(await first.pollOnce()).toBe(3);
    // A crash right after the Kafka commit: the change rows cannot be deleted.
    await pool.query(`CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no delete'; END $$;
      CREATE TRIGGER refuse_delete BEFORE DELETE ON users_changes FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete()`);
    await expect(first.pollOnce()).rejects.toThrow(/no delete/);
    await first.stop();
    await pool.query('DROP TRIGGER refuse_delete ON users_changes; DROP FUNCTION refuse_delete()');
    const leftBehind = await changeRows();
    await remove('q');
    await upsert('s', 's-0');
    const second = newCdc(4);
    await second.start({ poll: false });
    expect(second.metrics.snapshotRows).toBe(0);
    expect(await changeRows()).toBe(leftBehind - 3 + 2);
    await drain(second);
    expect(published()).toEqual(expected);
    expect(await changeRows()).toBe(0);
  });

  it('does not step over a seq whose transaction commits later, nor stall on a rolled-back one', async () => {
    await upsert('x', 'x-0');
    await upsert('y', 'y-0');
    const cdc = newCdc();
    await cdc.start({ poll: false });
    const slow = await pool.connect();
    try {
      await slow.query('BEGIN');
      await slow.query("UPDATE users SET name = 'x-1' WHERE id = 'x'");
      await upsert('y', 'y-1');
      // y-1 is committed but x-1 holds the seq before it: publishing y-1 would move the cursor past x-1.
      expect(await cdc.pollOnce()).toBe(0);
      await slow.query('COMMIT');
      record('x', { id: 'x', name: 'x-1', email: 'x@example.com', tier: 'bronze' });
      await slow.query('BEGIN');
      await slow.query("INSERT INTO users (id, name) VALUES ('ghost', 'g')");
      await slow.query('ROLLBACK');
    } finally {
      slow.release();
    }
    await upsert('y', 'y-2');
    await drain(cdc);
    await drain(cdc);
    expect(published()).toEqual(expected);
    expect(published().has('ghost')).toBe(false);
  });

  it('keeps seq order past 9 → 10 and 99 → 100, and loses nothing there (seq is compared as a number, not as text)', async () => {
    const cdc = newCdc(25);
    await cdc.start({ poll: false });
    for (let version = 0; version < 120; version++) await upsert('one', `one-${version}`);
    for (let round = 0; round < 10 && (await changeRows()) > 0; round++) await drain(cdc);
    expect(await changeRows()).toBe(0);
    expect(published().get('one')?.map((event) => event?.name)).toEqual(expected.get('one')?.map((event) => event?.name));
  });

  it('polls on its own after start', async () => {
    const cdc = new UsersCdc({ pool, transport, intervalMs: 20 });
    cdcs.push(cdc);
    await cdc.start();
    await upsert('auto', 'a-0');
    await expect.poll(() => published().get('auto'), { timeout: 5_000 }).toEqual(expected.get('auto'));
    await cdc.stop();
  });
  describe.skipIf(!hasKafka)('on a real broker', () => {
    it('publishes the snapshot and the changes, and a restarted instance resumes after its cursor', async () => {
      const kafka = new KafkaTransport({ brokers: kafkaBrokers(), clientId: uniqueName('users-cdc-test'), logLevel: 'nothing' });
      const topic = uniqueName('users');
      const name = uniqueName('users-cdc');
      for (const id of ['k1', 'k2']) await upsert(id, `${id}-0`);
      const first = new UsersCdc({ pool, transport: kafka, topic, name, batchSize: 2, intervalMs: 3_600_000 });
      cdcs.push(first);
      await first.start({ poll: false });
      await upsert('k1', 'k1-1');
      await remove('k2');
      await upsert('k3', 'k3-0');
      expect(await first.pollOnce()).toBe(2);
      await first.stop();
      const second = new UsersCdc({ pool, transport: kafka, topic, name, batchSize: 2, intervalMs: 3_600_000 });
      cdcs.push(second);
      await second.start({ poll: false });
      expect(second.metrics.snapshotRows).toBe(0);
      expect(await drain(second)).toBe(1);
      const total = [...expected.values()].reduce((n, events) => n + events.length, 0);
      const records = await consumeUntil(kafka, topic, (seen) => seen.length >= total, { timeoutMs: 30_000 });
      const byUser = new Map<string, Event[]>();
      for (const r of records) {
        const value = r.value === null ? null : (JSON.parse(r.value.toString()) as UserProfile);
        const event: Event = value === null ? null : { id: value.id, name: value.name, email: value.email, tier: value.tier };
        byUser.set(r.key?.toString() ?? '', [...(byUser.get(r.key?.toString() ?? '') ?? []), event]);
      }
      expect(byUser).toEqual(expected);
      await second.stop();
    });
  });
});
