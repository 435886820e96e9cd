/**
 * The `ratings_enriched` contract: the `RatingEnriched` event (a rating plus its user's profile and
 * when it was joined), its Avro schema (`topologies/schemas/rating-enriched.avsc`, the published,
 * versioned contract), and a serde for it. Key: the rating id (UTF-8). Value: Avro binary of the
 * schema, or the Confluent wire format when the topology is given a registry serde.
 */
import { fileURLToPath } from 'node:url';
import type { Type } from 'avsc';
import { avroSerde } from '../../serdes/avro-serde.ts';
import { loadAvroSchema } from '../../serdes/avro-schema.ts';
import type { Serde } from '../../serdes/serde.ts';
import type { RatingEvent } from './rating-event.ts';

/** A user's profile as the `users` table holds it (the value the users CDC publishes). */
export interface EnrichedUserProfile {
  readonly id: string;
  readonly name: string | null;
  readonly email: string | null;
  readonly tier: string | null;
  /** When the row last changed in PostgreSQL, ISO 8601. */
  readonly updatedAt: string | null;
}

/** One record of `ratings_enriched`. */
export interface RatingEnriched extends RatingEvent {
  /** The profile when the rating was joined; `null` when the user is unknown or deleted. */
  readonly userProfile: EnrichedUserProfile | null;
  /** When the rating was joined, epoch milliseconds. */
  readonly enrichedAt: number;
}

/** Path of the schema file. */
export const RATING_ENRICHED_SCHEMA_PATH = fileURLToPath(new URL('../../../topologies/schemas/rating-enriched.avsc', import.meta.url));

let schemaType: Type | undefined;

/** The avsc type of the schema file (loaded once). */
export function ratingEnrichedType(): Type {
  schemaType ??= loadAvroSchema(RATING_ENRICHED_SCHEMA_PATH);
  return schemaType;
}

/** Avro binary of the published schema; a value that does not fit it fails to serialize, naming the fields. */
export function ratingEnrichedSerde(): Serde<RatingEnriched> {
  return avroSerde<RatingEnriched>(ratingEnrichedType());
}

/**
 * The profile as the contract has it, for the user `userId`: only the contract's fields (the `users`
 * topic may carry more, e.g. a column added in PostgreSQL), the id always the user's (a `users`
 * value with another or no `id` is still that key's row), and a field that is not a string is
 * `null` rather than a made-up text like `[object Object]`.
 */
export function toEnrichedProfile(userId: string, profile: unknown): EnrichedUserProfile | null {
  if (profile === null || profile === undefined) return null;
  const fields = typeof profile === 'object' && !Array.isArray(profile) ? (profile as Readonly<Record<string, unknown>>) : {};
  const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
  return { id: userId, name: text(fields['name']), email: text(fields['email']), tier: text(fields['tier']), updatedAt: text(fields['updatedAt']) };
}
