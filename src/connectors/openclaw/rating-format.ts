/**
 * How `ratings` is encoded, from the settings every process that touches it shares: Avro binary
 * or JSON (`RATING_FORMAT`), or, with a schema registry (`SCHEMA_REGISTRY_URL`), Avro in the
 * Confluent wire format with the schema registered as `<ratings topic>-value`. The ingest writes
 * with it and the enrichment and the trends read with it, so given the same settings they agree.
 */
import { confluentAvroSerde } from '../../serdes/confluent-avro-serde.ts';
import type { Serde } from '../../serdes/serde.ts';
import { RATING_EVENT_SCHEMA_PATH, type RatingEvent } from './rating-event.ts';

export interface RatingFormatSettings {
  readonly RATING_FORMAT: 'avro' | 'json';
  readonly SCHEMA_REGISTRY_URL: string | undefined;
  readonly RATINGS_TOPIC: string;
}

/** `'avro'` or `'json'` without a registry; with one, the registered serde (registering the schema, or finding it, first). */
export async function ratingFormatOf(settings: RatingFormatSettings): Promise<'avro' | 'json' | Serde<RatingEvent>> {
  const registryUrl = settings.SCHEMA_REGISTRY_URL;
  if (registryUrl === undefined) return settings.RATING_FORMAT;
  return confluentAvroSerde<RatingEvent>({ registryUrl, schema: RATING_EVENT_SCHEMA_PATH, topic: settings.RATINGS_TOPIC });
}
