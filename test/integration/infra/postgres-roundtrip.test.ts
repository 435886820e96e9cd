import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { databaseUrl, hasPostgres, uniqueName } from '../../support/services.ts';

describe.skipIf(!hasPostgres)('PostgreSQL round trip through pg', () => {
  let pool: pg.Pool;
  beforeAll(() => {
    pool = new pg.Pool({ connectionString: databaseUrl(), max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
  });

  it('runs in a database of its own', async () => {
    const { rows } = await pool.query<{ db: string }>('SELECT current_database() AS db');
    expect(rows[0]?.db).toMatch(/^rs_test_/);
  });

  it('writes rows of several types and reads them back unchanged', async () => {
    const table = uniqueName('users').replaceAll('-', '_');
    await pool.query(
      `CREATE TABLE ${table} (id text PRIMARY KEY, name text NOT NULL, tier int, profile jsonb, updated_at timestamptz)`,
    );
    const rows = [
      { id: 'u-1', name: 'Ada', tier: 3, profile: { country: 'SE', tags: ['beta'] }, updatedAt: new Date('2026-01-02T03:04:05.678Z') },
      { id: 'u-2', name: 'Grace', tier: null, profile: null, updatedAt: null },
      { id: 'u-3', name: "O'Brien ☕", tier: -1, profile: { nested: { deep: true } }, updatedAt: new Date(0) },
    ];
    for (const row of rows) {
      await pool.query(`INSERT INTO ${table} VALUES ($1, $2, $3, $4, $5)`, [row.id, row.name, row.tier, row.profile, row.updatedAt]);
    }
    const { rows: back } = await pool.query(`SELECT id, name, tier, profile, updated_at AS "updatedAt" FROM ${table} ORDER BY id`);
    expect(back).toEqual(rows);
  });

  it('a rolled-back transaction leaves no rows behind', async () => {
    const table = uniqueName('rollback').replaceAll('-', '_');
    await pool.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${table} VALUES (1), (2)`);
      await client.query('ROLLBACK');
      await client.query(`INSERT INTO ${table} VALUES (3)`);
    } finally {
      client.release();
    }
    const { rows } = await pool.query<{ id: number }>(`SELECT id FROM ${table} ORDER BY id`);
    expect(rows.map((r) => r.id)).toEqual([3]);
  });
});
