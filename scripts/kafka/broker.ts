/**
 * A real, single-node Apache Kafka broker (KRaft, combined broker + controller) for tests and local
 * runs on machines without Docker. The broker's jars come from Maven Central through the dedicated
 * POM beside this file; the broker runs as a detached JVM whose pid, log and data live under a
 * git-ignored cache directory.
 *
 * Used by `npm run kafka:*` (cli.ts) and by the vitest global set-up, so tests and people start the
 * broker the same way.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, logTail, parsePort as parsePortOf, portIsFree, readPid, sleep, stopDetached } from '../lib/detached-process.ts';
import { Kafka, logLevel } from 'kafkajs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');

interface KafkaLine {
  /** Maven profile in pom.xml that resolves this version and its logging binding. */
  readonly profile: string;
  readonly logging: 'reload4j' | 'log4j2';
  /** Extra broker settings this line needs on a single node. */
  readonly extraProperties: Readonly<Record<string, string>>;
}

const SUPPORTED: Readonly<Record<string, KafkaLine>> = {
  '3.9.1': { profile: 'kafka-3.9.1', logging: 'reload4j', extraProperties: {} },
  '4.1.1': {
    profile: 'kafka-4.1.1',
    logging: 'log4j2',
    extraProperties: {
      'share.coordinator.state.topic.replication.factor': '1',
      'share.coordinator.state.topic.min.isr': '1',
    },
  },
};

export const DEFAULT_KAFKA_VERSION = '3.9.1';

export interface BrokerOptions {
  /** Apache Kafka version; one of the supported lines. Env: KAFKA_VERSION. */
  readonly version: string;
  /** Client listener port. Env: KAFKA_PORT. */
  readonly port: number;
  /** KRaft controller listener port. Env: KAFKA_CONTROLLER_PORT. */
  readonly controllerPort: number;
  /** JVM max heap, e.g. `512m`. Env: KAFKA_HEAP. */
  readonly heap: string;
  /** Where the jars go, one folder per version. Env: KAFKA_CACHE_DIR. */
  readonly cacheDir: string;
  /** Where this broker's data, log and pid file go. Env: KAFKA_RUN_DIR (default: `<cacheDir>/run`). */
  readonly runDir: string;
  /** How long to wait for the broker to answer. */
  readonly startTimeoutMs: number;
  /** Called with progress lines; defaults to stderr. */
  readonly log: (line: string) => void;
}

export class BrokerError extends Error {
  constructor(
    message: string,
    readonly logTail?: string,
  ) {
    super(message);
    this.name = 'BrokerError';
  }
}

function parsePort(name: string, raw: string | undefined, fallback: number): number {
  return parsePortOf(name, raw, fallback, (message) => new BrokerError(message));
}

/** Options from the environment, with the defaults documented in the README. */
export function brokerOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): BrokerOptions {
  const version = env['KAFKA_VERSION'] || DEFAULT_KAFKA_VERSION;
  if (!(version in SUPPORTED)) {
    throw new BrokerError(
      `KAFKA_VERSION=${version} is not supported; use one of ${Object.keys(SUPPORTED).join(', ')} (default ${DEFAULT_KAFKA_VERSION}).`,
    );
  }
  const port = parsePort('KAFKA_PORT', env['KAFKA_PORT'], 9092);
  const controllerPort = parsePort('KAFKA_CONTROLLER_PORT', env['KAFKA_CONTROLLER_PORT'], port + 1);
  if (controllerPort === port) {
    throw new BrokerError(`KAFKA_CONTROLLER_PORT must differ from KAFKA_PORT (both are ${port}).`);
  }
  const cacheDir = resolve(env['KAFKA_CACHE_DIR'] || join(repoRoot, '.cache', 'kafka'));
  return {
    version,
    port,
    controllerPort,
    heap: env['KAFKA_HEAP'] || '512m',
    cacheDir,
    runDir: resolve(env['KAFKA_RUN_DIR'] || join(cacheDir, 'run')),
    startTimeoutMs: 90_000,
    log: (line) => process.stderr.write(`[kafka] ${line}\n`),
  };
}

interface Paths {
  readonly lib: string;
  readonly fetchedMarker: string;
  readonly run: string;
  readonly data: string;
  readonly properties: string;
  readonly loggingConfig: string;
  readonly brokerLog: string;
  readonly pidFile: string;
}

