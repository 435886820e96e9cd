/**
 * Peer: Kafka's own load tools, `ProducerPerformance` and `ConsumerPerformance` from
 * org.apache.kafka:kafka-tools 3.9.1, the ceiling of what this machine and broker move with the
 * Java client and nothing on top. The jars come from Maven Central into `.cache/kafka-tools/3.9.1/lib`
 * (as `scripts/kafka/broker.ts` resolves the broker's, through a POM written beside them: that
 * script's POM is for the broker only); each run is a JVM of its own whose summary line is parsed.
 *
 * JVM options: `KAFKA_TOOLS_JVM_OPTS` (split on spaces), default `-Xms512m -Xmx512m -XX:+UseG1GC`,
 * the Kafka Streams peer's (Kafka's own scripts give the tools 256 MiB).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';

const KAFKA_TOOLS_VERSION = '3.9.1';
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const home = join(repoRoot, '.cache', 'kafka-tools', KAFKA_TOOLS_VERSION);
const libDir = join(home, 'lib');
const fetchedMarker = join(libDir, '.complete');
const loggingConfig = join(home, 'log4j.properties');
const PARTITIONS = 6;
const RUN_TIMEOUT_MS = 600_000;
const seconds = (records: number, perSecond: number) => (perSecond > 0 ? Math.round((records / perSecond) * 1000) / 1000 : Number.NaN);

export const DEFAULT_JVM_OPTIONS: readonly string[] = ['-Xms512m', '-Xmx512m', '-XX:+UseG1GC'];

const pom = `<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by bench/peers/kafka-tools.ts: resolves kafka-tools ${KAFKA_TOOLS_VERSION} into lib/. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.ratings-pipeline</groupId>
  <artifactId>kafka-tools-runtime</artifactId>
  <version>1.0.0</version>
  <packaging>pom</packaging>
  <dependencies>
    <!-- Brings slf4j-reload4j and reload4j: logging is set by log4j.properties beside this file. -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>${KAFKA_TOOLS_VERSION}</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>3.8.1</version>
        <configuration>
          <outputDirectory>${libDir}</outputDirectory>
          <includeScope>runtime</includeScope>
        </configuration>
      </plugin>
    </plugins>
  </build>
</project>
`;

/** Kafka's tools-log4j.properties in short: warnings and errors to stderr, so stdout is the tool's report. */
const log4j = [
  'log4j.rootLogger=WARN, stderr',
  'log4j.appender.stderr=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stderr.Target=System.err',
  'log4j.appender.stderr.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n',
  '',
].join('\n');

