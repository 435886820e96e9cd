/**
 * The users CDC (`topologies/users-cdc.ts`, a child process) on a real broker and real PostgreSQL,
 * SIGKILLed three times while it publishes and started again each time. Three writers change 300
 * users concurrently (inserts, updates, deletes, re-inserts, several changes of one user in one
 * transaction, rolled-back transactions), thousands of changes with a version counter in the name.
 * Afterwards a read_committed reader must find, per user, exactly the snapshot value followed by
 * every committed change in PostgreSQL commit order: none lost, none reordered, none repeated
 * (`UsersCdc` promises exactly-once per change: each batch commits with its cursor in one Kafka
 * transaction), a tombstone for each delete, and a tombstone last for every user deleted at the end.
 */
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cdcMigrations, usersMapping, type UserProfile } from '../../../src/connectors/postgres/users-cdc.ts';
import { runMigrations } from '../../../src/connectors/postgres/migrations.ts';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import type { IncomingRecord } from '../../../src/transport/transport.ts';
import { startWorker, type WorkerProcess } from '../../support/app-processes.ts';
import { databaseUrl, hasKafka, hasPostgres, kafkaBrokers, uniqueName } from '../../support/services.ts';

const CDC_MAIN = fileURLToPath(new URL('../../../topologies/users-cdc.ts', import.meta.url));
const USERS = 300;
const WRITERS = 3;
/** Changes each writer commits at least (rolled-back ones not counted); writers go on until the last kill. */
const CHANGES_PER_WRITER = 1_000;
/** A writer's pause between transactions, so that the writes span all the kills. */
const WRITER_PAUSE_MS = 4;
const KILLS = 3;
/** Records an incarnation must have published before it is killed, so each kill lands mid-stream. */
const PUBLISHED_BEFORE_KILL = 150;

type Value = Omit<UserProfile, 'updatedAt'> | null;
const sqlName = (prefix: string) => uniqueName(prefix).replaceAll('-', '_');
const userId = (n: number) => `u${String(n).padStart(3, '0')}`;
const profile = (id: string, version: number): Exclude<Value, null> => ({ id, name: `${id} v${version}`, email: `${id}@example.com`, tier: ['bronze', 'silver', 'gold'][version % 3] ?? 'bronze' });

