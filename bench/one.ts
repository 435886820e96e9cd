/**
 * `tsx bench/one.ts <contender> [records] [-- node flags]`: runs one contender once on the bench's
 * inputs, measures and verifies it, and prints the figures; for profiling one contender without the
 * whole suite, e.g. `tsx bench/one.ts engine-global-alos 1000000 -- --cpu-prof --cpu-prof-dir=/tmp/p`
 * (then `tsx bench/profile-summary.ts /tmp/p/<file>.cpuprofile`). Uses `KAFKA_BROKERS` (default
 * 127.0.0.1:9092) and `BENCH_MAX_IN_FLIGHT` (the engine's maxInFlight); the engine runs from the build in `.cache/bench-dist` when it exists
 * (`npm run build -- --out-dir .cache/bench-dist`), else from the TypeScript sources.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { CONTENDERS, ENGINE_BUILD, launchOf } from './contenders.ts';
import { preload } from './preload.ts';
import { meterProcess } from './process-meter.ts';
import { verifyOutput } from './verify.ts';
import { PARTITIONS } from './workload.ts';

const [id, recordsText, ...rest] = process.argv.slice(2);
const contender = CONTENDERS.find((c) => c.id === id);
if (contender === undefined) {
  process.stderr.write(`usage: tsx bench/one.ts <${CONTENDERS.map((c) => c.id).join('|')}> [records] [-- node flags]\n`);
  process.exit(2);
}
const records = Number(recordsText ?? 200_000);
const nodeFlags = rest[0] === '--' ? rest.slice(1) : rest;
const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const inputs = await preload(brokers, records, undefined, (line) => process.stdout.write(`${line}\n`));
const applicationId = `bench-one-${contender.id}-${Date.now().toString(36)}`;
const [outputTopic, dlqTopic] = [`${applicationId}-enriched`, `${applicationId}-dlq`];
const admin = new Kafka({ brokers, clientId: 'bench-one', logLevel: logLevel.NOTHING }).admin();
await admin.connect();
await admin.createTopics({ waitForLeaders: true, topics: [outputTopic, dlqTopic].map((topic) => ({ topic, numPartitions: PARTITIONS })) });
const stateDir = mkdtempSync(join(tmpdir(), 'bench-one-'));
try {
  const maxInFlight = process.env['BENCH_MAX_IN_FLIGHT'];
  const args = { brokers, applicationId, guarantee: contender.guarantee, variant: contender.variant, ratingsTopic: inputs.ratingsTopic, usersTopic: inputs.usersTopic, outputTopic, dlqTopic, ...(maxInFlight === undefined ? {} : { maxInFlight: Number(maxInFlight) }) };
  const launch = launchOf(contender, args, stateDir, existsSync(ENGINE_BUILD));
  const figures = await meterProcess({
    ...launch,
    args: launch.command === process.execPath ? [...nodeFlags, ...launch.args] : launch.args,
    brokers,
    groupId: applicationId,
    inputTopic: inputs.ratingsTopic,
    transactional: contender.guarantee === 'exactly-once',
    timeoutMs: Number(process.env['BENCH_TIMEOUT_MS'] ?? 600_000),
    onLine: (line) => process.stdout.write(`  > ${line}\n`),
  });
  process.stdout.write(`${JSON.stringify({ ...figures, recordsPerSecond: Math.round(records / figures.seconds), cpuSecondsPerMillion: Math.round((figures.cpuSeconds / records) * 1e7) / 10 })}\n`);
  const verification = await verifyOutput({ brokers, records, outputTopic, dlqTopic, exactlyOnce: contender.guarantee === 'exactly-once' });
  process.stdout.write(`${verification.ok ? 'verified' : 'WRONG'}: ${JSON.stringify(verification)}\n`);
  process.exitCode = verification.ok ? 0 : 1;
} finally {
  const doomed = (await admin.listTopics()).filter((topic) => topic.startsWith(`${applicationId}-`));
  await admin.deleteTopics({ topics: doomed }).catch(() => undefined);
  await admin.disconnect();
  rmSync(stateDir, { recursive: true, force: true });
}
