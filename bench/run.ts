/**
 * `npm run bench`: throughput and memory of the engine, printed and written to
 * `bench-results/<timestamp>.json` (and `bench-results/latest.json`).
 *
 * Scenarios: the TopologyTestDriver (synchronous, no transport), a StreamsApp on the in-memory
 * transport, and a StreamsApp on Kafka when a broker answers (KAFKA_BROKERS, default
 * 127.0.0.1:9092; start one with `npm run kafka:start`). Each run produces the input first, then
 * times the app from start until every input offset is committed. On Kafka, the restore scenario
 * (`bench/restore.ts`) times a table's store being rebuilt from a topic of user profiles.
 *
 * Flags: --records N, --kafka-records N, --restore (the restore scenario alone), --ingest (the
 * OpenClaw ingest scenario alone, `bench/ingest.ts`), --ingest-ratings N (default 50,000),
 * --restore-profiles N (default 1,000,000), --restore-cache-entries N (the PostgreSQL variant's LRU
 * bound, per partition; default 100,000). DATABASE_URL names the PostgreSQL database of the
 * restore scenario (default postgres://postgres@127.0.0.1:5432/test).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { brokerAnswers } from '../scripts/kafka/broker.ts';
import { KafkaTransport, MemoryTransport, StreamsApp, StreamsBuilder, silentLogger, type Topology, type Transport } from '../src/index.ts';
import { TopologyTestDriver } from '../src/testing/index.ts';
import { measure, type Result } from './measure.ts';
import { benchRestore } from './restore.ts';
import { benchIngest } from './ingest.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    'kafka-records': { type: 'string', default: '50000' },
    /** Only the restore scenario. */
    restore: { type: 'boolean', default: false },
    /** Only the ingest scenario (simulator -> ratings). */
    ingest: { type: 'boolean', default: false },
    'ingest-ratings': { type: 'string', default: '50000' },
    'restore-profiles': { type: 'string', default: '1000000' },
    'restore-cache-entries': { type: 'string', default: '100000' },
  },
});
const RECORDS = Number(values.records);
const KAFKA_RECORDS = Number(values['kafka-records']);
const RESTORE_PROFILES = Number(values['restore-profiles']);
const RESTORE_CACHE_ENTRIES = Number(values['restore-cache-entries']);
for (const [flag, value] of [['restore-profiles', RESTORE_PROFILES], ['restore-cache-entries', RESTORE_CACHE_ENTRIES]] as const) {
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${flag} must be a positive integer, got ${values[flag]}`);
}

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

const only = values.restore || values.ingest;
const results: Result[] = only ? [] : [await benchDriver(), await benchApp('StreamsApp on the memory transport', new MemoryTransport(), RECORDS)];
const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const databaseUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
if (await brokerAnswers(brokers[0] ?? '')) {
  if (!only) results.push(await benchApp(`StreamsApp on Kafka (${brokers.join(',')})`, new KafkaTransport({ brokers, clientId: 'bench', logLevel: 'error' }), KAFKA_RECORDS));
  if (!values.ingest) results.push(...(await benchRestore({ brokers, profiles: RESTORE_PROFILES, databaseUrl, cacheEntries: RESTORE_CACHE_ENTRIES })));
  if (!values.restore) results.push(await benchIngest({ brokers, ratings: Number(values['ingest-ratings']), pageSize: 1_000 }));
} else {
  process.stderr.write(`no Kafka broker answers at ${brokers.join(',')}: skipping the Kafka scenarios (start one with npm run kafka:start)\n`);
}

console.table(results);
const report = { date: new Date().toISOString(), node: process.version, cpus: (await import('node:os')).cpus().length, results };
mkdirSync('bench-results', { recursive: true });
const file = `bench-results/${report.date.replace(/[:.]/g, '-')}.json`;
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
writeFileSync('bench-results/latest.json', `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`written to ${file} and bench-results/latest.json\n`);
process.exit(0);
