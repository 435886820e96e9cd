/**
 * A real schema registry for tests and local runs without Docker: Apicurio Registry 3.0.9 (the last
 * line that runs on Java 17) with in-memory storage, serving the Confluent-compatible API at
 * `/apis/ccompat/v7`. The app comes from Maven Central as one tarball (no POM needed: Maven's
 * default dependency plugin copies the artifact); it runs as a detached JVM whose pid and log live
 * under a git-ignored cache directory.
 *
 * Used by `npm run registry:*` (cli.ts) and by the vitest global set-up, so tests and people start
 * the registry the same way. Mirrors scripts/kafka/broker.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, logTail, parsePort as parsePortOf, portIsFree, readPid, sleep, stopDetached } from '../lib/detached-process.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');

export const APICURIO_VERSION = '3.0.9';
export const DEFAULT_REGISTRY_PORT = 8081;
/** Where Apicurio serves the Confluent Schema Registry API. */
export const CCOMPAT_PATH = '/apis/ccompat/v7';
const HOST = '127.0.0.1';

export interface RegistryOptions {
  /** HTTP port on 127.0.0.1. Env: SCHEMA_REGISTRY_PORT. */
  readonly port: number;
  /** JVM max heap, e.g. `192m`. Env: SCHEMA_REGISTRY_HEAP. */
  readonly heap: string;
  /** Where the app goes, one folder per version. Env: SCHEMA_REGISTRY_CACHE_DIR. */
  readonly cacheDir: string;
  /** Where this registry's log and pid file go. Env: SCHEMA_REGISTRY_RUN_DIR (default: `<cacheDir>/run`). */
  readonly runDir: string;
  /** How long to wait for `/health/ready`. */
  readonly startTimeoutMs: number;
  /** Called with progress lines; defaults to stderr. */
  readonly log: (line: string) => void;
}

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly logTail?: string,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

function parsePort(name: string, raw: string | undefined, fallback: number): number {
  return parsePortOf(name, raw, fallback, (message) => new RegistryError(message));
}

/** Options from the environment, with the defaults documented in the README. */
export function registryOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): RegistryOptions {
  const heap = env['SCHEMA_REGISTRY_HEAP'] || '192m';
  if (!/^\d+[kKmMgG]$/.test(heap)) {
    throw new RegistryError(`SCHEMA_REGISTRY_HEAP=${JSON.stringify(heap)} is not a JVM heap size; use e.g. 192m or 1g.`);
  }
  const cacheDir = resolve(env['SCHEMA_REGISTRY_CACHE_DIR'] || join(repoRoot, '.cache', 'registry'));
  return {
    port: parsePort('SCHEMA_REGISTRY_PORT', env['SCHEMA_REGISTRY_PORT'], DEFAULT_REGISTRY_PORT),
    heap,
    cacheDir,
    runDir: resolve(env['SCHEMA_REGISTRY_RUN_DIR'] || join(cacheDir, 'run')),
    startTimeoutMs: 60_000,
    log: (line) => process.stderr.write(`[registry] ${line}\n`),
  };
}

/** The registry's root, e.g. `http://127.0.0.1:8081`. */
export function registryBaseUrl(options: Pick<RegistryOptions, 'port'>): string {
  return `http://${HOST}:${options.port}`;
}

/** The Confluent-compatible API, what a Confluent client (and SCHEMA_REGISTRY_URL) is given. */
export function registryCompatUrl(options: Pick<RegistryOptions, 'port'>): string {
  return `${registryBaseUrl(options)}${CCOMPAT_PATH}`;
}

interface Paths {
  readonly appDir: string;
  readonly jar: string;
  readonly fetchedMarker: string;
  readonly downloadDir: string;
  readonly log: string;
  readonly pidFile: string;
}

function pathsFor(options: RegistryOptions): Paths {
  const versionDir = join(options.cacheDir, APICURIO_VERSION);
  const appDir = join(versionDir, 'app');
  return {
    appDir,
    jar: join(appDir, `apicurio-registry-app-${APICURIO_VERSION}-runner.jar`),
    fetchedMarker: join(appDir, '.complete'),
    downloadDir: join(versionDir, 'download'),
    log: join(options.runDir, 'registry.log'),
    pidFile: join(options.runDir, 'registry.pid'),
  };
}

/** The JVM command line; the flags keep a 2-core machine responsive (about 210 MB RSS). */
export function javaArgs(options: RegistryOptions, jar: string): string[] {
  return [
    `-Xmx${options.heap}`,
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-Djava.awt.headless=true',
    `-Dquarkus.http.host=${HOST}`,
    `-Dquarkus.http.port=${options.port}`,
    '-jar',
    jar,
  ];
}

