/**
 * `npm run bench`: the enrichment benchmark (see BENCHMARKS.md). Starts the broker through the
 * project's script unless `KAFKA_BROKERS` names one, preloads the inputs once, runs every contender
 * (this engine, Kafka Streams in Java, plain kafkajs, the seed's pattern) one after another as
 * processes of their own, checks each one's output record by record, then measures Kafka's own
 * producer and consumer tools, the latency at a fixed offered load and the table restore. Prints a
 * table and writes `bench/results/latest.json` and a dated copy.
 *
 *   npm run bench                      # the full run: 1,000,000 ratings (under 10 minutes here)
 *   npm run bench -- --quick           # 100,000 ratings, shorter latency (at-least-once only) and restore (under 2 minutes)
 *   npm run bench -- --only engine-global-alos,kafkajs-plain --records 50000 --no-java
 *
 * Exit code 0 when every contender ran and was verified, 1 when one failed or gave a wrong answer,
 * 2 for bad flags.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { brokerOptionsFromEnv, startBroker, stopBroker } from '../scripts/kafka/broker.ts';
import { CONTENDERS } from './contenders.ts';
import { benchRestore, type RestoreResult } from './restore.ts';
import { benchIngest } from './ingest.ts';
import { runSuite, type SuiteResult } from './suite.ts';
import type { Result } from './measure.ts';

const USAGE = `usage: npm run bench -- [--quick] [--records N] [--small-records N] [--only id,id] [--no-java] [--no-build]
       [--latency-seconds N] [--latency-rate N] [--no-restore] [--restore-profiles N] [--ingest] [--results-dir DIR]

  --no-build   run the engine from its TypeScript sources (tsx) instead of a fresh compiled build

contenders: ${CONTENDERS.map((c) => c.id).join(', ')}`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      records: { type: 'string' },
      'small-records': { type: 'string' },
      only: { type: 'string' },
      'no-java': { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      'latency-seconds': { type: 'string' },
      'latency-rate': { type: 'string', default: '10000' },
      'no-restore': { type: 'boolean', default: false },
      'restore-profiles': { type: 'string' },
      ingest: { type: 'boolean', default: false },
      'results-dir': { type: 'string', default: join('bench', 'results') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
} catch (error) {
  fail((error as Error).message);
}
const { values } = parsed;
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

function count(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isSafeInteger(value) || value < 0) fail(`--${flag} must be a whole number >= 0, got ${raw}`);
  return value;
}

const quick = values.quick;
// A run with its own sizes or contenders is neither of the two standard ones.
const mode = values.records !== undefined || values.only !== undefined ? 'custom' : quick ? 'quick' : 'full';
const ratings = count('records', values.records, quick ? 100_000 : 1_000_000);
const smallRatings = count('small-records', values['small-records'], quick ? 5_000 : 20_000);
const only = values.only?.split(',').map((id) => id.trim()).filter(Boolean);
for (const id of only ?? []) if (!CONTENDERS.some((c) => c.id === id)) fail(`--only: no contender ${JSON.stringify(id)}`);
const latencySeconds = count('latency-seconds', values['latency-seconds'], only !== undefined ? 0 : quick ? 4 : 15);
const latencyRate = count('latency-rate', values['latency-rate'], 10_000);
const restoreProfiles = count('restore-profiles', values['restore-profiles'], quick ? 100_000 : 1_000_000);
const java = !values['no-java'];
if (ratings < 1) fail('--records must be at least 1');

const log = (line: string) => void process.stdout.write(`${line}\n`);

function javaVersion(): string | undefined {
  const run = spawnSync('java', ['-version'], { encoding: 'utf8' });
  return run.status === 0 ? (run.stderr.split('\n')[0] ?? '').trim() : undefined;
}

const given = process.env['KAFKA_BROKERS'];
const brokerOptions = brokerOptionsFromEnv();
let started = false;
let brokers: string[];
if (given) {
  brokers = given.split(',').map((b) => b.trim()).filter(Boolean);
} else {
  const broker = await startBroker(brokerOptions);
  started = !broker.alreadyRunning;
  brokers = [broker.bootstrap];
  log(`Kafka ${brokerOptions.version} at ${broker.bootstrap} (${broker.alreadyRunning ? 'already running' : 'started for this run'})`);
}

const began = Date.now();
let suite: SuiteResult;
let restore: RestoreResult[] = [];
let ingest: Result | undefined;
try {
  suite = await runSuite({
    brokers,
    ratings,
    smallRatings,
    ...(only === undefined ? {} : { only }),
    java,
    build: !values['no-build'],
    // The quick run measures the at-least-once pair only (under exactly-once latency is the commit interval's).
    latency: { ratingsPerSecond: latencyRate, seconds: latencySeconds, contenders: quick ? ['engine-global-alos', 'kstreams-global-alos'] : ['engine-global-alos', 'kstreams-global-alos', 'engine-global-eos', 'kstreams-global-eos'] },
    timeoutMs: 600_000,
    log,
  });
  if (!values['no-restore'] && only === undefined) {
    log(`table restore: ${restoreProfiles.toLocaleString('en-US')} profiles into a table's store`);
    try {
      restore = await benchRestore({ brokers, profiles: restoreProfiles, databaseUrl: process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test' });
      for (const r of restore) log(`  ${r.scenario}: ${r.seconds} s, ${r.recordsPerSecond.toLocaleString('en-US')} records/s, ${r.cpuSeconds} CPU s, ${r.peakRssMiB} MiB`);
    } catch (error) {
      suite.failures.push({ id: 'restore', error: (error as Error).message.slice(0, 2_000) });
      log(`  restore FAILED: ${(error as Error).message.split('\n')[0] ?? ''}`);
    }
  }
  if (values.ingest) ingest = await benchIngest({ brokers, ratings: 50_000, pageSize: 1_000 });
} finally {
  if (started) await stopBroker(brokerOptions);
}

const table = suite.contenders.map((c) => ({
  contender: c.id,
  records: c.records,
  's': c.seconds,
  'records/s': c.recordsPerSecond,
  'CPU s/1M': c.cpuSecondsPerMillion,
  'RSS MiB': c.peakRssMiB,
  'x Kafka Streams (rate, CPU)': c.ratios?.vsKafkaStreams ? `${c.ratios.vsKafkaStreams.throughput}, ${c.ratios.vsKafkaStreams.cpuEfficiency}` : '',
  'x kafkajs (rate, CPU)': c.ratios?.vsKafkajs ? `${c.ratios.vsKafkajs.throughput}, ${c.ratios.vsKafkajs.cpuEfficiency}` : '',
  verified: c.verification.ok ? 'yes' : 'NO',
}));
console.table(table);

const cpuList = cpus();
const report = {
  date: new Date().toISOString(),
  mode,
  durationSeconds: Math.round((Date.now() - began) / 1000),
  machine: { cpus: cpuList.length, model: cpuList[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, java: javaVersion() ?? 'not found', kafka: given ? `external (${given})` : brokerOptions.version },
  settings: { ratings, smallRatings, contenders: only ?? 'all', java, build: !values['no-build'], latency: { ratingsPerSecond: latencyRate, seconds: latencySeconds }, restoreProfiles: values['no-restore'] || only !== undefined ? 0 : restoreProfiles },
  ...suite,
  restore,
  ...(ingest === undefined ? {} : { ingest }),
};
mkdirSync(values['results-dir'], { recursive: true });
const dated = join(values['results-dir'], `${report.date.replace(/[:.]/g, '-')}-${mode}.json`);
const text = `${JSON.stringify(report, null, 2)}\n`;
writeFileSync(dated, text);
writeFileSync(join(values['results-dir'], 'latest.json'), text);
log(`written to ${dated} and ${join(values['results-dir'], 'latest.json')} (${report.durationSeconds} s in all)`);

const wrong = suite.contenders.filter((c) => !c.verification.ok);
if (wrong.length > 0 || suite.failures.length > 0) {
  for (const c of wrong) log(`WRONG OUTPUT: ${c.id}: ${c.verification.problems.slice(0, 5).join(' | ')}`);
  for (const f of suite.failures) log(`FAILED: ${f.id}: ${f.error.split('\n')[0] ?? ''}`);
  process.exit(1);
}
process.exit(0);
