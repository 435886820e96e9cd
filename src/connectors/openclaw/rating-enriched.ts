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
 * Keeps only the profile fields the contract has: the `users` topic may carry more (a column
 * added in PostgreSQL) and the schema is what subscribers rely on.
 */
export function toEnrichedProfile(profile: Readonly<Record<string, unknown>> | null): EnrichedUserProfile | null {
  if (profile === null) return null;
  const text = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
  return { id: String(profile['id']), name: text(profile['name']), email: text(profile['email']), tier: text(profile['tier']), updatedAt: text(profile['updatedAt']) };
}