function run(command: string, args: string[], cwd: string, what: string): void {
  const result = spawnSync(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.error) {
    const hint = command === 'mvn' ? '; install Apache Maven and a JDK 17+' : '';
    throw new RegistryError(`could not run ${command} (${result.error.message})${hint}.`);
  }
  if (result.status !== 0) {
    throw new RegistryError(
      `${what} failed (exit ${result.status}).`,
      `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-30).join('\n'),
    );
  }
}

/** Copies the app tarball from Maven Central and unpacks it into the cache; a no-op when already there. */
export function fetchRegistry(options: RegistryOptions): string {
  const paths = pathsFor(options);
  if (existsSync(paths.fetchedMarker)) return paths.appDir;
  options.log(`resolving Apicurio Registry ${APICURIO_VERSION} from Maven Central into ${paths.appDir}`);
  rmSync(paths.downloadDir, { recursive: true, force: true });
  mkdirSync(paths.downloadDir, { recursive: true });
  // Maven's default dependency plugin on purpose: pinning 3.8.1 fails (a parent POM of 3.0.9 is
  // missing from Central). Run in the empty download folder so no project POM is picked up.
  const coordinates = `io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`;
  run(
    'mvn',
    ['-q', '-B', 'dependency:copy', `-Dartifact=${coordinates}`, `-DoutputDirectory=${paths.downloadDir}`],
    paths.downloadDir,
    `mvn could not resolve ${coordinates}`,
  );
  const tarball = join(paths.downloadDir, `apicurio-registry-app-${APICURIO_VERSION}-all.tar.gz`);
  const unpacked = join(paths.downloadDir, 'app');
  mkdirSync(unpacked);
  run('tar', ['-xzf', tarball, '-C', unpacked], paths.downloadDir, `unpacking ${tarball}`);
  if (!existsSync(join(unpacked, `apicurio-registry-app-${APICURIO_VERSION}-runner.jar`))) {
    throw new RegistryError(`${tarball} holds no apicurio-registry-app-${APICURIO_VERSION}-runner.jar.`);
  }
  rmSync(paths.appDir, { recursive: true, force: true });
  renameSync(unpacked, paths.appDir);
  // Maven keeps its own copy in ~/.m2; this one only costs disk space.
  rmSync(paths.downloadDir, { recursive: true, force: true });
  writeFileSync(paths.fetchedMarker, `${new Date().toISOString()}\n`);
  return paths.appDir;
}

/** The last lines of the registry's log, for error messages. */
export function registryLogTail(options: RegistryOptions, lines = 40): string {
  return logTail(pathsFor(options).log, lines, '(no registry log yet)');
}

async function answersOk(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** True when Apicurio at `baseUrl` (e.g. `http://127.0.0.1:8081`) says it is ready. */
export function registryReady(baseUrl: string, timeoutMs = 3_000): Promise<boolean> {
  return answersOk(`${baseUrl}/health/ready`, timeoutMs);
}

/**
 * True when a Confluent-compatible registry answers at `compatUrl` (`GET /subjects`); works for
 * Apicurio's ccompat API and for a Confluent Schema Registry alike.
 */
export function compatApiAnswers(compatUrl: string, timeoutMs = 3_000): Promise<boolean> {
  return answersOk(`${compatUrl.replace(/\/+$/, '')}/subjects`, timeoutMs);
}

export interface StartResult {
  /** The Confluent-compatible API, e.g. `http://127.0.0.1:8081/apis/ccompat/v7`. */
  readonly url: string;
  /** False when this call started the registry; true when one was already answering. */
  readonly alreadyRunning: boolean;
  /** Undefined when the registry answering was not started by this script. */
  readonly pid: number | undefined;
}

/** Starts the registry unless the one this script started earlier still runs. */
export async function startRegistry(options: RegistryOptions): Promise<StartResult> {
  const paths = pathsFor(options);
  const url = registryCompatUrl(options);
  const existing = readPid(paths.pidFile);
  if (existing !== undefined && isAlive(existing)) {
    await waitUntilReady(options, existing);
    return { url, alreadyRunning: true, pid: existing };
  }
  if (!(await portIsFree(options.port))) {
    if ((await registryReady(registryBaseUrl(options))) && (await compatApiAnswers(url))) {
      options.log(`an Apicurio registry this script did not start already answers on ${url}; using it`);
      return { url, alreadyRunning: true, pid: undefined };
    }
    throw new RegistryError(
      `port ${options.port} on ${HOST} is taken by a process that is not an Apicurio registry; stop it, or choose another port with SCHEMA_REGISTRY_PORT.`,
    );
  }
  const appDir = fetchRegistry(options);

  mkdirSync(options.runDir, { recursive: true });
  writeFileSync(paths.log, '');
  const out = openSync(paths.log, 'a');
  const child = spawn('java', javaArgs(options, paths.jar), { cwd: appDir, detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw new RegistryError('could not start java; is a JDK 17+ on the PATH?');
  child.unref();
  writeFileSync(paths.pidFile, `${pid}\n`);
  options.log(`started Apicurio Registry ${APICURIO_VERSION} (pid ${pid}), log: ${paths.log}`);

  await waitUntilReady(options, pid);
  return { url, alreadyRunning: false, pid };
}

async function waitUntilReady(options: RegistryOptions, pid: number): Promise<void> {
  const baseUrl = registryBaseUrl(options);
  const deadline = Date.now() + options.startTimeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      throw new RegistryError(`the registry process (pid ${pid}) exited during start-up.`, registryLogTail(options));
    }
    if (await registryReady(baseUrl, 1_000)) return;
    await sleep(250);
  }
  throw new RegistryError(
    `the registry did not answer ${baseUrl}/health/ready within ${options.startTimeoutMs / 1000}s.`,
    registryLogTail(options),
  );
}

export interface StopResult {
  readonly wasRunning: boolean;
}

/** Stops the registry this script started (SIGTERM, then SIGKILL after a grace period) and waits for its port. */
export async function stopRegistry(options: RegistryOptions, graceMs = 15_000): Promise<StopResult> {
  return stopDetached({ pidFile: pathsFor(options).pidFile, label: 'registry', graceMs, ports: [options.port], log: options.log });
}

export interface RegistryStatus {
  readonly pid: number | undefined;
  readonly running: boolean;
  readonly ready: boolean;
  readonly url: string;
}

export async function registryStatus(options: RegistryOptions): Promise<RegistryStatus> {
  const pid = readPid(pathsFor(options).pidFile);
  const running = pid !== undefined && isAlive(pid);
  return { pid, running, ready: running && (await registryReady(registryBaseUrl(options))), url: registryCompatUrl(options) };
}
