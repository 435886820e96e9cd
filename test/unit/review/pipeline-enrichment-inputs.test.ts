/**
 * Hostile review (pipeline): the enrichment topology with odd `users` records and odd ratings.
 *
 * README "Topic contract: ratings_enriched": `userProfile` is "the user's profile as the `users`
 * table held it when the rating was joined; null when the table had no such user";
 * `userProfile.id` is "the user id"; `.name`, `.email`, `.tier` are the profile's columns.
 * "Bad records never stop the pipeline": a record that does not deserialize goes to the dead-letter
 * topic (deserialization stage) and the pipeline carries on.
 */
import avro from 'avsc';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { avroSerdeFromFile, type Serde } from '../../../src/index.ts';
import { TopologyTestDriver } from '../../../src/testing/index.ts';
import { RATING_EVENT_SCHEMA_PATH, type RatingEvent } from '../../../src/connectors/openclaw/rating-event.ts';
import { RATING_ENRICHED_SCHEMA_PATH, ratingsEnrichment, type RatingEnriched } from '../../../topologies/ratings-enrichment.ts';

const ratingSerde: Serde<RatingEvent> = avroSerdeFromFile<RatingEvent>(RATING_EVENT_SCHEMA_PATH);
const published = avro.Type.forSchema(JSON.parse(readFileSync(RATING_ENRICHED_SCHEMA_PATH, 'utf8')) as avro.Schema);

function setUp() {
  const enrichment = ratingsEnrichment({ now: () => 42 });
  const driver = new TopologyTestDriver(enrichment.topology, { applicationId: 'enrich', deadLetterTopic: 'ratings_dlq' });
  const ratings = driver.createInputTopic<string, RatingEvent>('ratings', { keySerde: 'string', valueSerde: ratingSerde });
  const users = driver.createInputTopic<string, unknown>('users', { keySerde: 'string', valueSerde: 'json' });
  const enriched = driver.createOutputTopic<string, Buffer>('ratings_enriched', { keySerde: 'string', valueSerde: 'bytes' });
  const read = () => enriched.readKeyValuesToList().map(({ key, value }) => ({ key, value: published.fromBuffer(value as Buffer) as RatingEnriched }));
  return { driver, ratings, users, read };
}

const rating = (id: string, userId: string): RatingEvent => ({ id, productId: 'p1', userId, score: 4, comment: null, timestamp: 1_700_000_000_000 });

describe('review: enrichment with odd users records', () => {
  // A `users` record that is not JSON (a bad producer, a manual `kafka-console-producer` write).
  it('dead-letters a users record that is not JSON and keeps joining', async () => {
    const { driver, ratings, users, read } = setUp();
    users.pipeInput('u1', { id: 'u1', name: 'Ann', email: null, tier: 'gold', updatedAt: null });
    users.pipeRaw(Buffer.from('u2'), Buffer.from('{not json'));
    ratings.pipeInput('r1', rating('r1', 'u1'));
    ratings.pipeInput('r2', rating('r2', 'u2'));
    await driver.settle();
    const out = read().map(({ key, value }) => [key, value.userProfile?.name ?? null]);
    const dead = driver.deadLetters().map((d) => ({ key: d.key?.toString(), stage: d.error.errorStage }));
    expect({ out, dead }).toEqual({ out: [['r1', 'Ann'], ['r2', null]], dead: [{ key: 'u2', stage: 'deserialization' }] });
  });

  // A `users` value of the wrong shape: valid JSON, but no `id`, or not an object at all. The join
  // hands it to the joiner as a profile, and the contract's `userProfile.id` ("the user id") comes
  // out as the string "undefined"; a string value becomes a profile of nulls with id "undefined".
  it('never publishes a userProfile whose id is not the user id', async () => {
    const { driver, ratings, users, read } = setUp();
    users.pipeInput('u1', { name: 'Ann', tier: 'gold' }); // id column missing
    users.pipeInput('u2', 'deleted'); // not an object
    users.pipeInput('u3', { id: 'u3', name: { first: 'Bo' }, tier: ['gold'] }); // columns not strings
    for (const [id, user] of [['r1', 'u1'], ['r2', 'u2'], ['r3', 'u3']] as const) ratings.pipeInput(id, rating(id, user));
    await driver.settle();
    const profiles = read().map(({ value }) => value.userProfile);
    const dead = driver.deadLetters().map((d) => d.key?.toString());
    // Either the join dead-letters/ignores the malformed profiles, or it publishes the user id; never "undefined" / "[object Object]".
    const garbled = profiles.filter((p) => p !== null && (p.id === 'undefined' || /\[object Object\]|,/.test(`${p.name ?? ''}${p.tier ?? ''}`)));
    expect(garbled).toEqual([]);
    expect(profiles.length + dead.length).toBeGreaterThanOrEqual(3);
  });

  it('handles a tombstone for a never-seen user and a very long user id', async () => {
    const { driver, ratings, users, read } = setUp();
    users.pipeInput('ghost', null);
    const longId = 'u'.repeat(200_000);
    users.pipeInput(longId, { id: longId, name: 'Long', email: null, tier: null, updatedAt: null });
    ratings.pipeInput('r1', rating('r1', 'ghost'));
    ratings.pipeInput('r2', rating('r2', longId));
    await driver.settle();
    expect(read().map(({ key, value }) => [key, value.userProfile?.name ?? null])).toEqual([
      ['r1', null],
      ['r2', 'Long'],
    ]);
    expect(driver.deadLetters()).toEqual([]);
  });
});
