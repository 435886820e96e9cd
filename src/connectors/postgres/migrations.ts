/**
 * A tiny versioned-migration runner: `schema_migrations(version, name, applied_at)` records what
 * ran; each pending migration runs in its own transaction together with its record, in version
 * order, so running the list again (or from two processes at once) applies nothing twice.
 *
 * With dependencies allowed, node-pg-migrate would be the library choice (down migrations, a CLI,
 * locking, checksums); this covers only what the connectors need: forward-only SQL in order.
 * Tables are unqualified: they land in the connection's `search_path`.
 */
import type pg from 'pg';
import { StreamsError, toError } from '../../errors/streams-error.ts';

export interface Migration {
  /** Positive integer, unique across every list run against one schema. */
  readonly version: number;
  readonly name: string;
  /** SQL (may hold several statements) or a function run on the migration's transaction. */
  readonly up: string | ((client: pg.PoolClient) => Promise<void>);
}

/** Any fixed number: all runners in a database serialize on it while they apply migrations. */
const MIGRATION_LOCK = 7_304_215_001;

/** Applies the migrations not yet recorded, in version order; returns the versions it applied. */
export async function runMigrations(pool: pg.Pool, migrations: readonly Migration[]): Promise<number[]> {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  for (let i = 0; i < sorted.length; i++) {
    const version = sorted[i]?.version ?? 0;
    if (!Number.isSafeInteger(version) || version <= 0 || sorted[i - 1]?.version === version) {
      throw new StreamsError(`migration version ${version} must be a positive integer, unique in the list`, { code: 'CONFIG_INVALID' });
    }
  }
  await pool.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version bigint PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const applied: number[] = [];
  for (const migration of sorted) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      // Two runners starting together: the second waits, then sees the version recorded.
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const done = await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
      if (done.rowCount === 0) {
        if (typeof migration.up === 'string') await client.query(migration.up);
        else await migration.up(client);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
        applied.push(migration.version);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw new StreamsError(`migration ${migration.version} (${migration.name}) failed: ${toError(error).message}`, { code: 'SOURCE_FAILED', cause: error });
    } finally {
      client.release();
    }
  }
  return applied;
}
