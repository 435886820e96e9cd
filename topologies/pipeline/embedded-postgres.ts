/**
 * The zero-setup PostgreSQL of `npm start`: PGlite (PostgreSQL compiled to WebAssembly, in this
 * process) served over the wire protocol by pglite-socket, so `pg` connects to it as to any server.
 *
 * Start-up never runs initdb twice: it loads the prepared data directory (`pglite-dump.ts`), made
 * once by the first start, into a fresh in-memory database (0.7-2 s, about 500 MB of RSS for the
 * database). Each run gets a fresh, empty database: nothing of a run is kept, and runs do not
 * share files. A dump that no longer loads (a damaged file) is made again once.
 *
 * Limits of PGlite behind the socket: one backend session serves every connection, one message at
 * a time; a connection with an open transaction holds the others back until it ends, so code must
 * never wait for a second connection inside a transaction; LISTEN/NOTIFY stays within a connection.
 * And since pglite-socket queues each protocol message separately, concurrent parameterized
 * queries on two connections can interleave between Parse and Bind when a message spans several
 * TCP reads (large parameters), replacing each other's unnamed statement: use one connection for
 * such work (`npm start` does: a pg pool of size 1).
 */
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { remakeDump, takeDump, type PreparedDump } from './pglite-dump.ts';

export interface EmbeddedPostgresOptions {
  /** Where the prepared dump is kept (made when missing). */
  readonly cacheDir: string;
  /** Default 0: a free port. */
  readonly port?: number;
  /** Connections accepted at once; more are reset. */
  readonly maxConnections: number;
  /** Told before initdb runs (no prepared dump yet, none prefetched), with the dump's path. */
  readonly onFirstStart?: (dumpPath: string) => void;
  /** Aborted: a first start that is still preparing its dump lets that finish (so it is kept) but loads nothing. */
  readonly signal?: AbortSignal;
}

export interface EmbeddedPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (no password: the socket asks for none). */
  readonly url: string;
  readonly port: number;
  /** `initdb`: this start made the dump (a first start); `prepared`: it loaded the saved one. */
  readonly origin: 'initdb' | 'prepared';
  readonly dumpPath: string;
  /** Milliseconds from the call to a server accepting connections. */
  readonly startMs: number;
  /** Closes the port (cutting connections), then the database; idempotent. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

/** Starts the embedded PostgreSQL; see the module comment. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const started = performance.now();
  let dump: PreparedDump = await takeDump(options.cacheDir, options.onFirstStart);
  options.signal?.throwIfAborted();
  let db: PGlite;
  try {
    db = await PGlite.create({ loadDataDir: new Blob([dump.bytes]) });
  } catch (error) {
    if (dump.origin === 'initdb') throw error;
    dump = await remakeDump(options.cacheDir);
    options.signal?.throwIfAborted();
    db = await PGlite.create({ loadDataDir: new Blob([dump.bytes]) });
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
    origin: dump.origin,
    dumpPath: dump.path,
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