/** Resolves kafka-tools and its dependencies from Maven Central into the cache; a no-op when already there. */
export function fetchKafkaTools(log: (line: string) => void = () => undefined): string {
  mkdirSync(libDir, { recursive: true });
  if (!existsSync(loggingConfig)) writeFileSync(loggingConfig, log4j);
  if (existsSync(fetchedMarker)) return libDir;
  log(`resolving kafka-tools ${KAFKA_TOOLS_VERSION} from Maven Central into ${libDir}`);
  writeFileSync(join(home, 'pom.xml'), pom);
  const result = spawnSync('mvn', ['-q', '-B', '-f', join(home, 'pom.xml'), 'dependency:copy-dependencies'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (result.error) throw new Error(`could not run mvn (${result.error.message}); install Apache Maven and a JDK 17+.`);
  if (result.status !== 0) {
    const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`mvn could not resolve kafka-tools ${KAFKA_TOOLS_VERSION} (exit ${result.status}):\n${tail}`);
  }
  writeFileSync(fetchedMarker, `${new Date().toISOString()}\n`);
  return libDir;
}

function jvmOptions(env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = env['KAFKA_TOOLS_JVM_OPTS']?.trim();
  return raw ? raw.split(/\s+/) : [...DEFAULT_JVM_OPTIONS];
}

/** Runs one tool's main class to its end; resolves with its stdout, rejects with its output on failure. */
function runTool(mainClass: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  const lib = fetchKafkaTools();
  const child = spawn('java', [...jvmOptions(), `-Dlog4j.configuration=file:${loggingConfig}`, '-cp', `${lib}/*`, mainClass, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run java (${error.message}); is a JDK 17+ on the PATH?`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise({ stdout, stderr });
      else reject(new Error(`${mainClass} ended with ${signal ?? `exit ${code}`}:\n${`${stdout}\n${stderr}`.trim().split('\n').slice(-30).join('\n')}`));
    });
  });
}

/** Creates the topic with 6 partitions when it does not exist (an existing one is left as it is). */
async function ensureTopic(brokers: readonly string[], topic: string): Promise<void> {
  const admin = new Kafka({ brokers: [...brokers], clientId: 'bench-kafka-tools', logLevel: logLevel.ERROR }).admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS }] });
    }
  } finally {
    await admin.disconnect();
  }
}

export interface ProducerPerformanceResult {
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  /** MiB of values (records x recordSize) per second, as the tool counts. */
  readonly mbPerSecond: number;
  readonly avgLatencyMs?: number;
  readonly maxLatencyMs?: number;
  readonly p50LatencyMs?: number;
  readonly p95LatencyMs?: number;
  readonly p99LatencyMs?: number;
  readonly p999LatencyMs?: number;
  /** The tool's stdout. */
  readonly raw: string;
}

// "200000 records sent, 169204.737733 records/sec (24.20 MB/sec), 10.27 ms avg latency, 306.00 ms max
// latency, 9 ms 50th, 24 ms 95th, 36 ms 99th, 44 ms 99.9th." (the last line; the ones every 5 s stop at "max latency.")
const PRODUCER_SUMMARY =
  /^(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th\.$/m;

export function parseProducerPerformance(raw: string): ProducerPerformanceResult {
  const match = PRODUCER_SUMMARY.exec(raw);
  if (!match) throw new Error(`no summary line in ProducerPerformance's output:\n${raw}`);
  const [records, recordsPerSecond, mbPerSecond, avg, max, p50, p95, p99, p999] = match.slice(1).map(Number) as number[];
  return {
    records: records ?? 0,
    seconds: seconds(records ?? 0, recordsPerSecond ?? 0),
    recordsPerSecond: recordsPerSecond ?? Number.NaN,
    mbPerSecond: mbPerSecond ?? Number.NaN,
    avgLatencyMs: avg,
    maxLatencyMs: max,
    p50LatencyMs: p50,
    p95LatencyMs: p95,
    p99LatencyMs: p99,
    p999LatencyMs: p999,
    raw,
  };
}

/** Produces `records` random values of `recordSize` bytes (no key) as fast as it can, acks from all replicas. */
export async function runProducerPerformance(options: {
  brokers: readonly string[];
  topic: string;
  records: number;
  recordSize: number;
}): Promise<ProducerPerformanceResult> {
  await ensureTopic(options.brokers, options.topic);
  const { stdout } = await runTool('org.apache.kafka.tools.ProducerPerformance', [
    '--topic',
    options.topic,
    '--num-records',
    String(options.records),
    '--record-size',
    String(options.recordSize),
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${options.brokers.join(',')}`,
    'acks=all',
  ]);
  return parseProducerPerformance(stdout);
}

export interface ConsumerPerformanceResult {
  readonly records: number;
  /** From the consumer's start (group join included) to its last record. */
  readonly seconds: number;
  readonly recordsPerSecond: number;
  /** MiB of keys and values per second. */
  readonly mbPerSecond: number;
  /** Joining the group. */
  readonly rebalanceMs?: number;
  /** Fetching alone, after the group join: `seconds` less `rebalanceMs`. */
  readonly fetchSeconds?: number;
  readonly fetchRecordsPerSecond?: number;
  readonly fetchMbPerSecond?: number;
  /** The tool's stdout. */
  readonly raw: string;
}

// Header "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
// rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec", then one line of values.
export function parseConsumerPerformance(raw: string, expected?: number): ConsumerPerformanceResult {
  if (raw.includes('Exiting before consuming the expected number of messages')) {
    throw new Error(`ConsumerPerformance timed out before it read ${expected ?? 'all the'} records (its figures would include the wait):\n${raw}`);
  }
  const lines = raw.split('\n').map((line) => line.trim());
  const header = lines.findIndex((line) => line.startsWith('start.time, end.time'));
  const values = header < 0 ? undefined : lines[header + 1]?.split(', ');
  if (values === undefined || values.length < 10) throw new Error(`no summary line in ConsumerPerformance's output:\n${raw}`);
  const [, , , mbPerSecond, records, recordsPerSecond, rebalanceMs, fetchMs, fetchMbPerSecond, fetchRecordsPerSecond] = values.map(Number) as number[];
  return {
    records: records ?? 0,
    seconds: seconds(records ?? 0, recordsPerSecond ?? 0),
    recordsPerSecond: recordsPerSecond ?? Number.NaN,
    mbPerSecond: mbPerSecond ?? Number.NaN,
    rebalanceMs,
    fetchSeconds: fetchMs === undefined ? undefined : fetchMs / 1000,
    fetchRecordsPerSecond,
    fetchMbPerSecond,
    raw,
  };
}

/**
 * Reads `records` records of the topic from its start with one consumer in a group of its own
 * (deleted afterwards). Fails when the topic holds fewer: the tool would wait 10 s for more and
 * count the wait.
 */
export async function runConsumerPerformance(options: {
  brokers: readonly string[];
  topic: string;
  records: number;
}): Promise<ConsumerPerformanceResult> {
  const group = `bench-consumer-performance-${randomBytes(4).toString('hex')}`;
  try {
    const { stdout } = await runTool('org.apache.kafka.tools.ConsumerPerformance', [
      '--bootstrap-server',
      options.brokers.join(','),
      '--topic',
      options.topic,
      '--messages',
      String(options.records),
      '--group',
      group,
    ]);
    return parseConsumerPerformance(stdout, options.records);
  } finally {
    const admin = new Kafka({ brokers: [...options.brokers], clientId: 'bench-kafka-tools', logLevel: logLevel.NOTHING }).admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([group]))
      .catch(() => undefined)
      .finally(() => admin.disconnect());
  }
}