/** A small seeded generator, so a failing run can be replayed with its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe.skipIf(!hasKafka || !hasPostgres)('users CDC killed with SIGKILL mid-stream (child process, real broker, real PostgreSQL)', () => {
  const schema = sqlName('users_cdc_crash');
  const topic = uniqueName('users');
  const name = uniqueName('users-cdc');
  let admin: pg.Pool;
  let pool: pg.Pool;
  let transport: KafkaTransport;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: databaseUrl(), max: 1 });
    await admin.query(`CREATE SCHEMA ${schema}`);
    pool = new pg.Pool({ connectionString: databaseUrl(), max: WRITERS + 2, options: `-c search_path=${schema}` });
    await runMigrations(pool, cdcMigrations(usersMapping()));
    transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'users-cdc-crash', logLevel: 'nothing' });
  });
  afterAll(async () => {
    for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    await Promise.all(workers.map((worker) => worker.exited));
    await pool?.end();
    await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin?.end();
  });

  /** The CDC's own process, on the test's schema through the connection string's `options`. */
  const startCdc = async (): Promise<WorkerProcess> => {
    const url = new URL(databaseUrl());
    url.searchParams.set('options', `-c search_path=${schema}`);
    const worker = startWorker(CDC_MAIN, {
      DATABASE_URL: url.toString(),
      KAFKA_BROKERS: kafkaBrokers().join(','),
      USERS_TOPIC: topic,
      USERS_CDC_NAME: name,
      USERS_CDC_BATCH_SIZE: '25',
      USERS_CDC_INTERVAL_MS: '20',
    });
    workers.push(worker);
    await worker.running;
    return worker;
  };

  const endOffset = async (): Promise<number> => {
    const client = transport.admin();
    await client.connect();
    try {
      return (await client.endOffsets(topic)).get(0) ?? 0;
    } finally {
      await client.disconnect();
    }
  };
  const pendingChanges = async () => Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM users_changes')).rows[0]?.n);

  /** Every record of the topic up to its end offsets, read_committed. */
  const readTopic = async (): Promise<IncomingRecord[]> => {
    const client = transport.admin();
    await client.connect();
    const ends = await client.endOffsets(topic).finally(() => client.disconnect());
    const records: IncomingRecord[] = [];
    const positions = new Map<number, number>();
    const consumer = transport.consumer({ groupId: uniqueName('users-reader'), isolationLevel: 'read_committed' });
    let reached: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (reached = resolve));
    const advance = (partition: number, next: number) => {
      positions.set(partition, Math.max(next, positions.get(partition) ?? 0));
      if ([...ends].every(([p, end]) => (positions.get(p) ?? 0) >= end)) reached();
    };
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachBatch: async (batch) => {
          // A batch delivered again (kafkajs after a fetch error) is this reader's repeat, not the topic's.
          for (const record of batch.records) if (record.offset >= (positions.get(batch.partition) ?? 0)) records.push(record);
          advance(batch.partition, batch.nextOffset);
        },
        onPosition: (tp, next) => advance(tp.partition, next),
      });
      await done;
    } finally {
      await consumer.disconnect();
    }
    return records;
  };

  it(`publishes every change once, in commit order per user, across ${KILLS} SIGKILLs`, async () => {
    const seed = Date.now() % 1_000_000;
    /** Per user, what PostgreSQL committed, in commit order (null = deleted). */
    const expected = new Map<string, Value[]>();
    const versions = new Map<string, number>();
    const exists = new Set<string>();
    const record = (id: string, value: Value) => expected.set(id, [...(expected.get(id) ?? []), value]);

    // Before the first start: the snapshot publishes these as they are.
    for (let n = 0; n < USERS; n++) {
      const id = userId(n);
      const value = profile(id, 0);
      await pool.query('INSERT INTO users (id, name, email, tier) VALUES ($1, $2, $3, $4)', [id, value.name, value.email, value.tier]);
      versions.set(id, 0);
      exists.add(id);
      record(id, value);
    }

    let cdc = await startCdc();

    /** One writer owns the users n % WRITERS === w, so its commit order is their commit order. */
    const writer = async (w: number): Promise<void> => {
      const next = random(seed + w);
      const own = Array.from({ length: USERS }, (_, n) => n).filter((n) => n % WRITERS === w).map(userId);
      const client = await pool.connect();
      try {
        for (let committed = 0; committed < CHANGES_PER_WRITER || !killsDone; ) {
          await new Promise((resolve) => setTimeout(resolve, WRITER_PAUSE_MS));
          const changes: Array<[string, Value]> = [];
          const local = new Map<string, { exists: boolean; version: number }>();
          const state = (id: string) => local.get(id) ?? { exists: exists.has(id), version: versions.get(id) ?? 0 };
          // The bookkeeping is only right if each statement changed exactly the row it meant to.
          const change = async (sql: string, params: unknown[]) => expect((await client.query(sql, params)).rowCount, sql).toBe(1);
          await client.query('BEGIN');
          for (let k = 1 + Math.floor(next() * 4); k > 0; k--) {
            // Sometimes the same user again in one transaction: two change rows, published in order.
            const id = changes.length > 0 && next() < 0.15 ? (changes.at(-1)?.[0] ?? '') : (own[Math.floor(next() * own.length)] ?? '');
            const before = state(id);
            const version = before.version + 1;
            if (!before.exists) {
              const value = profile(id, version);
              await change('INSERT INTO users (id, name, email, tier) VALUES ($1, $2, $3, $4)', [id, value.name, value.email, value.tier]);
              changes.push([id, value]);
              local.set(id, { exists: true, version });
            } else if (next() < 0.12) {
              await change('DELETE FROM users WHERE id = $1', [id]);
              changes.push([id, null]);
              local.set(id, { exists: false, version });
            } else {
              const value = profile(id, version);
              await change('UPDATE users SET name = $2, tier = $3, updated_at = now() WHERE id = $1', [id, value.name, value.tier]);
              changes.push([id, value]);
              local.set(id, { exists: true, version });
            }
          }
          // A rolled-back transaction leaves a gap in seq and must publish nothing.
          if (next() < 0.05) {
            await client.query('ROLLBACK');
            continue;
          }
          await client.query('COMMIT');
          for (const [id, value] of changes) record(id, value);
          for (const [id, { exists: present, version }] of local) {
            versions.set(id, version);
            if (present) exists.add(id);
            else exists.delete(id);
          }
          committed += changes.length;
        }
      } finally {
        client.release();
      }
    };
    let killsDone = false;
    const writers = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));

    for (let kill = 0; kill < KILLS; kill++) {
      const from = await endOffset();
      await expect.poll(endOffset, { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(from + PUBLISHED_BEFORE_KILL);
      // Mid-stream: this incarnation has published, and the writers go on until the last kill.
      cdc.child.kill('SIGKILL');
      expect(await cdc.exited).toBeNull();
      cdc = await startCdc();
    }
    killsDone = true;
    await writers;
    await expect.poll(pendingChanges, { timeout: 60_000, interval: 100 }).toBe(0);
    cdc.child.kill('SIGTERM');
    expect(await cdc.exited).toBe(0);

    const published = new Map<string, Value[]>();
    for (const r of await readTopic()) {
      const id = r.key?.toString('utf8') ?? '';
      let value: Value = null;
      if (r.value !== null) {
        const { updatedAt: _updatedAt, ...rest } = JSON.parse(r.value.toString('utf8')) as UserProfile;
        value = rest;
      }
      published.set(id, [...(published.get(id) ?? []), value]);
    }

    const total = [...expected.values()].reduce((n, values) => n + values.length, 0);
    expect(total).toBeGreaterThanOrEqual(USERS + WRITERS * CHANGES_PER_WRITER);
    const wrong = [...expected]
      .filter(([id, values]) => JSON.stringify(published.get(id)) !== JSON.stringify(values))
      .map(([id, values]) => ({ id, expected: values.map((v) => v?.name ?? null), published: (published.get(id) ?? []).map((v) => v?.name ?? null) }));
    expect(wrong.slice(0, 5), `${wrong.length} users differ (seed ${seed})`).toEqual([]);
    expect([...published.keys()].filter((id) => !expected.has(id))).toEqual([]);
    const deletedAtEnd = [...expected].filter(([, values]) => values.at(-1) === null).map(([id]) => id);
    expect(deletedAtEnd.length).toBeGreaterThan(0);
    for (const id of deletedAtEnd) expect(published.get(id)?.at(-1), id).toBeNull();
  });
});
