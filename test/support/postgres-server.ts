/**
 * Makes sure the machine's PostgreSQL server answers and gives a test run its own database,
 * dropped when the run ends.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import pg from 'pg';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

async function answers(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

function isLocal(url: string): boolean {
  const host = new URL(url).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '';
}

/** Starts the Debian-packaged cluster, as DEVELOPERS.md describes, when the server is local and down. */
function startLocalCluster(): string | undefined {
  const etc = '/etc/postgresql';
  if (!existsSync(etc)) return 'no /etc/postgresql on this machine';
  const version = readdirSync(etc).sort().at(-1);
  if (version === undefined) return 'no cluster under /etc/postgresql';
  const result = spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { encoding: 'utf8' });
  if (result.error) return result.error.message;
  return result.status === 0 ? undefined : (result.stderr || `pg_ctlcluster exited ${result.status}`).trim();
}

export async function ensurePostgres(url: string): Promise<void> {
  try {
    await answers(url);
    return;
  } catch (error) {
    if (!isLocal(url)) throw error;
  }
  const problem = startLocalCluster();
  if (problem !== undefined) throw new Error(`PostgreSQL at ${redact(url)} is down and could not be started: ${problem}`);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await answers(url);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** A URL safe to print: the password, if any, is masked. */
export function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

export interface RunDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/** Creates a database for this run on the server behind `adminUrl`; `drop()` removes it. */
export async function createRunDatabase(adminUrl: string): Promise<RunDatabase> {
  const name = `rs_test_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
