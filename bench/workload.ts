/**
 * The benchmark's workload, the contract every contender implements (the engine, Kafka Streams in
 * Java, plain kafkajs): what the inputs hold, which ratings are invalid and why, and what the
 * output must be. Everything is a pure function of the record index, so the verifier knows the
 * expected output of every input without keeping the inputs.
 *
 * - `users` topic: USERS profiles, key `u000000`..`u099999` (UTF-8), value JSON
 *   `{"id","name","email","tier","updatedAt"}` (about 110 bytes), 6 partitions.
 * - `ratings` topic: key the rating id `r0000000`.. (UTF-8), value Avro binary of
 *   `topologies/schemas/rating-event.avsc` (about 150 bytes), 6 partitions, keys partitioned by
 *   murmur2 like Java's default partitioner. Every hundredth rating is invalid in one of three ways
 *   (3% in all): score 0 (index % 100 == 13), an empty productId (== 29), bytes that do not decode
 *   (== 41: a valid encoding cut to 5 bytes). The user ids cover 110,000 ids, so about 9% of the
 *   ratings name a user the table does not have (left join: `userProfile` null).
 * - Valid: decodes, `id`/`productId`/`userId` not blank, score 1..5, timestamp >= 0 and at most a
 *   day ahead of now (the rules of `validateRating`).
 * - Output `ratings_enriched`: key the rating id, value Avro binary of
 *   `topologies/schemas/rating-enriched.avsc`: the rating, `userProfile` = `{id: userId, name,
 *   email, tier, updatedAt}` of the user or null, `enrichedAt` the time of the join (not checked).
 * - Dead letters: every invalid rating, once, its original key and value bytes.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';

export const USERS = 100_000;
/** User ids the ratings name: USERS known ones and 10% more that the table never had. */
export const USER_ID_SPACE = 110_000;
export const PARTITIONS = 6;
/** Rating timestamps start here (2025-11-24) and advance 1 ms per rating: all valid, none in the future. */
export const BASE_TIMESTAMP = 1_764_000_000_000;

const schemaPath = (name: string) => fileURLToPath(new URL(`../topologies/schemas/${name}`, import.meta.url));
export const RATING_SCHEMA_PATH = schemaPath('rating-event.avsc');
export const ENRICHED_SCHEMA_PATH = schemaPath('rating-enriched.avsc');
export const ratingType = avro.Type.forSchema(JSON.parse(readFileSync(RATING_SCHEMA_PATH, 'utf8')) as avro.Schema);
export const enrichedType = avro.Type.forSchema(JSON.parse(readFileSync(ENRICHED_SCHEMA_PATH, 'utf8')) as avro.Schema);

export interface Rating {
  readonly id: string;
  readonly productId: string;
  readonly userId: string;
  readonly score: number;
  readonly comment: string | null;
  readonly timestamp: number;
}

export interface Profile {
  readonly id: string;
  readonly name: string;
  readonly email: string;
  readonly tier: string;
  readonly updatedAt: string;
}

export type Invalidity = 'score' | 'product' | 'undecodable';

const COMMENTS = [
  'Arrived two days early, well packed, and it works exactly as the listing described. Would happily buy it again from this shop.',
  'Decent quality for the price, although the colour is a little darker than in the product photos and the strap feels rather thin.',
  'Stopped working after a week; support answered within the hour and sent a replacement without any fuss. The new one works fine.',
  'Good value overall. The manual could be clearer, but setting it up took me only about ten minutes and it has run daily since then.',
] as const;
const TIERS = ['bronze', 'silver', 'gold'] as const;

const pad = (value: number, width: number) => value.toString().padStart(width, '0');

export const userKey = (i: number): string => `u${pad(i, 6)}`;
export const ratingKey = (i: number): string => `r${pad(i, 7)}`;

export function profile(i: number): Profile {
  return {
    id: userKey(i),
    name: `User ${i}`,
    email: `user${i}@example.com`,
    tier: TIERS[i % TIERS.length] as string,
    updatedAt: new Date(BASE_TIMESTAMP - (i % 1000) * 86_400_000).toISOString(),
  };
}

/** Which user rating `i` names: spread over USER_ID_SPACE by a multiplicative hash. */
export function userIndexOf(i: number): number {
  return (Math.imul(i, 2_654_435_761) >>> 0) % USER_ID_SPACE;
}

export function invalidity(i: number): Invalidity | undefined {
  switch (i % 100) {
    case 13:
      return 'score';
    case 29:
      return 'product';
    case 41:
      return 'undecodable';
    default:
      return undefined;
  }
}

export function rating(i: number): Rating {
  const broken = invalidity(i);
  return {
    id: ratingKey(i),
    productId: broken === 'product' ? '' : `p${pad((i * 7_919) % 50_000, 5)}`,
    userId: userKey(userIndexOf(i)),
    score: broken === 'score' ? 0 : 1 + (i % 5),
    comment: i % 10 === 7 ? null : (COMMENTS[i % COMMENTS.length] as string),
    timestamp: BASE_TIMESTAMP + i,
  };
}

/** The value bytes of rating `i` on the ratings topic. */
export function ratingBytes(i: number): Buffer {
  const encoded = ratingType.toBuffer(rating(i));
  return invalidity(i) === 'undecodable' ? encoded.subarray(0, 5) : encoded;
}

export const profileBytes = (i: number): Buffer => Buffer.from(JSON.stringify(profile(i)));

/** The profile the join must attach to rating `i`, or null for a user the table does not hold. */
export function expectedProfile(i: number, users = USERS): Profile | null {
  const user = userIndexOf(i);
  return user < users ? profile(user) : null;
}

/** How many of the first `records` ratings are valid. */
export function validCount(records: number): number {
  let valid = 0;
  for (let i = 0; i < records; i++) if (invalidity(i) === undefined) valid++;
  return valid;
}

/** The index of a rating key, or undefined when it is not one of ours. */
export function indexOfRatingKey(key: string): number | undefined {
  if (!/^r\d{7}$/.test(key)) return undefined;
  return Number(key.slice(1));
}
