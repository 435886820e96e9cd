/**
 * `npm run bench`: throughput and memory of the engine, printed and written to
 * `bench-results/<timestamp>.json` (and `bench-results/latest.json`).
 *
 * Scenarios: the TopologyTestDriver (synchronous, no transport), a StreamsApp on the in-memory
 * transport, and a StreamsApp on Kafka when a broker answers (KAFKA_BROKERS, default
 * 127.0.0.1:9092; start one with `npm run kafka:start`). Each run produces the input first, then
 * times the app from start until every input offset is committed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { brokerAnswers } from '../scripts/kafka/broker.ts';
import { KafkaTransport, MemoryTransport, StreamsApp, StreamsBuilder, silentLogger, type Topology, type Transport } from '../src/index.ts';
import { TopologyTestDriver } from '../src/testing/index.ts';

interface Result {
  readonly scenario: string;
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly peakRssMiB: number;
  readonly peakHeapMiB: number;
}

const { values } = parseArgs({ options: { records: { type: 'string', default: '100000' }, 'kafka-records': { type: 'string', default: '50000' } } });
const RECORDS = Number(values.records);
const KAFKA_RECORDS = Number(values['kafka-records']);

function topology(input: string, output: string): Topology {
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  builder
    .stream<string, { id: number; score: number; comment: string }>(input)
    .filter((_key, rating) => rating.score > 1)
    .mapValues((rating) => ({ ...rating, positive: rating.score >= 4 }))
    .to(output);
  return builder.build();
}

const rating = (id: number) => ({ id, score: 1 + (id % 5), comment: 'fast delivery, would buy again' });

/** Samples memory every 50 ms while `work` runs. */
async function measure(scenario: string, records: number, work: () => Promise<void>): Promise<Result> {
  global.gc?.();
  let peakRss = 0;
  let peakHeap = 0;
  const sample = () => {
    const usage = process.memoryUsage();
    peakRss = Math.max(peakRss, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
  };
  const timer = setInterval(sample, 50);
  const started = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(timer);
  sample();
  const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
  return { scenario, records, seconds: Math.round(seconds * 1000) / 1000, recordsPerSecond: Math.round(records / seconds), peakRssMiB: mib(peakRss), peakHeapMiB: mib(peakHeap) };
}

async function benchDriver(): Promise<Result> {
  const driver = new TopologyTestDriver(topology('in', 'out'));
  const input = driver.createInputTopic<string, ReturnType<typeof rating>>('in', { keySerde: 'string', valueSerde: 'json' });
  return measure('test driver (synchronous)', RECORDS, async () => {
    for (let i = 0; i < RECORDS; i++) input.pipeInput(`r${i}`, rating(i));
  });
}

async function benchApp(scenario: string, transport: Transport, records: number): Promise<Result> {
  const suffix = `${Date.now().toString(36)}`;
  const input = `bench-in-${suffix}`;
  const output = `bench-out-${suffix}`;
  const admin = transport.admin();
  await admin.connect();
  await admin.createTopics([
    { topic: input, partitions: 4 },
    { topic: output, partitions: 4 },
  ]);
  const producer = transport.producer();
  await producer.connect();
  for (let start = 0; start < records; start += 2_000) {
    const count = Math.min(2_000, records - start);
    await producer.send(Array.from({ length: count }, (_, i) => ({ topic: input, key: Buffer.from(`r${start + i}`), value: Buffer.from(JSON.stringify(rating(start + i))) })));
  }
  await producer.disconnect();
  const ends = await admin.endOffsets(input);
  const applicationId = `bench-app-${suffix}`;
  const app = new StreamsApp(topology(input, output), { applicationId, transport, logger: silentLogger(), commitIntervalMs: 100, maxInFlight: 5_000 });
  const result = await measure(scenario, records, async () => {
    await app.start();
    for (;;) {
      const committed = await admin.committedOffsets(applicationId, input);
      if ([...ends].every(([partition, end]) => (committed.get(partition) ?? 0) >= end)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  await app.stop();
  await admin.deleteTopics([input, output, `${applicationId}-dlq`]);
  await admin.disconnect();
  return result;
}

const results: Result[] = [await benchDriver(), await benchApp('StreamsApp on the memory transport', new MemoryTransport(), RECORDS)];
const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
if (await brokerAnswers(brokers[0] ?? '')) {
  results.push(await benchApp(`StreamsApp on Kafka (${brokers.join(',')})`, new KafkaTransport({ brokers, clientId: 'bench', logLevel: 'error' }), KAFKA_RECORDS));
} else {
  process.stderr.write(`no Kafka broker answers at ${brokers.join(',')}: skipping the Kafka scenario (start one with npm run kafka:start)\n`);
}

console.table(results);
const report = { date: new Date().toISOString(), node: process.version, cpus: (await import('node:os')).cpus().length, results };
mkdirSync('bench-results', { recursive: true });
const file = `bench-results/${report.date.replace(/[:.]/g, '-')}.json`;
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
writeFileSync('bench-results/latest.json', `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`written to ${file} and bench-results/latest.json\n`);
process.exit(0);
