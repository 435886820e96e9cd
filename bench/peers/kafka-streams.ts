/**
 * Peer: the enrichment workload on Kafka Streams 3.9.1 (Java), the library the engine imitates, so
 * the bench can put the two side by side on the same inputs (the Maven project beside this file,
 * `kafka-streams/`; what it does is in `bench/peers/README.md`). This module builds it when its
 * build is missing or older than its sources, and says the `java` command line that runs it; the
 * bench spawns that itself, so `command` is the JVM and the spawned pid is the JVM's.
 *
 * JVM options: `KAFKA_STREAMS_PEER_JVM_OPTS` (split on spaces), default `-Xms512m -Xmx512m
 * -XX:+UseG1GC`: a fixed heap the size of the broker's, ample for the 200k workload (the state lives
 * in RocksDB, off-heap). The JVM's own default heap is a quarter of the machine's memory.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');
const projectDir = join(here, 'kafka-streams');
/** The pom's `<build><directory>`: outside the work tree's tracked files. */
const buildDir = join(repoRoot, '.cache', 'kafka-streams-peer');
const classesDir = join(buildDir, 'classes');
const libDir = join(buildDir, 'lib');
/** Written here after a successful `mvn package`: Maven leaves up-to-date outputs untouched. */
const builtMarker = join(buildDir, '.built');
const SCHEMAS = ['rating-event.avsc', 'rating-enriched.avsc'].map((name) => join(repoRoot, 'topologies', 'schemas', name));

export const DEFAULT_JVM_OPTIONS: readonly string[] = ['-Xms512m', '-Xmx512m', '-XX:+UseG1GC'];

export interface KafkaStreamsPeerOptions {
  readonly variant: 'global' | 'table';
  readonly guarantee: 'at-least-once' | 'exactly-once';
  readonly brokers: readonly string[];
  readonly applicationId: string;
  readonly ratingsTopic: string;
  readonly usersTopic: string;
  readonly outputTopic: string;
  readonly dlqTopic: string;
  readonly stateDir: string;
}

export interface PeerCommand {
  readonly command: string;
  readonly args: string[];
  readonly cwd?: string;
}

function newestSource(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestSource(join(path, name))), stat.mtimeMs);
}

function isBuilt(): boolean {
  if (!existsSync(builtMarker) || !existsSync(libDir)) return false;
  const sources = Math.max(newestSource(join(projectDir, 'pom.xml')), newestSource(join(projectDir, 'src')), ...SCHEMAS.map(newestSource));
  return statSync(builtMarker).mtimeMs >= sources;
}

/** Builds the peer with Maven (`mvn -q -B package`, jars from Maven Central) unless its build is up to date. */
export function buildKafkaStreamsPeer(): void {
  if (isBuilt()) return;
  // A changed pom must not leave the jars of the old one on the classpath.
  rmSync(libDir, { recursive: true, force: true });
  const result = spawnSync('mvn', ['-q', '-B', '-f', join(projectDir, 'pom.xml'), 'package'], {
    cwd: projectDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (result.error) throw new Error(`could not run mvn (${result.error.message}); install Apache Maven and a JDK 17+.`);
  if (result.status !== 0) {
    const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`building the Kafka Streams peer failed (mvn exit ${result.status}):\n${tail}`);
  }
  writeFileSync(builtMarker, `${new Date().toISOString()}\n`);
}

function jvmOptions(env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = env['KAFKA_STREAMS_PEER_JVM_OPTS']?.trim();
  return raw ? raw.split(/\s+/) : [...DEFAULT_JVM_OPTIONS];
}

/** The command line that runs the peer (build it first with `buildKafkaStreamsPeer`). */
export function kafkaStreamsCommand(options: KafkaStreamsPeerOptions): PeerCommand {
  return {
    command: 'java',
    args: [
      ...jvmOptions(),
      '-cp',
      `${classesDir}:${libDir}/*`,
      'bench.EnrichmentBench',
      '--variant',
      options.variant,
      '--guarantee',
      options.guarantee,
      '--brokers',
      options.brokers.join(','),
      '--application-id',
      options.applicationId,
      '--ratings',
      options.ratingsTopic,
      '--users',
      options.usersTopic,
      '--output',
      options.outputTopic,
      '--dlq',
      options.dlqTopic,
      '--state-dir',
      options.stateDir,
    ],
    cwd: projectDir,
  };
}
