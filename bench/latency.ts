/**
 * Latency at a fixed offered load: a contender runs on an empty ratings topic; ratings are then
 * produced at `ratingsPerSecond` (each carrying its send time in `timestamp`), and a read_committed
 * consumer of the output notes when each enriched rating appears. Latency is appearance minus send
 * time, so it holds the produce, the processing, the output's produce and, under exactly-once, the
 * wait for the transaction to commit. The first two seconds warm up and are left out.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { launchOf, type Contender } from './contenders.ts';
import { enrichedType, invalidity, rating, ratingKey, ratingType, PARTITIONS } from './workload.ts';

export interface LatencyResult {
  readonly id: string;
  readonly offeredPerSecond: number;
  readonly seconds: number;
  /** Valid ratings produced after the warm-up, and how many of them arrived. */
  readonly measured: number;
  readonly arrived: number;
  readonly achievedPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

const WARM_UP_MS = 2_000;
const TICK_MS = 10;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

export async function measureLatency(options: {
  readonly contender: Contender;
  readonly brokers: readonly string[];
  readonly usersTopic: string;
  readonly admin: Admin;
  readonly ratingsPerSecond: number;
  readonly seconds: number;
  readonly engineBuilt: boolean;
  readonly timeoutMs: number;
  readonly log: (line: string) => void;
}): Promise<LatencyResult> {
  const { contender, admin } = options;
  const applicationId = `bench-latency-${contender.id}-${Date.now().toString(36)}`;
  const [ratingsTopic, outputTopic, dlqTopic] = [`${applicationId}-ratings`, `${applicationId}-enriched`, `${applicationId}-dlq`];
  await admin.createTopics({ waitForLeaders: true, topics: [ratingsTopic, outputTopic, dlqTopic].map((topic) => ({ topic, numPartitions: PARTITIONS })) });
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-latency-'));
  const launch = launchOf(contender, { brokers: [...options.brokers], applicationId, guarantee: contender.guarantee, variant: contender.variant, ratingsTopic, usersTopic: options.usersTopic, outputTopic, dlqTopic }, stateDir, options.engineBuilt);
  const child = spawn(launch.command, [...launch.args], { cwd: launch.cwd, env: launch.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const kafka = new Kafka({ brokers: [...options.brokers], clientId: 'bench-latency', logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `${applicationId}-reader`, maxWaitTimeInMs: 20 });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${contender.id} did not say RUNNING within ${options.timeoutMs} ms`)), options.timeoutMs);
      let tail = '';
      const onData = (chunk: Buffer) => {
        tail = `${tail}${chunk.toString('utf8')}`.slice(-4_000);
        if (tail.includes('RUNNING')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', (chunk: Buffer) => void (tail = `${tail}${chunk.toString('utf8')}`.slice(-4_000)));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${contender.id} exited (${String(code)}) before it ran: ${tail}`));
      });
    });

    // index -> send time, for the valid ratings produced after the warm-up.
    const sentAt = new Map<number, number>();
    const latencies: number[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: outputTopic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const now = Date.now();
        for (const message of batch.messages) {
          const index = Number(message.key?.toString('utf8').slice(1));
          const sent = sentAt.get(index);
          if (sent === undefined) continue;
          sentAt.delete(index);
          // The record's own copy of its send time, so a repeat cannot count twice.
          const { timestamp } = enrichedType.fromBuffer(message.value ?? Buffer.alloc(0)) as { timestamp: number };
          latencies.push(now - timestamp);
        }
      },
    });
    await producer.connect();

    const started = Date.now();
    let produced = 0;
    let measured = 0;
    const inFlight = new Set<Promise<unknown>>();
    while (Date.now() - started < options.seconds * 1_000 + WARM_UP_MS) {
      const due = Math.floor(((Date.now() - started) / 1_000) * options.ratingsPerSecond);
      const messages = [];
      for (; produced < due; produced++) {
        const now = Date.now();
        const event = { ...rating(produced), timestamp: now };
        const value = invalidity(produced) === 'undecodable' ? ratingType.toBuffer(event).subarray(0, 5) : ratingType.toBuffer(event);
        if (invalidity(produced) === undefined && now - started >= WARM_UP_MS) {
          sentAt.set(produced, now);
          measured += 1;
        }
        messages.push({ key: ratingKey(produced), value });
      }
      if (messages.length > 0) {
        const send = producer.send({ topic: ratingsTopic, acks: -1, messages }).finally(() => inFlight.delete(send));
        inFlight.add(send);
      }
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    }
    await Promise.all(inFlight);
    const productionSeconds = (Date.now() - started - WARM_UP_MS) / 1_000;
    const deadline = Date.now() + 30_000;
    while (sentAt.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const sorted = [...latencies].sort((a, b) => a - b);
    const result: LatencyResult = {
      id: contender.id,
      offeredPerSecond: options.ratingsPerSecond,
      seconds: options.seconds,
      measured,
      arrived: latencies.length,
      achievedPerSecond: Math.round(measured / 0.97 / productionSeconds),
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted.at(-1) ?? Number.NaN,
    };
    options.log(`  ${contender.id}: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, max ${result.maxMs} ms (${result.arrived} of ${result.measured} measured ratings arrived)`);
    return result;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    const doomed = (await admin.listTopics()).filter((topic) => topic.startsWith(`${applicationId}-`));
    await admin.deleteTopics({ topics: doomed }).catch(() => undefined);
    await admin.deleteGroups([applicationId, `${applicationId}-reader`]).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }
}
