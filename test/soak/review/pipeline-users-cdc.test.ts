/**
 * Hostile review (pipeline): the users CDC on the real broker and PostgreSQL with ordinary rows.
 *
 * README "Users change capture": publishes the `users` table to the compacted `users` topic, every
 * change once, in commit order per user, a tombstone on delete. Nothing in the README limits a
 * row's size; a PostgreSQL text column holds up to 1 GB.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsersCdc, cdcMigrations, usersMapping } from '../../../src/connectors/postgres/users-cdc.ts';
import { runMigrations } from '../../../src/connectors/postgres/migrations.ts';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import { databaseUrl, hasKafka, hasPostgres, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { consumeUntil } from '../../support/streams-harness.ts';

const sqlName = (prefix: string) => uniqueName(prefix).replaceAll('-', '_');

describe.skipIf(!hasPostgres || !hasKafka)('review: users CDC with ordinary rows', () => {
  const schema = sqlName('review9_cdc');
  let admin: pg.Pool;
  let pool: pg.Pool;
  const cdcs: UsersCdc[] = [];
  const transport = () => new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'review9-cdc', logLevel: 'nothing' });

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: databaseUrl(), max: 1 });
    await admin.query(`CREATE SCHEMA ${schema}`);
    pool = new pg.Pool({ connectionString: databaseUrl(), max: 4, options: `-c search_path=${schema}` });
    await runMigrations(pool, cdcMigrations(usersMapping()));
  });
  afterAll(async () => {
    await Promise.all(cdcs.map((cdc) => cdc.stop()));
    await pool?.end();
    await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin?.end();
  });

  // One user whose name is 2 MB (more than the broker's default 1 MB message size). Its change can
  // never be published: the batch's transaction fails, the CDC re-opens and tries the same batch
  // again, for ever. Every later change of every other user is stuck behind it: u-small (inserted
  // after it) is never published, the cursor never moves, the change table only grows.
  // Known break, not fixed yet (README, known limits): `it.fails` turns red once it is fixed.
  it.fails('keeps publishing other users after a row too large for one Kafka record', async () => {
    await pool.query('TRUNCATE users, users_changes');
    const topic = uniqueName('review9-users');
    const cdc = new UsersCdc({ pool, transport: transport(), topic, name: uniqueName('review9-cdc'), batchSize: 500, intervalMs: 200 });
    cdcs.push(cdc);
    await cdc.start();
    await pool.query(`INSERT INTO users (id, name, tier) VALUES ('u-big', repeat('n', 2 * 1024 * 1024), 'gold')`);
    await pool.query(`INSERT INTO users (id, name, tier) VALUES ('u-small', 'Small', 'silver')`);
    const records = await consumeUntil(transport(), topic, (rs) => rs.some((r) => r.key?.toString() === 'u-small'), { timeoutMs: 10_000 }).catch((error: Error) => error.message);
    const pending = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM users_changes')).rows[0]?.n);
    // A CDC stuck on the row would keep retrying against the next tests' tables.
    await cdc.stop();
    await pool.query('TRUNCATE users, users_changes');
    // Once both are published, the change table is emptied.
    expect({ smallPublished: Array.isArray(records), pendingChangeRows: pending }).toEqual({ smallPublished: true, pendingChangeRows: 0 });
  }, 90_000);

  // A key change (UPDATE of id) must end the old key with a tombstone and publish the new one.
  it('publishes a key change as a tombstone of the old key and the row under the new key', async () => {
    await pool.query('TRUNCATE users, users_changes');
    const topic = uniqueName('review9-users');
    const cdc = new UsersCdc({ pool, transport: transport(), topic, name: uniqueName('review9-cdc'), intervalMs: 200 });
    cdcs.push(cdc);
    await cdc.start();
    await pool.query(`INSERT INTO users (id, name) VALUES ('k-old', 'Ann')`);
    await pool.query(`UPDATE users SET id = 'k-new' WHERE id = 'k-old'`);
    const records = await consumeUntil(transport(), topic, (rs) => rs.some((r) => r.key?.toString() === 'k-new'), { timeoutMs: 30_000 });
    expect(records.map((r) => [r.key?.toString(), r.value === null ? null : (JSON.parse(r.value.toString()) as { name: string }).name])).toEqual([
      ['k-old', 'Ann'],
      ['k-old', null],
      ['k-new', 'Ann'],
    ]);
  }, 90_000);

  // A transaction takes a low seq and stays open while a later one commits; the CDC restarts
  // meanwhile (the gap it was waiting for is forgotten with the process); then the first commits.
  it('does not skip a change whose transaction was open across a restart of the CDC', async () => {
    await pool.query('TRUNCATE users, users_changes');
    const topic = uniqueName('review9-users');
    const name = uniqueName('review9-cdc');
    const first = new UsersCdc({ pool, transport: transport(), topic, name, intervalMs: 100 });
    cdcs.push(first);
    await first.start();
    const slow = await pool.connect();
    try {
      await slow.query('BEGIN');
      await slow.query(`INSERT INTO users (id, name) VALUES ('g-slow', 'first seq')`);
      await pool.query(`INSERT INTO users (id, name) VALUES ('g-fast', 'second seq')`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await first.stop();
      const second = new UsersCdc({ pool, transport: transport(), topic, name, intervalMs: 100 });
      cdcs.push(second);
      await second.start();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await slow.query(`UPDATE users SET name = 'first seq, updated' WHERE id = 'g-slow'`);
      await slow.query('COMMIT');
    } finally {
      slow.release();
    }
    const records = await consumeUntil(transport(), topic, (rs) => rs.length >= 3, { timeoutMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(records.map((r) => [r.key?.toString(), (JSON.parse(r.value?.toString() ?? 'null') as { name: string } | null)?.name ?? null]).sort()).toEqual([
      ['g-fast', 'second seq'],
      ['g-slow', 'first seq'],
      ['g-slow', 'first seq, updated'],
    ]);
  }, 90_000);

  // 10,000 changes in one PostgreSQL transaction, published in batches of 500.
  it('publishes 10,000 changes of one transaction once each', async () => {
    await pool.query('TRUNCATE users, users_changes');
    const topic = uniqueName('review9-users');
    const cdc = new UsersCdc({ pool, transport: transport(), topic, name: uniqueName('review9-cdc'), intervalMs: 200 });
    cdcs.push(cdc);
    await cdc.start();
    await pool.query(`INSERT INTO users (id, name) SELECT 'm' || g, 'name ' || g FROM generate_series(1, 10000) g`);
    const records = await consumeUntil(transport(), topic, (rs) => rs.length >= 10_000, { timeoutMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(records.length).toBe(10_000);
    expect(new Set(records.map((r) => r.key?.toString())).size).toBe(10_000);
  }, 120_000);
});
