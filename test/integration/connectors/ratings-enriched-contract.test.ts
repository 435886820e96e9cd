/**
 * The `ratings_enriched` contract on a real broker: ratings and users go through the real
 * enrichment topology (StreamsApp, exactly-once); the raw record bytes read back read_committed are
 * decoded by two readers that know nothing but the schema file, plain avsc and Apache Avro for Java
 * (test/fixtures/java/DecodeEnriched.java), which must agree field by field with each other and
 * with what went in; the typed subscriber hands out the same events. With the topology configured
 * for the Confluent wire format, the subscriber decodes through the registry, and without one it
 * reports each framed record as invalid, saying why.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro, { type Schema } from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchAvroJava } from '../../../scripts/avro-java/fetch.ts';
import { RATING_EVENT_SCHEMA_PATH, type RatingEvent } from '../../../src/connectors/openclaw/rating-event.ts';
import { subscribeRatingsEnriched, type InvalidEnrichedRecord, type RatingsEnrichedSubscription } from '../../../src/connectors/index.ts';
import { StreamsApp, avroSerdeFromFile, confluentAvroSerde, silentLogger, type ConfluentAvroSerde, type Serde } from '../../../src/index.ts';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import type { IncomingRecord } from '../../../src/transport/transport.ts';
import { RATING_ENRICHED_SCHEMA_PATH, ratingsEnrichment, type RatingEnriched } from '../../../topologies/ratings-enrichment.ts';
import { hasKafka, hasSchemaRegistry, kafkaBrokers, schemaRegistryUrl, uniqueName } from '../../support/services.ts';
import { consumeUntil, createTopics, produce } from '../../support/streams-harness.ts';

const DECODER = fileURLToPath(new URL('../../fixtures/java/DecodeEnriched.java', import.meta.url));
const RATINGS = 40;

/** The independent reader: the schema file and avsc, nothing from this project. */
const schemaOnly = avro.Type.forSchema(JSON.parse(readFileSync(RATING_ENRICHED_SCHEMA_PATH, 'utf8')) as Schema);

const users: ReadonlyArray<Record<string, unknown>> = [
  { id: 'u0', name: 'Zoë Ünal ✓', email: 'zoe@example.com', tier: 'gold', updatedAt: '2026-11-25T10:00:00.000Z', phone: 'not in the contract' },
  { id: 'u1', name: null, email: null, tier: null, updatedAt: null },
  { id: 'u2', name: 'Quote " and \\ backslash', email: 'q@example.com', tier: 'silver', updatedAt: '2026-11-25T11:00:00.000Z' },
];

function ratingOf(n: number, now: number): RatingEvent {
  // u3 has no profile: its ratings are enriched with null.
  return { id: `r${n}`, productId: `p${n % 7}`, userId: `u${n % 4}`, score: 1 + (n % 5), comment: n % 3 === 0 ? null : `très bien n°${n}\nline two`, timestamp: now - n * 1_000 };
}

