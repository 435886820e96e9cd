/**
 * The enrichment benchmark: every contender, one after another, on the same preloaded inputs, each
 * as a process of its own, measured from the outside (`process-meter.ts`) and its output checked
 * record by record (`verify.ts`). Then the machine's ceiling (Kafka's own ProducerPerformance and
 * ConsumerPerformance), the latency at a fixed offered load, and the table restore.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { build } from '../scripts/build.ts';
import { CONTENDERS, ENGINE_BUILD, launchOf, peerOf, type Contender } from './contenders.ts';
import type { ContenderArgs } from './contenders/args.ts';
import { measureLatency, type LatencyResult } from './latency.ts';
import { buildKafkaStreamsPeer } from './peers/kafka-streams.ts';
import { runConsumerPerformance, runProducerPerformance } from './peers/kafka-tools.ts';
import { preload, type Inputs } from './preload.ts';
import { meterProcess, type ProcessFigures } from './process-meter.ts';
import { verifyOutput, type Verification } from './verify.ts';
import { PARTITIONS } from './workload.ts';

export interface SuiteOptions {
  readonly brokers: readonly string[];
  /** Ratings of the main input. */
  readonly ratings: number;
  /** Ratings of the small input (the seed's pattern). */
  readonly smallRatings: number;
  readonly users?: number;
  /** Contender ids to run; default all. */
  readonly only?: readonly string[];
  /** Kafka Streams and Kafka's tools need a JDK and Maven; without them they are left out. */
  readonly java: boolean;
  /** Build the engine and run its contenders compiled (as the image does); false: from the TypeScript sources. */
  readonly build: boolean;
  /** Offered load and length of the latency scenario; 0 seconds leaves it out. */
  readonly latency: { readonly ratingsPerSecond: number; readonly seconds: number; readonly contenders: readonly string[] };
  /** Per contender run. */
  readonly timeoutMs: number;
  readonly log: (line: string) => void;
}

export interface ContenderResult {
  readonly id: string;
  readonly label: string;
  readonly family: Contender['family'];
  readonly guarantee: Contender['guarantee'];
  readonly variant: Contender['variant'];
  readonly records: number;
  readonly seconds: number;
  readonly processingSeconds?: number;
  readonly recordsPerSecond: number;
  readonly cpuSeconds: number;
  readonly cpuSecondsPerMillion: number;
  readonly peakRssMiB: number;
  readonly verification: Verification;
  /** This contender against Kafka Streams (same guarantee and table) and against plain kafkajs: above 1 is better. */
  ratios?: {
    vsKafkaStreams?: Ratio;
    vsKafkajs?: Ratio;
  };
}

export interface Ratio {
  readonly peer: string;
  /** records/s of this one over the peer's. */
  readonly throughput: number;
  /** CPU per record of the peer over this one's (above 1: this one needs less CPU). */
  readonly cpuEfficiency: number;
}

export interface Ceiling {
  readonly tool: string;
  readonly records: number;
  readonly recordSize: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly mbPerSecond: number;
  readonly avgLatencyMs?: number;
  readonly p99LatencyMs?: number;
}

export interface SuiteResult {
  readonly inputs: Inputs & { readonly smallRatingsTopic?: string; readonly smallRatings?: number };
  readonly contenders: ContenderResult[];
  readonly ceilings: Ceiling[];
  readonly latency: LatencyResult[];
  /** What could not run or failed, with the reason. */
  readonly failures: Array<{ readonly id: string; readonly error: string }>;
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

async function createTopics(admin: Admin, topics: readonly string[]): Promise<void> {
  await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: PARTITIONS })) });
}

/** Deletes the run's output topics and every internal topic of its application. */
async function cleanUp(admin: Admin, applicationId: string, topics: readonly string[]): Promise<void> {
  const existing = await admin.listTopics();
  const doomed = existing.filter((topic) => topics.includes(topic) || topic.startsWith(`${applicationId}-`));
  if (doomed.length > 0) await admin.deleteTopics({ topics: doomed }).catch(() => undefined);
  await admin.deleteGroups([applicationId]).catch(() => undefined);
}

