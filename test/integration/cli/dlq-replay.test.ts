/**
 * The dead-letter round trip an operator does with `rating-streams` (child processes) on a real
 * broker: the real enrichment (`run ratings-enrichment`) dead-letters bad ratings to a topic of its
 * own; `dlq inspect` finds them by stage, code, reason and time; after the cause is "fixed" (a
 * consumer that accepts those scores, run as a topology module with `run <file>`), `dlq replay`
 * re-drives exactly the selected ones with their original bytes and headers, and leaves the
 * dead-letter topic as it was.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTopicToEnd } from '../../../src/cli/dlq/read-topic.ts';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import type { IncomingRecord, OutgoingRecord } from '../../../src/transport/transport.ts';
import { emptyDirectory, runCli, startCli, type CliProcess, pipelineTopicNames } from '../../support/cli.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';

interface DeadLetterJson {
  readonly partition: number;
  readonly offset: number;
  readonly stage: string;
  readonly code: string;
  readonly reason: string;
  readonly key: string;
  readonly source: { readonly topic: string };
}

interface Inspection {
  readonly scanned: number;
  readonly matched: number;
  readonly deadLetters: readonly DeadLetterJson[];
}

/** Polls an asynchronous condition every 500 ms until it holds. */
async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

describe.skipIf(!hasKafka)('rating-streams dlq inspect and dlq replay', () => {
  const prefix = uniqueName('cli-dlq');
  const topics = pipelineTopicNames(prefix);
  const fixed = `${prefix}-fixed`;
  const accepted = `${prefix}-accepted`;
  const env = { KAFKA_BROKERS: kafkaBrokers().join(','), ...topics, LOG_LEVEL: 'silent', OPS_PORT: '0', RATING_FORMAT: 'json' };
  const transport = new KafkaTransport({ brokers: kafkaBrokers(), logLevel: 'nothing' });
  const running: CliProcess[] = [];
  const base = Date.now() - 60_000;

  const rating = (id: string, score: number) => ({ id, userId: `u-${id}`, productId: 'p1', score, comment: null, timestamp: base });
  const record = (id: string, value: Buffer, i: number): OutgoingRecord => ({
    topic: topics.RATINGS_TOPIC,
    key: Buffer.from(id),
    value,
    headers: { 'correlation-id': Buffer.from(`corr-${id}`), 'x-trace': Buffer.from([0, 1, 2, i]) },
    timestamp: base + i,
  });
  const good = ['g1', 'g2', 'g3'].map((id, i) => record(id, Buffer.from(JSON.stringify(rating(id, 4))), i));
  const badScore = ['s1', 's2', 's3', 's4'].map((id, i) => record(id, Buffer.from(JSON.stringify(rating(id, i % 2 === 0 ? 7 : 0))), 10 + i));
  const notJson = ['j1', 'j2'].map((id, i) => record(id, Buffer.from(`{ not json ${id}`), 20 + i));
  let startedAt: string;

  const read = async (topic: string): Promise<IncomingRecord[]> => {
    const records: IncomingRecord[] = [];
    await readTopicToEnd(transport, topic, (r) => records.push(r));
    return records;
  };
  const inspect = async (...args: string[]): Promise<Inspection> => {
    const result = await runCli(['dlq', 'inspect', '--json', ...args], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as Inspection;
  };

  beforeAll(async () => {
    const created = await runCli(['topics', 'create', '--partitions', '2'], { env });
    expect(created.code).toBe(0);
    const admin = transport.admin();
    await admin.connect();
    await admin.createTopics([
      { topic: fixed, partitions: 2 },
      { topic: accepted, partitions: 2 },
    ]);
    await admin.disconnect();
    startedAt = new Date(Date.now() - 1_000).toISOString();
    const producer = transport.producer();
    await producer.connect();
    await producer.send([...good, ...badScore, ...notJson]);
    await producer.disconnect();

    const enrichment = startCli(['run', 'ratings-enrichment'], { env: { ...env, APPLICATION_ID: `${prefix}-enrichment` } });
    running.push(enrichment);
    await enrichment.running;
    await until(async () => (await read(topics.RATINGS_DLQ_TOPIC)).length >= 6 && (await read(topics.RATINGS_ENRICHED_TOPIC)).length >= 3, 90_000, 'the enrichment to write 6 dead letters and 3 enriched ratings');
    // SIGTERM stops it cleanly: exit code 0.
    enrichment.child.kill('SIGTERM');
    expect((await enrichment.result).code).toBe(0);
  }, 150_000);

  afterAll(async () => {
    for (const cli of running) if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
    const admin = transport.admin();
    await admin.connect();
    await admin.deleteTopics([...Object.values(topics).slice(0, 6), `${topics.INGEST_NAME}-cursor`, `${topics.USERS_CDC_NAME}-cursor`, fixed, accepted]).catch(() => undefined);
    await admin.disconnect();
  });

  it('dlq inspect lists the dead letters of each stage and selects them by stage, code, reason, time and limit', async () => {
    const everything = await inspect();
    expect(everything.scanned).toBe(6);
    expect(everything.matched).toBe(6);
    expect(everything.deadLetters.map((d) => d.key).sort()).toEqual(['j1', 'j2', 's1', 's2', 's3', 's4']);
    for (const letter of everything.deadLetters) expect(letter.source.topic).toBe(topics.RATINGS_TOPIC);

    const rejected = await inspect('--stage', 'processing');
    expect(rejected.deadLetters.map((d) => d.key).sort()).toEqual(['s1', 's2', 's3', 's4']);
    expect(new Set(rejected.deadLetters.map((d) => d.code))).toEqual(new Set(['RECORD_REJECTED']));
    expect(rejected.deadLetters.find((d) => d.key === 's1')?.reason).toMatch(/score.*7/);

    const undecodable = await inspect('--code', 'DESERIALIZATION_FAILED');
    expect(undecodable.deadLetters.map((d) => d.key).sort()).toEqual(['j1', 'j2']);
    expect(new Set(undecodable.deadLetters.map((d) => d.stage))).toEqual(new Set(['deserialization']));

    expect((await inspect('--reason', 'score: 0 ')).deadLetters.map((d) => d.key).sort()).toEqual(['s2', 's4']);
    expect((await inspect('--since', startedAt, '--stage', 'deserialization,processing')).matched).toBe(6);
    expect((await inspect('--until', startedAt)).matched).toBe(0);
    const first = await inspect('--limit', '2');
    expect(first.matched).toBe(6);
    expect(first.deadLetters).toHaveLength(2);

    const text = await runCli(['dlq', 'inspect', '--code', 'RECORD_REJECTED'], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^PARTITION\/OFFSET +TIME +STAGE +CODE +SOURCE TOPIC\/PARTITION\/OFFSET +KEY +REASON$/m);
    expect(text.stdout.match(/ processing +RECORD_REJECTED /g)).toHaveLength(4);
    expect(text.stdout).toContain(`4 of 6 dead letters in ${topics.RATINGS_DLQ_TOPIC} match`);
  }, 60_000);

  it('dlq replay re-drives the selected records with their original bytes and headers once the cause is fixed, and only reads the dead-letter topic', async () => {
    const cwd = emptyDirectory();
    // The fix: a consumer that accepts any score (a topology module run by the CLI).
    const builder = new URL('../../../src/dsl/streams-builder.ts', import.meta.url).href;
    writeFileSync(
      join(cwd, 'accept-any-score.ts'),
      `import { StreamsBuilder } from ${JSON.stringify(builder)};\n` +
        `const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });\n` +
        `builder.stream<string, { score: number }>(${JSON.stringify(fixed)}).mapValues((r) => ({ ...r, accepted: true })).to(${JSON.stringify(accepted)});\n` +
        `export const topology = builder.build();\n`,
    );
    const consumer = startCli(['run', './accept-any-score.ts'], { cwd, env: { ...env, APPLICATION_ID: `${prefix}-accept`, PROCESSING_GUARANTEE: 'at-least-once' } });
    running.push(consumer);
    await consumer.running;

    const dryRun = await runCli(['dlq', 'replay', '--to', fixed, '--stage', 'processing', '--dry-run'], { env });
    expect(dryRun.code).toBe(0);
    expect(dryRun.stdout).toContain(`would replay 4 dead letters from ${topics.RATINGS_DLQ_TOPIC} to ${fixed} (dry run: nothing written)`);
    expect(await read(fixed)).toEqual([]);

    const dead = await inspect('--stage', 'processing');
    const replay = await runCli(['dlq', 'replay', '--to', fixed, '--stage', 'processing'], { env });
    expect(replay.stderr).toBe('');
    expect(replay.code).toBe(0);
    expect(replay.stdout).toBe(`replayed 4 dead letters from ${topics.RATINGS_DLQ_TOPIC} to ${fixed}\n`);

    const replayed = await read(fixed);
    expect(replayed.map((r) => r.key?.toString()).sort()).toEqual(['s1', 's2', 's3', 's4']);
    for (const original of badScore) {
      const id = original.key?.toString() ?? '';
      const copy = replayed.find((r) => r.key?.toString() === id);
      const letter = dead.deadLetters.find((d) => d.key === id);
      expect(copy?.value, id).toEqual(original.value);
      expect(copy?.timestamp, id).toBe(original.timestamp);
      expect(copy?.headers, id).toEqual({ ...original.headers, 'dlq.replayed-from': Buffer.from(`${topics.RATINGS_DLQ_TOPIC}/${letter?.partition}/${letter?.offset}`) });
    }

    // The fixed consumer took every replayed rating.
    await until(async () => (await read(accepted)).length >= 4, 60_000, 'the fixed consumer to accept the 4 replayed ratings');
    const taken = await read(accepted);
    expect(taken.map((r) => r.key?.toString()).sort()).toEqual(['s1', 's2', 's3', 's4']);
    expect(taken.every((r) => (JSON.parse(r.value?.toString() ?? '{}') as { accepted?: boolean }).accepted === true)).toBe(true);

    // The dead-letter topic is as it was: still 6 records, and inspecting again finds them all.
    expect((await inspect()).matched).toBe(6);
    consumer.child.kill('SIGTERM');
    expect((await consumer.result).code).toBe(0);
  }, 120_000);
});
