/**
 * `PostgresKeyValueStore.init()` when another store creates the same table at the same moment (the
 * partitions of one store share its table): PostgreSQL refuses the loser with 42P07, 23505 or
 * 42710 depending on timing. The store starts when the table is there, and fails when it is not.
 * The timing cannot be forced on a real server, so a scripted pool answers here.
 */
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { StateStoreError } from '../../../src/errors/streams-error.ts';
import { jsonSerde, stringSerde } from '../../../src/serdes/index.ts';
import { PostgresKeyValueStore } from '../../../src/state/index.ts';

function scriptedPool(createError: { code: string; message: string }, tableThere: boolean): { pool: pg.Pool; statements: string[] } {
  const statements: string[] = [];
  const query = async (sql: string) => {
    statements.push(sql.split(' ').slice(0, 3).join(' '));
    if (sql.startsWith('CREATE TABLE')) throw Object.assign(new Error(createError.message), { code: createError.code });
    if (sql.includes('to_regclass')) return { rows: [{ present: tableThere }] };
    throw new Error(`unexpected statement ${sql}`);
  };
  // Only `query` is used by init(); the rest of pg.Pool is not needed here.
  return { pool: { query } as unknown as pg.Pool, statements };
}

const store = (pool: pg.Pool) => new PostgresKeyValueStore<string, unknown>({ name: 'users', pool, table: 'state_users', keySerde: stringSerde(), valueSerde: jsonSerde() });

describe('PostgresKeyValueStore.init() racing another creator', () => {
  it.each([
    ['42P07', 'relation "state_users" already exists'],
    ['23505', 'duplicate key value violates unique constraint "pg_type_typname_nsp_index"'],
    ['42710', 'type "state_users" already exists'],
  ])('starts after %s when the table is there', async (code, message) => {
    const { pool, statements } = scriptedPool({ code, message }, true);
    await expect(store(pool).init()).resolves.toBeUndefined();
    expect(statements).toEqual(['CREATE TABLE IF', 'SELECT to_regclass($1) IS']);
  });

  it('fails, naming the table, when the refusal was not a race and no table is there', async () => {
    const { pool } = scriptedPool({ code: '42710', message: 'type "state_users" already exists' }, false);
    const init = store(pool).init();
    await expect(init).rejects.toBeInstanceOf(StateStoreError);
    await expect(init).rejects.toThrow(/creating table "state_users" failed: type "state_users" already exists/);
  });

  it('fails at once on any other error', async () => {
    const { pool, statements } = scriptedPool({ code: '42501', message: 'permission denied for schema public' }, true);
    await expect(store(pool).init()).rejects.toThrow(/permission denied/);
    expect(statements).toEqual(['CREATE TABLE IF']);
  });
});
