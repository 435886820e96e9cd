/**
 * `rating-streams run` (a child process) on a real broker and the run's schema registry: the ingest
 * and the enrichment in one process agree on the Confluent wire format of `ratings`, the OpenClaw
 * key comes from OPENCLAW_API_KEY_FILE and is printed nowhere (debug logs included), and a refused
 * key ends the process with exit code 3.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readTopicToEnd } from '../../../src/cli/dlq/read-topic.ts';
import { startOpenClawSimulator, type OpenClawSimulator } from '../../../src/connectors/openclaw/simulator.ts';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import type { IncomingRecord } from '../../../src/transport/transport.ts';
import { emptyDirectory, runCli, startCli, type CliProcess } from '../../support/cli.ts';
import { hasKafka, hasSchemaRegistry, kafkaBrokers, schemaRegistryUrl, uniqueName } from '../../support/services.ts';

async function until(condition: () => Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

describe.skipIf(!hasKafka || !hasSchemaRegistry)('rating-streams run openclaw-ingest ratings-enrichment', () => {
  const prefix = uniqueName('cli-run');
  const topics = {
    RATINGS_TOPIC: `${prefix}-ratings`,
    RATINGS_DLQ_TOPIC: `${prefix}-dlq`,
    USERS_TOPIC: `${prefix}-users`,
    RATINGS_ENRICHED_TOPIC: `${prefix}-enriched`,
    PRODUCT_STATS_TOPIC: `${prefix}-stats`,
    RATING_ALERTS_TOPIC: `${prefix}-alerts`,
    INGEST_NAME: `${prefix}-ingest`,
    USERS_CDC_NAME: `${prefix}-cdc`,
  };
  const transport = new KafkaTransport({ brokers: kafkaBrokers(), logLevel: 'nothing' });
  const secret = `sk-live-${uniqueName('key')}`;
  const cwd = emptyDirectory();
  const keyFile = join(cwd, 'openclaw-api-key');
  let simulator: OpenClawSimulator;
  const running: CliProcess[] = [];
  const env = () => ({
    KAFKA_BROKERS: kafkaBrokers().join(','),
    ...topics,
    SCHEMA_REGISTRY_URL: schemaRegistryUrl(),
    OPENCLAW_URL: simulator.url,
    OPENCLAW_API_KEY_FILE: keyFile,
    APPLICATION_ID: `${prefix}-enrichment`,
    POLL_INTERVAL_MS: '50',
    OPS_PORT: '0',
    LOG_LEVEL: 'debug',
  });
  const read = async (topic: string): Promise<IncomingRecord[]> => {
    const records: IncomingRecord[] = [];
    await readTopicToEnd(transport, topic, (r) => records.push(r));
    return records;
  };

  beforeAll(async () => {
    simulator = await startOpenClawSimulator({ port: 0, apiKey: secret, total: 40, seed: 11, invalidRate: 0.2 });
    const created = await runCli(['topics', 'create', '--partitions', '2'], { env: { KAFKA_BROKERS: kafkaBrokers().join(','), ...topics } });
    expect(created.code).toBe(0);
  }, 60_000);

  afterEach(() => {
    for (const cli of running.splice(0)) if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
  });

  afterAll(async () => {
    await simulator?.stop();
    const admin = transport.admin();
    await admin.connect();
    const internal = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}-enrichment-`));
    await admin.deleteTopics([...Object.values(topics).slice(0, 6), `${topics.INGEST_NAME}-cursor`, `${topics.USERS_CDC_NAME}-cursor`, ...internal]).catch(() => undefined);
    await admin.disconnect();
  });

  it('reads the key from its file, enriches every valid rating in the registry format, dead-letters the invalid ones, and prints the key nowhere', async () => {
    writeFileSync(keyFile, `${secret}\n`);
    const cli = startCli(['run', 'openclaw-ingest', 'ratings-enrichment'], { cwd, env: env() });
    running.push(cli);
    await cli.running;
    const valid = simulator.ratings().filter((r) => !simulator.isInvalid(r.id)).length;
    const invalid = 40 - valid;
    let enriched: IncomingRecord[] = [];
    await until(
      async () => (enriched = await read(topics.RATINGS_ENRICHED_TOPIC)).length >= valid,
      90_000,
      () => `${valid} enriched ratings (have ${enriched.length}; stderr: ${cli.stderr().slice(-1_000)})`,
    );
    const ratings = await read(topics.RATINGS_TOPIC);
    expect(ratings).toHaveLength(valid);
    // The Confluent wire format: magic byte 0 and a schema id; the enrichment decoded every one of them.
    for (const rating of ratings) expect(rating.value?.[0]).toBe(0);
    expect(new Set(enriched.map((r) => r.key?.toString()))).toEqual(new Set(ratings.map((r) => r.key?.toString())));
    const dead = await read(topics.RATINGS_DLQ_TOPIC);
    expect(dead).toHaveLength(invalid);
    expect(new Set(dead.map((r) => r.headers['dlq.error.code']?.toString()))).toEqual(new Set(['VALIDATION_FAILED']));

    cli.child.kill('SIGTERM');
    const result = await cli.result;
    expect(result.code).toBe(0);
    // Logs were written (at LOG_LEVEL=debug), and not one line of them, or of stderr, holds the key.
    expect(result.stdout.split('\n').filter((line) => line.startsWith('{"level":')).length).toBeGreaterThan(5);
    expect(`${result.stdout}${result.stderr}`).not.toContain(secret);
  }, 150_000);

  it('exits 3 by itself when the API refuses the key, naming the cause and not the key', async () => {
    const wrong = `sk-wrong-${uniqueName('key')}`;
    writeFileSync(keyFile, wrong);
    const cli = startCli(['run', 'openclaw-ingest'], { cwd, env: { ...env(), INGEST_NAME: `${prefix}-ingest-2` } });
    running.push(cli);
    const result = await cli.result;
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^rating-streams: openclaw-ingest stopped: .*40[13]/m);
    expect(`${result.stdout}${result.stderr}`).not.toContain(wrong);
  }, 90_000);
});
