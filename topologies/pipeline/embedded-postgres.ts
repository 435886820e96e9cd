/**
 * The zero-setup PostgreSQL of `npm start`: PGlite (PostgreSQL compiled to WebAssembly, in this
 * process) served over the wire protocol by pglite-socket, so `pg` connects to it as to any server.
 *
 * Start-up never runs initdb twice. The first start creates a data directory in memory (initdb:
 * about 3-5 s and a peak near 1 GB of RSS on a 2-core machine), saves it as a tar dump under the
 * cache directory (`pglite-<version>-datadir.tar`, about 40 MB), releases that instance and loads
 * the dump, as every later start does (0.7-0.9 s, about 500 MB of RSS for the database). Each run
 * gets a fresh, empty database in memory: nothing of a run is kept, and runs do not share files.
 * A dump that no longer loads (a damaged file) is made again once.
 *
 * Limits of PGlite behind the socket: one backend session serves every connection, one message at
 * a time; a connection with an open transaction holds the others back until it ends, so code must
 * never wait for a second connection inside a transaction; LISTEN/NOTIFY stays within a connection.
 * And since pglite-socket queues each protocol message separately, concurrent parameterized
 * queries on two connections can interleave between Parse and Bind when a message spans several
 * TCP reads (large parameters), replacing each other's unnamed statement: use one connection for
 * such work (`npm start` does: a pg pool of size 1).
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgresOptions {
  /** Where the prepared dump is kept (created when missing). */
  readonly cacheDir: string;
  /** Default 0: a free port. */
  readonly port?: number;
  /** Connections accepted at once; more are reset. Set it above the sum of the pools' sizes. */
  readonly maxConnections: number;
  /** Told before initdb runs (no prepared dump yet), with the dump's path. */
  readonly onFirstStart?: (dumpPath: string) => void;
}

export interface EmbeddedPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (no password: the socket asks for none). */
  readonly url: string;
  readonly port: number;
  /** `initdb`: this start created the data directory and saved the dump; `prepared`: it loaded the dump. */
  readonly origin: 'initdb' | 'prepared';
  readonly dumpPath: string;
  /** Milliseconds from the call to a server accepting connections. */
  readonly startMs: number;
  /** Closes the port (cutting connections), then the database; idempotent. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

/** Starts the embedded PostgreSQL; see the module comment for what the first start does. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const started = performance.now();
  const dumpPath = join(options.cacheDir, `pglite-${pgliteVersion()}-datadir.tar`);
  let origin: EmbeddedPostgres['origin'] = 'prepared';
  let dump = await readIfPresent(dumpPath);
  if (dump === undefined) {
    options.onFirstStart?.(dumpPath);
    dump = await prepareDump(dumpPath);
    origin = 'initdb';
  }
  let db: PGlite;
  try {
    db = await PGlite.create({ loadDataDir: new Blob([dump]) });
  } catch (error) {
    if (origin === 'initdb') throw error;
    // The file is there but does not load (cut short, damaged): make it again, once.
    await rm(dumpPath, { force: true });
    dump = await prepareDump(dumpPath);
    origin = 'initdb';
    db = await PGlite.create({ loadDataDir: new Blob([dump]) });
  }
  const server = new PGLiteSocketServer({ db, host: HOST, port: options.port ?? 0, maxConnections: options.maxConnections });
  try {
    await server.start();
  } catch (error) {
    await server.stop().catch(() => undefined);
    await db.close().catch(() => undefined);
    const code = (error as { code?: unknown }).code;
    if (code === 'EADDRINUSE') throw new Error(`embedded PostgreSQL: port ${options.port ?? 0} on ${HOST} is already in use; choose another with --pg-port (0 picks a free one)`, { cause: error });
    throw error;
  }
  const port = Number(server.getServerConn().split(':').at(-1));
  let stopped: Promise<void> | undefined;
  return {
    url: `postgres://postgres@${HOST}:${port}/postgres`,
    port,
    origin,
    dumpPath,
    startMs: Math.round(performance.now() - started),
    stop: () => {
      stopped ??= (async () => {
        await server.stop();
        await db.close();
      })();
      return stopped;
    },
  };
}

/** Runs initdb in memory, saves the data directory as a tar dump (atomically), and returns it. */
async function prepareDump(dumpPath: string): Promise<Buffer> {
  const fresh = await PGlite.create('memory://');
  let dump: Buffer;
  try {
    dump = Buffer.from(await (await fresh.dumpDataDir('none')).arrayBuffer());
  } finally {
    // Its memory (the initdb peak) is released before the dump is loaded into a new instance.
    await fresh.close();
  }
  await mkdir(dirname(dumpPath), { recursive: true });
  // Two first starts at once each write their own file; the rename makes either one whole.
  const partial = `${dumpPath}.${process.pid}.partial`;
  await writeFile(partial, dump);
  await rename(partial, dumpPath);
  return dump;
}

async function readIfPresent(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw error;
  }
}

let versionCache: string | undefined;

/** The installed PGlite's version: a dump is only reused by the version that made it. */
function pgliteVersion(): string {
  if (versionCache !== undefined) return versionCache;
  // The package exports no package.json; it sits one level above the entry point (dist/index.js).
  const packageJson = join(dirname(fileURLToPath(import.meta.resolve('@electric-sql/pglite'))), '..', 'package.json');
  const version = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: unknown }).version;
  if (typeof version !== 'string' || !/^[\w.-]+$/.test(version)) throw new Error(`embedded PostgreSQL: no usable version in ${packageJson}`);
  versionCache = version;
  return version;
}
