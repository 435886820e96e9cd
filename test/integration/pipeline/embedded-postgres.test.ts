/**
 * The embedded PostgreSQL of `npm start`: initdb once, the saved data directory loaded afterwards,
 * a damaged one made again, a port in use refused clearly, and `pg` working through the socket
 * the way the pipeline uses it (one connection, large parameters).
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../../topologies/pipeline/embedded-postgres.ts';

const cacheDir = mkdtempSync(join(tmpdir(), 'pglite-embedded-'));
const running: EmbeddedPostgres[] = [];

async function start(options: { port?: number } = {}): Promise<EmbeddedPostgres> {
  const db = await startEmbeddedPostgres({ cacheDir, maxConnections: 4, ...options });
  running.push(db);
  return db;
}

afterAll(async () => {
  for (const db of running) await db.stop();
  rmSync(cacheDir, { recursive: true, force: true });
});

describe('embedded PostgreSQL (PGlite over the wire protocol)', () => {
  it('first start runs initdb once and saves the data directory; pg works through one connection', { timeout: 60_000 }, async () => {
    const told: string[] = [];
    const db = await startEmbeddedPostgres({ cacheDir, maxConnections: 4, onFirstStart: (path) => told.push(path) });
    running.push(db);
    expect(db.origin).toBe('initdb');
    expect(told).toEqual([db.dumpPath]);
    expect(readdirSync(cacheDir)).toEqual([db.dumpPath.split(/[/\\]/).at(-1)]);
    expect(db.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);

    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      await pool.query('CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)');
      // Concurrent statements with large parameters, as a store flush sends: all land, none mixed up.
      const bodies = Array.from({ length: 40 }, (_, i) => `${i}:${'x'.repeat(i % 4 === 0 ? 200_000 : 10)}`);
      const answers = await Promise.all(bodies.map((body, i) => pool.query<{ body: string }>('INSERT INTO notes VALUES ($1, $2) RETURNING body', [i, body])));
      expect(answers.map((a) => a.rows[0]?.body)).toEqual(bodies);
      expect((await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM notes')).rows[0]?.n).toBe(40);
    } finally {
      await pool.end();
    }
    await db.stop();
  });

  it('a later start loads the saved directory into a fresh, empty database', { timeout: 60_000 }, async () => {
    const db = await start();
    expect(db.origin).toBe('prepared');
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      expect((await pool.query<{ t: string | null }>("SELECT to_regclass('notes')::text AS t")).rows[0]?.t).toBeNull();
    } finally {
      await pool.end();
    }
    await db.stop();
  });

  it('refuses a port in use, saying how to choose another', { timeout: 60_000 }, async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(start({ port })).rejects.toThrow(`embedded PostgreSQL: port ${port} on 127.0.0.1 is already in use; choose another with --pg-port (0 picks a free one)`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('makes a damaged saved directory again', { timeout: 60_000 }, async () => {
    const [dump] = readdirSync(cacheDir);
    writeFileSync(join(cacheDir, dump as string), 'not a tar file');
    const db = await start();
    expect(db.origin).toBe('initdb');
    await db.stop();
    const again = await start();
    expect(again.origin).toBe('prepared');
    await again.stop();
  });
});
