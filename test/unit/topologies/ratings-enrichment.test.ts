/**
 * The ratings-enrichment topology on the test driver: Avro ratings joined with the users table
 * (updates and tombstones), every bad record dead-lettered with its stage and reason, and
 * `ratings_enriched` decodable with nothing but the published schema file and plain avsc.
 */
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { TopologyError, avroSerdeFromFile, type Serde } from '../../../src/index.ts';
import { TopologyTestDriver } from '../../../src/testing/index.ts';
import { RATING_EVENT_SCHEMA_PATH, type RatingEvent } from '../../../src/connectors/openclaw/rating-event.ts';
import { RATING_ENRICHED_SCHEMA_PATH, ratingsEnrichment, type RatingEnriched, type RatingsEnrichmentOptions } from '../../../topologies/ratings-enrichment.ts';

const ratingSerde: Serde<RatingEvent> = avroSerdeFromFile<RatingEvent>(RATING_EVENT_SCHEMA_PATH);
/** The independent reader: the schema file and avsc, nothing from this project. */
const published = avro.Type.forSchema(JSON.parse(readFileSync(RATING_ENRICHED_SCHEMA_PATH, 'utf8')) as avro.Schema);

function setUp(options: RatingsEnrichmentOptions = {}) {
  const enrichment = ratingsEnrichment({ now: () => 42, ...options });
  const driver = new TopologyTestDriver(enrichment.topology, { applicationId: 'enrich', deadLetterTopic: 'ratings_dlq' });
  const ratings = driver.createInputTopic<string, RatingEvent>('ratings', { keySerde: 'string', valueSerde: ratingSerde });
  const users = driver.createInputTopic<string, Record<string, unknown>>('users', { keySerde: 'string', valueSerde: 'json' });
  const enriched = driver.createOutputTopic<string, Buffer>('ratings_enriched', { keySerde: 'string', valueSerde: 'bytes' });
  const read = () => enriched.readKeyValuesToList().map(({ key, value }) => ({ key, value: published.fromBuffer(value as Buffer) as RatingEnriched }));
  return { driver, ratings, users, read };
}

const rating = (id: string, userId: string, score = 4): RatingEvent => ({ id, productId: 'p1', userId, score, comment: null, timestamp: 1_700_000_000_000 });
const profile = (id: string, name: string) => ({ id, name, email: `${id}@example.com`, tier: 'gold', updatedAt: '2026-11-25T10:00:00.000Z', extra: 'not in the contract' });

describe('ratings enrichment', () => {
  it('joins each rating with the current profile: a later update is seen, a tombstone and an unknown user give null', () => {
    const { ratings, users, read } = setUp();
    users.pipeInput('u1', profile('u1', 'Ada'));
    ratings.pipeInput('r1', rating('r1', 'u1'));
    ratings.pipeInput('r2', rating('r2', 'u-unknown'));
    users.pipeInput('u1', profile('u1', 'Ada Lovelace'));
    ratings.pipeInput('r3', rating('r3', 'u1'));
    users.pipeInput('u1', null);
    ratings.pipeInput('r4', rating('r4', 'u1'));

    const out = read();
    expect(out.map(({ key, value }) => [key, value.userProfile?.name ?? null])).toEqual([
      ['r1', 'Ada'],
      ['r2', null],
      ['r3', 'Ada Lovelace'],
      ['r4', null],
    ]);
    // The whole event, as the schema file reads it: the rating, the contract's profile fields only, enrichedAt.
    expect(out[0]?.value).toEqual({ ...rating('r1', 'u1'), userProfile: { id: 'u1', name: 'Ada', email: 'u1@example.com', tier: 'gold', updatedAt: '2026-11-25T10:00:00.000Z' }, enrichedAt: 42 });
  });

  it('dead-letters a rating that breaks the rules with every reason, and bytes that do not decode, and enriches the rest', () => {
    const { driver, ratings, read } = setUp();
    ratings.pipeInput('bad', { ...rating('bad', ''), score: 9 });
    ratings.pipeRaw(Buffer.from('garbage'), Buffer.from([0xff, 0xff, 0xff]));
    ratings.pipeInput('ok', rating('ok', 'u2'));

    expect(read().map(({ key }) => key)).toEqual(['ok']);
    const dead = driver.deadLetters();
    expect(dead).toHaveLength(2);
    const rejected = dead.find((letter) => letter.key?.toString() === 'bad');
    expect(rejected?.error.errorCode).toBe('RECORD_REJECTED');
    expect(rejected?.error.errorMessage).toContain('userId: must not be empty');
    expect(rejected?.error.errorMessage).toContain('score: 9 is outside 1..5');
    // The original bytes, so the record can be replayed once its cause is fixed.
    expect(rejected?.value).toEqual(ratingSerde.serialize({ ...rating('bad', ''), score: 9 }, 'ratings'));
    const undecodable = dead.find((letter) => letter.key?.toString() === 'garbage');
    expect(undecodable?.error.errorStage).toBe('deserialization');
  });

  it('re-keys by user through a repartition topic and writes ratings_enriched keyed by rating id', () => {
    const { driver } = setUp();
    const text = driver.topology.describe().toString();
    expect(text).toContain('ratings-by-user-repartition');
    expect(text).toContain('ratings_enriched');
  });

  it('reads JSON ratings when told to', () => {
    const enrichment = ratingsEnrichment({ ratingFormat: 'json', now: () => 1 });
    const driver = new TopologyTestDriver(enrichment.topology, { applicationId: 'enrich', deadLetterTopic: 'ratings_dlq' });
    driver.createInputTopic<string, RatingEvent>('ratings', { keySerde: 'string', valueSerde: 'json' }).pipeInput('r1', rating('r1', 'u1', 5));
    const out = driver.createOutputTopic<string, Buffer>('ratings_enriched', { keySerde: 'string', valueSerde: 'bytes' }).readKeyValuesToList();
    expect(out.map(({ value }) => (published.fromBuffer(value as Buffer) as RatingEnriched).score)).toEqual([5]);
  });

  it('refuses a bad option with a message naming it', () => {
    expect(() => ratingsEnrichment({ users: { cacheEntries: 0 } })).toThrow(TopologyError);
    expect(() => ratingsEnrichment({ users: { cacheEntries: 0 } })).toThrow(/users\.cacheEntries/);
    // @ts-expect-error -- a format the topology does not know, as untyped configuration could pass
    expect(() => ratingsEnrichment({ ratingFormat: 'xml' })).toThrow(/ratingFormat/);
  });
});