async function runContender(contender: Contender, inputs: { ratingsTopic: string; usersTopic: string; ratings: number }, options: SuiteOptions, admin: Admin): Promise<ContenderResult> {
  const applicationId = `bench-${contender.id}-${Date.now().toString(36)}`;
  const outputTopic = `${applicationId}-enriched`;
  const dlqTopic = `${applicationId}-dlq`;
  await createTopics(admin, [outputTopic, dlqTopic]);
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-state-'));
  const args: ContenderArgs = {
    brokers: [...options.brokers],
    applicationId,
    guarantee: contender.guarantee,
    variant: contender.variant,
    ratingsTopic: inputs.ratingsTopic,
    usersTopic: inputs.usersTopic,
    outputTopic,
    dlqTopic,
  };
  try {
    const launch = launchOf(contender, args, stateDir, options.build);
    options.log(`  ${contender.id}: ${contender.label}, ${inputs.ratings.toLocaleString('en-US')} ratings`);
    const figures: ProcessFigures = await meterProcess({
      ...launch,
      brokers: options.brokers,
      groupId: applicationId,
      inputTopic: inputs.ratingsTopic,
      transactional: contender.guarantee === 'exactly-once',
      timeoutMs: options.timeoutMs,
      onLine: (line) => {
        if (/error|exception/i.test(line)) options.log(`    ${contender.id} | ${line.slice(0, 300)}`);
      },
    });
    const verification = await verifyOutput({ brokers: options.brokers, records: inputs.ratings, outputTopic, dlqTopic, exactlyOnce: contender.guarantee === 'exactly-once' });
    const result: ContenderResult = {
      id: contender.id,
      label: contender.label,
      family: contender.family,
      guarantee: contender.guarantee,
      variant: contender.variant,
      records: inputs.ratings,
      seconds: figures.seconds,
      ...(figures.processingSeconds === undefined ? {} : { processingSeconds: figures.processingSeconds }),
      recordsPerSecond: Math.round(inputs.ratings / figures.seconds),
      cpuSeconds: figures.cpuSeconds,
      cpuSecondsPerMillion: round((figures.cpuSeconds / inputs.ratings) * 1_000_000, 1),
      peakRssMiB: figures.peakRssMiB,
      verification,
    };
    options.log(
      `    ${result.recordsPerSecond.toLocaleString('en-US')} records/s, ${result.seconds} s, ${result.cpuSeconds} CPU s (${result.cpuSecondsPerMillion} per 1M), ${result.peakRssMiB} MiB peak RSS; ` +
        (verification.ok ? `verified (${verification.outputRecords} out, ${verification.deadLetters} dead letters, ${verification.duplicates} repeated)` : `WRONG: ${verification.problems.slice(0, 3).join(' | ')}`),
    );
    return result;
  } finally {
    await cleanUp(admin, applicationId, [outputTopic, dlqTopic]);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** Sets each result's ratios against its Kafka Streams and plain kafkajs peers of the same run. */
export function compare(results: ContenderResult[]): void {
  const contenders = results.map((r) => CONTENDERS.find((c) => c.id === r.id)).filter((c): c is Contender => c !== undefined);
  const ratio = (self: ContenderResult, peer: ContenderResult | undefined): Ratio | undefined => {
    if (peer === undefined || peer.id === self.id || peer.records !== self.records) return undefined;
    return {
      peer: peer.id,
      throughput: round(self.recordsPerSecond / peer.recordsPerSecond),
      cpuEfficiency: round(peer.cpuSecondsPerMillion / self.cpuSecondsPerMillion),
    };
  };
  for (const result of results) {
    const contender = contenders.find((c) => c.id === result.id);
    if (contender === undefined) continue;
    const byId = (peer: Contender | undefined) => results.find((r) => r.id === peer?.id);
    const vsKafkaStreams = contender.family === 'kafka-streams' ? undefined : ratio(result, byId(peerOf(contender, 'kafka-streams', contenders)));
    const vsKafkajs = contender.family === 'kafkajs' ? undefined : ratio(result, byId(peerOf(contender, 'kafkajs', contenders)));
    result.ratios = { ...(vsKafkaStreams === undefined ? {} : { vsKafkaStreams }), ...(vsKafkajs === undefined ? {} : { vsKafkajs }) };
  }
}

export async function runSuite(options: SuiteOptions): Promise<SuiteResult> {
  const failures: SuiteResult['failures'] = [];
  const chosen = CONTENDERS.filter((c) => (options.only === undefined || options.only.includes(c.id)) && (options.java || c.family !== 'kafka-streams'));
  if (options.java && chosen.some((c) => c.family === 'kafka-streams')) {
    options.log('building the Kafka Streams peer (Maven) when needed');
    buildKafkaStreamsPeer();
  }
  const engineRuns = chosen.some((c) => c.family === 'engine') || (options.latency.seconds > 0 && options.latency.contenders.some((id) => id.startsWith('engine-')));
  if (options.build && engineRuns) {
    options.log(`building the engine into ${ENGINE_BUILD} (npm run build): its contenders run compiled JavaScript, as the image does`);
    build(ENGINE_BUILD);
  }
  options.log('inputs: preloading once, reused while they hold exactly the workload');
  const inputs = await preload(options.brokers, options.ratings, options.users, options.log);
  const small = chosen.some((c) => c.smallInput) ? await preload(options.brokers, options.smallRatings, options.users, options.log) : undefined;
  const kafka = new Kafka({ brokers: [...options.brokers], clientId: 'bench-suite', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const contenders: ContenderResult[] = [];
  const ceilings: Ceiling[] = [];
  const latency: LatencyResult[] = [];
  try {
    options.log('contenders:');
    for (const contender of chosen) {
      const input = contender.smallInput && small !== undefined ? small : inputs;
      try {
        contenders.push(await runContender(contender, input, options, admin));
      } catch (error) {
        failures.push({ id: contender.id, error: (error as Error).message.slice(0, 2_000) });
        options.log(`    ${contender.id} FAILED: ${(error as Error).message.split('\n')[0] ?? ''}`);
      }
    }
    compare(contenders);

    if (options.java && options.only === undefined) {
      options.log("the machine's ceiling: Kafka's ProducerPerformance and ConsumerPerformance");
      const topic = `bench-perf-${Date.now().toString(36)}`;
      try {
        await createTopics(admin, [topic]);
        const produced = await runProducerPerformance({ brokers: options.brokers, topic, records: options.ratings, recordSize: 150 });
        ceilings.push({ tool: 'ProducerPerformance (acks=all)', records: produced.records, recordSize: 150, seconds: produced.seconds, recordsPerSecond: produced.recordsPerSecond, mbPerSecond: produced.mbPerSecond, ...(produced.avgLatencyMs === undefined ? {} : { avgLatencyMs: produced.avgLatencyMs }), ...(produced.p99LatencyMs === undefined ? {} : { p99LatencyMs: produced.p99LatencyMs }) });
        const consumed = await runConsumerPerformance({ brokers: options.brokers, topic, records: options.ratings });
        ceilings.push({ tool: 'ConsumerPerformance', records: consumed.records, recordSize: 150, seconds: consumed.seconds, recordsPerSecond: consumed.recordsPerSecond, mbPerSecond: consumed.mbPerSecond });
        for (const ceiling of ceilings) options.log(`  ${ceiling.tool}: ${ceiling.recordsPerSecond.toLocaleString('en-US')} records/s, ${ceiling.mbPerSecond} MB/s`);
      } catch (error) {
        failures.push({ id: 'kafka-tools', error: (error as Error).message.slice(0, 2_000) });
        options.log(`  Kafka's tools FAILED: ${(error as Error).message.split('\n')[0] ?? ''}`);
      } finally {
        await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      }
    }

    if (options.latency.seconds > 0) {
      options.log(`latency at ${options.latency.ratingsPerSecond.toLocaleString('en-US')} ratings/s offered, ${options.latency.seconds} s each (produce time to appearance in the output, read_committed):`);
      for (const id of options.latency.contenders) {
        const contender = CONTENDERS.find((c) => c.id === id);
        if (contender === undefined || (!options.java && contender.family === 'kafka-streams')) continue;
        try {
          const measured = await measureLatency({ contender, brokers: options.brokers, usersTopic: inputs.usersTopic, admin, ...options.latency, engineBuilt: options.build, timeoutMs: options.timeoutMs, log: options.log });
          latency.push(measured);
        } catch (error) {
          failures.push({ id: `latency:${id}`, error: (error as Error).message.slice(0, 2_000) });
          options.log(`  ${id} FAILED: ${(error as Error).message.split('\n')[0] ?? ''}`);
        }
      }
    }
  } finally {
    await admin.disconnect();
  }
  return {
    inputs: { ...inputs, ...(small === undefined ? {} : { smallRatingsTopic: small.ratingsTopic, smallRatings: small.ratings }) },
    contenders,
    ceilings,
    latency,
    failures,
  };
}