/** Decodes values with Apache Avro for Java, one JSON object per value. */
function decodeWithJava(classpath: string, values: readonly Buffer[]): unknown[] {
  const dir = mkdtempSync(join(tmpdir(), 'decode-enriched-'));
  try {
    const input = join(dir, 'values.hex');
    writeFileSync(input, values.map((value) => value.toString('hex')).join('\n'));
    const run = spawnSync('java', ['-cp', classpath, DECODER, RATING_ENRICHED_SCHEMA_PATH, input], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status, `java failed: ${run.error?.message ?? ''} ${run.stderr}`).toBe(0);
    return run.stdout.trim().split('\n').map((line) => JSON.parse(line) as unknown);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!hasKafka)('ratings_enriched: produced by the real topology, decoded from the schema file alone', () => {
  let classpath: string;
  const apps: StreamsApp[] = [];
  const subscriptions: RatingsEnrichedSubscription[] = [];

  beforeAll(() => {
    // Maven Central on the first run, a marker check afterwards (.ci/run fetches it up front).
    classpath = fetchAvroJava();
  });
  afterAll(async () => {
    await Promise.all(subscriptions.map((s) => s.stop()));
    await Promise.all(apps.map((app) => app.stop()));
  });

  /** Runs the enrichment on fresh topics; users go in before it starts, so every rating meets its profile. */
  async function runEnrichment(options: { readonly enrichedSerde?: Serde<RatingEnriched> } = {}) {
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'enriched-contract', logLevel: 'nothing' });
    const topics = { ratings: uniqueName('ratings'), users: uniqueName('users'), enriched: uniqueName('ratings-enriched'), dlq: uniqueName('ratings-dlq') };
    await createTopics(transport, Object.values(topics).map((topic) => ({ topic, partitions: 2 })));
    const { topology } = ratingsEnrichment({ ratingsTopic: topics.ratings, usersTopic: topics.users, enrichedTopic: topics.enriched, ...options });
    const app = new StreamsApp(topology, { applicationId: uniqueName('enriched-contract'), transport, processingGuarantee: 'exactly-once', deadLetterTopic: topics.dlq, logger: silentLogger() });
    apps.push(app);
    await produce(transport, users.map((user) => ({ topic: topics.users, key: Buffer.from(String(user['id'])), value: Buffer.from(JSON.stringify(user)) })));
    await app.start();
    const now = Date.now();
    const ratings = Array.from({ length: RATINGS }, (_, n) => ratingOf(n, now));
    const ratingSerde = avroSerdeFromFile<RatingEvent>(RATING_EVENT_SCHEMA_PATH);
    await produce(transport, ratings.map((rating) => ({ topic: topics.ratings, key: Buffer.from(rating.id), value: ratingSerde.serialize(rating, topics.ratings) })));
    const records: IncomingRecord[] = await consumeUntil(transport, topics.enriched, (got) => got.length >= RATINGS, { timeoutMs: 60_000 });
    expect(records).toHaveLength(RATINGS);
    return { topics, now, ratings, records };
  }

  /** Reads the topic with the typed subscriber until every rating id was seen. */
  async function subscribeAll(topic: string, registry?: ConfluentAvroSerde<RatingEnriched>) {
    const seen = new Map<string, RatingEnriched>();
    const invalid: InvalidEnrichedRecord[] = [];
    subscriptions.push(
      await subscribeRatingsEnriched({
        brokers: kafkaBrokers(),
        groupId: uniqueName('enriched-subscriber'),
        topic,
        fromBeginning: true,
        ...(registry === undefined ? {} : { registry }),
        onEvent: (event, meta) => {
          expect(meta.key).toBe(event.id);
          seen.set(event.id, event);
        },
        onInvalid: (record) => void invalid.push(record),
      }),
    );
    await expect.poll(() => seen.size + invalid.length, { timeout: 30_000 }).toBe(RATINGS);
    return { seen, invalid };
  }

  it('plain avsc and Java decode every record the same, field by field, and it is what went in', async () => {
    const { topics, now, ratings, records } = await runEnrichment();
    const values = records.map((record) => record.value ?? Buffer.alloc(0));
    const byAvsc = values.map((value) => schemaOnly.fromBuffer(value) as RatingEnriched);
    const byJava = decodeWithJava(classpath, values);

    expect(byJava).toHaveLength(RATINGS);
    const fields = (JSON.parse(readFileSync(RATING_ENRICHED_SCHEMA_PATH, 'utf8')) as { fields: Array<{ name: string }> }).fields.map((field) => field.name);
    byAvsc.forEach((event, i) => {
      const java = byJava[i] as Record<string, unknown>;
      expect(Object.keys(java)).toEqual(fields);
      for (const field of fields) expect(java[field], `record ${event.id}, field ${field}`).toEqual((event as unknown as Record<string, unknown>)[field]);
      // Keyed by rating id (UTF-8).
      expect(records[i]?.key?.toString('utf8')).toBe(event.id);
    });

    // And both say what went in: the rating, the contract's profile fields of its user, when it was joined.
    const expected = new Map(ratings.map((rating) => [rating.id, rating]));
    for (const event of byAvsc) {
      const { userProfile, enrichedAt, ...rating } = event;
      expect(rating).toEqual(expected.get(event.id));
      const user = users.find((u) => u['id'] === event.userId);
      expect(userProfile).toEqual(user === undefined ? null : { id: user['id'], name: user['name'], email: user['email'], tier: user['tier'], updatedAt: user['updatedAt'] });
      expect(enrichedAt).toBeGreaterThanOrEqual(now);
    }
    expect(new Set(byAvsc.map((event) => event.id)).size).toBe(RATINGS);

    // The typed subscriber reads the same events, read_committed, and finds nothing invalid.
    const { seen, invalid } = await subscribeAll(topics.enriched);
    expect(invalid).toEqual([]);
    for (const event of byAvsc) expect(seen.get(event.id)).toEqual(event);
  });

  it.skipIf(!hasSchemaRegistry)('with a registry serde in the topology: the subscriber decodes through the registry, and without it reports every record as framed', async () => {
    const registered = () => confluentAvroSerde<RatingEnriched>({ registryUrl: schemaRegistryUrl(), schema: RATING_ENRICHED_SCHEMA_PATH, subject: `${uniqueName('enriched')}-value` });
    const { topics, ratings, records } = await runEnrichment({ enrichedSerde: await registered() });
    expect(records.every((record) => record.value?.[0] === 0)).toBe(true);

    const framed = await subscribeAll(topics.enriched, await confluentAvroSerde<RatingEnriched>({ registryUrl: schemaRegistryUrl(), schema: RATING_ENRICHED_SCHEMA_PATH, topic: topics.enriched }));
    expect(framed.invalid).toEqual([]);
    for (const rating of ratings) expect(framed.seen.get(rating.id)).toMatchObject(rating);

    const plain = await subscribeAll(topics.enriched);
    expect(plain.seen.size).toBe(0);
    expect(plain.invalid.map((record) => record.reason)).toEqual(Array.from({ length: RATINGS }, () => expect.stringMatching(/Confluent wire format \(magic byte 0, schema id \d+\): subscribe with `registry`/)));
  });
});