function pathsFor(options: BrokerOptions): Paths {
  const lib = join(options.cacheDir, options.version, 'lib');
  const run = options.runDir;
  return {
    lib,
    fetchedMarker: join(lib, '.complete'),
    run,
    data: join(run, 'data'),
    properties: join(run, 'server.properties'),
    loggingConfig: join(run, SUPPORTED[options.version]?.logging === 'log4j2' ? 'log4j2.properties' : 'log4j.properties'),
    brokerLog: join(run, 'broker.log'),
    pidFile: join(run, 'broker.pid'),
  };
}

export function bootstrapAddress(options: BrokerOptions): string {
  return `127.0.0.1:${options.port}`;
}

function lineFor(options: BrokerOptions): KafkaLine {
  const line = SUPPORTED[options.version];
  if (!line) throw new BrokerError(`Kafka ${options.version} is not supported.`);
  return line;
}

/** Resolves the broker's jars from Maven Central into the cache; a no-op when already there. */
export function fetchKafka(options: BrokerOptions): string {
  const paths = pathsFor(options);
  if (existsSync(paths.fetchedMarker)) return paths.lib;
  options.log(`resolving Apache Kafka ${options.version} from Maven Central into ${paths.lib}`);
  mkdirSync(paths.lib, { recursive: true });
  const result = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      join(here, 'pom.xml'),
      `-P${lineFor(options).profile}`,
      `-Dkafka.lib.dir=${paths.lib}`,
      'dependency:copy-dependencies',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' },
  );
  if (result.error) {
    throw new BrokerError(`could not run mvn (${result.error.message}); install Apache Maven and a JDK 17+.`);
  }
  if (result.status !== 0) {
    throw new BrokerError(
      `mvn could not resolve Kafka ${options.version} (exit ${result.status}).`,
      `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-30).join('\n'),
    );
  }
  writeFileSync(paths.fetchedMarker, `${new Date().toISOString()}\n`);
  return paths.lib;
}

function serverProperties(options: BrokerOptions, dataDir: string): string {
  const settings: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@127.0.0.1:${options.controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${options.port},CONTROLLER://127.0.0.1:${options.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${options.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': dataDir,
    'num.partitions': '1',
    'auto.create.topics.enable': 'true',
    'delete.topic.enable': 'true',
    // One node: every internal topic has a single replica.
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '10',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'transaction.state.log.num.partitions': '10',
    'min.insync.replicas': '1',
    // Tests create many short-lived groups; waiting for more members only slows them down.
    'group.initial.rebalance.delay.ms': '0',
    // Let compaction run soon enough for tests that watch it.
    'log.cleaner.backoff.ms': '1000',
    ...lineFor(options).extraProperties,
  };
  return `${Object.entries(settings)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n')}\n`;
}

function loggingConfig(options: BrokerOptions, logFile: string): string {
  if (lineFor(options).logging === 'log4j2') {
    return [
      'status = warn',
      'appender.file.type = File',
      'appender.file.name = file',
      `appender.file.fileName = ${logFile}`,
      'appender.file.layout.type = PatternLayout',
      'appender.file.layout.pattern = [%d] %p %m (%c)%n',
      'rootLogger.level = INFO',
      'rootLogger.appenderRef.file.ref = file',
      'logger.kafka.name = kafka',
      'logger.kafka.level = INFO',
      'logger.apache.name = org.apache',
      'logger.apache.level = WARN',
      '',
    ].join('\n');
  }
  return [
    'log4j.rootLogger=INFO, file',
    'log4j.appender.file=org.apache.log4j.FileAppender',
    `log4j.appender.file.File=${logFile}`,
    'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
    'log4j.logger.org.apache=WARN',
    '',
  ].join('\n');
}


/** The last lines of the broker's log, for error messages. */
export function brokerLogTail(options: BrokerOptions, lines = 40): string {
  return logTail(pathsFor(options).brokerLog, lines, '(no broker log yet)');
}

/** True when a broker at the address answers a metadata request. */
export async function brokerAnswers(bootstrap: string, timeoutMs = 3_000): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'broker-probe',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export interface StartResult {
  readonly bootstrap: string;
  /** False when this call started the broker; true when one was already answering. */
  readonly alreadyRunning: boolean;
  /** Undefined when the broker answering was not started by this script. */
  readonly pid: number | undefined;
}

/** Starts the broker unless the one this script started earlier still runs. */
export async function startBroker(options: BrokerOptions): Promise<StartResult> {
  const paths = pathsFor(options);
  const bootstrap = bootstrapAddress(options);
  const existing = readPid(paths.pidFile);
  if (existing !== undefined && isAlive(existing)) {
    await waitUntilAnswering(options, existing);
    return { bootstrap, alreadyRunning: true, pid: existing };
  }
  if (!(await portIsFree(options.port)) && (await brokerAnswers(bootstrap))) {
    options.log(`a Kafka broker this script did not start already answers on ${bootstrap}; using it`);
    return { bootstrap, alreadyRunning: true, pid: undefined };
  }
  for (const port of [options.port, options.controllerPort]) {
    if (!(await portIsFree(port))) {
      throw new BrokerError(
        `port ${port} on 127.0.0.1 is taken by another process; stop it, or choose other ports with KAFKA_PORT / KAFKA_CONTROLLER_PORT.`,
      );
    }
  }
  const lib = fetchKafka(options);

  rmSync(paths.data, { recursive: true, force: true });
  mkdirSync(paths.data, { recursive: true });
  writeFileSync(paths.properties, serverProperties(options, paths.data));
  writeFileSync(paths.loggingConfig, loggingConfig(options, paths.brokerLog));
  writeFileSync(paths.brokerLog, '');

  const classpath = `${lib}/*`;
  const loggingFlag =
    lineFor(options).logging === 'log4j2'
      ? `-Dlog4j2.configurationFile=${paths.loggingConfig}`
      : `-Dlog4j.configuration=file:${paths.loggingConfig}`;
  const jvmFlags = [`-Xmx${options.heap}`, `-Xms${options.heap}`, '-XX:+UseG1GC', '-Djava.awt.headless=true', loggingFlag];

  // Kafka ids are 16 random bytes in URL-safe base64 without padding.
  // Kafka cluster ids are 16 bytes in base64url; one starting with '-' would read as an option to
  // StorageTool's argument parser (a 1-in-32 start-up failure), so the first byte avoids it.
  const idBytes = randomBytes(16);
  idBytes[0] = (idBytes[0] ?? 0) & 0x7f;
  const clusterId = idBytes.toString('base64url');
  const format = spawnSync(
    'java',
    [...jvmFlags, '-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', paths.properties],
    { encoding: 'utf8' },
  );
  if (format.error || format.status !== 0) {
    throw new BrokerError(
      `formatting KRaft storage failed (${format.error?.message ?? `exit ${format.status}`}).`,
      `${format.stdout ?? ''}\n${format.stderr ?? ''}`.trim(),
    );
  }

  const out = openSync(paths.brokerLog, 'a');
  const child = spawn('java', [...jvmFlags, '-cp', classpath, 'kafka.Kafka', paths.properties], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw new BrokerError('could not start java; is a JDK 17+ on the PATH?');
  child.unref();
  writeFileSync(paths.pidFile, `${pid}\n`);
  options.log(`started Kafka ${options.version} (pid ${pid}), log: ${paths.brokerLog}`);

  await waitUntilAnswering(options, pid);
  return { bootstrap, alreadyRunning: false, pid };
}

async function waitUntilAnswering(options: BrokerOptions, pid: number): Promise<void> {
  const bootstrap = bootstrapAddress(options);
  const deadline = Date.now() + options.startTimeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      throw new BrokerError(`the broker process (pid ${pid}) exited during start-up.`, brokerLogTail(options));
    }
    if (await brokerAnswers(bootstrap)) return;
    await sleep(500);
  }
  throw new BrokerError(
    `the broker did not answer on ${bootstrap} within ${options.startTimeoutMs / 1000}s.`,
    brokerLogTail(options),
  );
}

export interface StopResult {
  readonly wasRunning: boolean;
}

/** Stops the broker this script started (SIGTERM, then SIGKILL after a grace period) and waits for its ports. */
export async function stopBroker(options: BrokerOptions, graceMs = 30_000): Promise<StopResult> {
  return stopDetached({ pidFile: pathsFor(options).pidFile, label: 'broker', graceMs, ports: [options.port, options.controllerPort], log: options.log });
}

export interface BrokerStatus {
  readonly pid: number | undefined;
  readonly running: boolean;
  readonly answering: boolean;
  readonly bootstrap: string;
}

export async function brokerStatus(options: BrokerOptions): Promise<BrokerStatus> {
  const pid = readPid(pathsFor(options).pidFile);
  const running = pid !== undefined && isAlive(pid);
  const bootstrap = bootstrapAddress(options);
  return { pid, running, answering: running && (await brokerAnswers(bootstrap)), bootstrap };
}
