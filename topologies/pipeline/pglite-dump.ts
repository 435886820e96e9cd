/**
 * The embedded PostgreSQL's prepared data directory: a tar dump of a freshly initialised PGlite,
 * made once per PGlite version and kept in the cache directory (`pglite-<version>-datadir.tar`,
 * about 40 MB). Light on purpose (PGlite itself is imported only where initdb runs), so `main.ts`
 * can begin a first start's initdb before the rest of the engine has loaded.
 *
 * initdb runs in a child process (`prepare-pglite-dump.ts`): it is seconds of synchronous
 * WebAssembly with a peak near 1 GB, which in the pipeline's process would block the event loop
 * (Ctrl-C included) and leave its memory behind. Concurrent requests for one dump share one child.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PreparedDump {
  readonly path: string;
  readonly bytes: Buffer;
  /** `initdb`: made now (a first start); `prepared`: read from the cache. */
  readonly origin: 'initdb' | 'prepared';
}

const inFlight = new Map<string, Promise<PreparedDump>>();
/** Dumps begun by `prefetchDump`, kept (bytes and all) until `takeDump` hands them over. */
const prefetched = new Map<string, Promise<PreparedDump>>();

/** The dump's path in `cacheDir` for the installed PGlite version. */
export function dumpPathIn(cacheDir: string): string {
  return join(cacheDir, `pglite-${pgliteVersion()}-datadir.tar`);
}

/**
 * The dump in `cacheDir`, made first (initdb in a child process) when it is missing; `onFirstStart`
 * is told before initdb runs. Calls for the same directory while one runs share it.
 */
export function ensureDump(cacheDir: string, onFirstStart?: (dumpPath: string) => void): Promise<PreparedDump> {
  const path = dumpPathIn(cacheDir);
  let pending = inFlight.get(path);
  if (pending === undefined) {
    pending = (async (): Promise<PreparedDump> => {
      const bytes = await readIfPresent(path);
      if (bytes !== undefined) return { path, bytes, origin: 'prepared' };
      onFirstStart?.(path);
      return { path, bytes: await makeDumpApart(path), origin: 'initdb' };
    })().finally(() => inFlight.delete(path));
    inFlight.set(path, pending);
  }
  return pending;
}

/**
 * Begins `ensureDump` now, for a later `takeDump` of the same directory: `main.ts` calls it before
 * loading the engine, so a first start's initdb (in its child process, on the other core) overlaps
 * that, and a later start reads the file meanwhile.
 */
export function prefetchDump(cacheDir: string, onFirstStart?: (dumpPath: string) => void): Promise<PreparedDump> {
  const pending = ensureDump(cacheDir, onFirstStart);
  // Whoever takes it handles a failure; until then it must not count as unhandled.
  pending.catch(() => undefined);
  prefetched.set(dumpPathIn(cacheDir), pending);
  return pending;
}

/** The dump `prefetchDump` began for `cacheDir` (handed over once), else `ensureDump`. */
export function takeDump(cacheDir: string, onFirstStart?: (dumpPath: string) => void): Promise<PreparedDump> {
  const path = dumpPathIn(cacheDir);
  const early = prefetched.get(path);
  prefetched.delete(path);
  return early ?? ensureDump(cacheDir, onFirstStart);
}

/** Makes the dump again (it did not load: cut short, damaged). */
export async function remakeDump(cacheDir: string): Promise<PreparedDump> {
  const path = dumpPathIn(cacheDir);
  await rm(path, { force: true });
  return ensureDump(cacheDir);
}

const PREPARE_SCRIPT = fileURLToPath(new URL('./prepare-pglite-dump.ts', import.meta.url));

async function makeDumpApart(path: string): Promise<Buffer> {
  // tsx's loader by absolute URL: the child must run wherever the command was started from.
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), PREPARE_SCRIPT, path], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-2_000);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode) => resolve(exitCode));
  });
  if (code !== 0) throw new Error(`embedded PostgreSQL: preparing its data directory failed (exit ${String(code)}): ${stderr.trim() || 'no output'}`);
  return readFile(path);
}

/** What the child process runs: initdb in memory, the data directory saved as a tar dump (atomically). */
export async function makeDump(path: string): Promise<void> {
  const { PGlite } = await import('@electric-sql/pglite');
  const fresh = await PGlite.create('memory://');
  let bytes: Buffer;
  try {
    bytes = Buffer.from(await (await fresh.dumpDataDir('none')).arrayBuffer());
  } finally {
    await fresh.close();
  }
  await mkdir(dirname(path), { recursive: true });
  // Two first starts at once each write their own file; the rename makes either one whole.
  const partial = `${path}.${process.pid}.partial`;
  await writeFile(partial, bytes);
  await rename(partial, path);
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
