/**
 * Ratings enrichment: `ratings` → deserialize → validate → left-join the `users` table (the
 * profiles the users CDC publishes, kept in PostgreSQL behind an LRU cache, or in memory) →
 * `ratings_enriched` (Avro, `schemas/rating-enriched.avsc`) and the AI-agent HTTP endpoint. Every
 * bad record goes to `ratings_dlq` with its stage and reason: bytes that do not decode
 * (deserialization), a rating that breaks a rule (`RECORD_REJECTED` with every reason), an answer
 * of 4xx from the AI agent (production, with the status and an excerpt).
 *
 * The ratings are keyed by rating id; the join re-keys them by user id through the repartition
 * topic `<applicationId>-ratings-by-user-repartition`, so each meets its user's table partition
 * and several instances split the work. `ratings_enriched` is keyed by rating id again.
 *
 * Run it: `KAFKA_BROKERS=127.0.0.1:9092 DATABASE_URL=postgres://postgres@127.0.0.1:5432/test
 * AI_AGENT_ENDPOINT=http://127.0.0.1:8090/ratings rating-streams run ratings-enrichment` (or `tsx
 * topologies/ratings-enrichment.ts`); the variables it reads are `RATINGS_ENRICHMENT_VARIABLES`
 * (README "Configuration"), with `OPS_PORT` (default 9464, 0 = off) for /metrics, /healthz and
 * /readyz. `RATING_FORMAT` and `SCHEMA_REGISTRY_URL` must be the ingest's: with a registry,
 * `ratings` is read in the Confluent wire format. Without `DATABASE_URL` the table is kept in
 * memory; without `AI_AGENT_ENDPOINT` only the topic is written.
 */
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import { RATING_EVENT_SCHEMA_PATH, validateRating, type RatingEvent, type RatingRules } from '../src/connectors/openclaw/rating-event.ts';
import { ratingEnrichedSerde, toEnrichedProfile, type RatingEnriched } from '../src/connectors/openclaw/rating-enriched.ts';
import type { HttpSinkHandle, HttpSinkOptions } from '../src/connectors/http-sink.ts';
import { ratingFormatOf } from '../src/connectors/openclaw/rating-format.ts';
import { StreamsBuilder, TopologyError, avroSerdeFromFile, jsonSerde, type Serde, type Topology } from '../src/index.ts';
import {
  AI_AGENT_ENDPOINT,
  AI_AGENT_TOKEN,
  APPLICATION_ID,
  DATABASE_URL,
  KAFKA_BROKERS,
  PROCESSING_GUARANTEE,
  RATINGS_DLQ_TOPIC,
  RATINGS_ENRICHED_TOPIC,
  RATINGS_TOPIC,
  RATING_FORMAT,
  SCHEMA_REGISTRY_URL,
  USERS_CACHE_ENTRIES,
  USERS_TOPIC,
  ratingFormatProblems,
  type ConfigOf,
} from '../src/config/index.ts';
import { pipelineProcess, type PipelineProcess, type ProcessHost, type RunningProcess } from '../src/cli/pipeline-process.ts';
import { runStreamsAppProcess } from '../src/cli/streams-app-process.ts';
import { runProcesses } from '../src/cli/process-host.ts';
import type { KeyLoader } from '../src/state/read-through-key-value-store.ts';

export { RATING_ENRICHED_SCHEMA_PATH, ratingEnrichedSerde, ratingEnrichedType, type RatingEnriched, type EnrichedUserProfile } from '../src/connectors/openclaw/rating-enriched.ts';

/** A profile as the users CDC publishes it on `users` (JSON); extra columns are dropped by the join. */
export type UserRow = Readonly<Record<string, unknown>> & { readonly id: string };

export interface RatingsEnrichmentOptions {
  /** Default `ratings`. */
  readonly ratingsTopic?: string;
  /** Default `users` (compacted; JSON values, tombstone on delete). */
  readonly usersTopic?: string;
  /** Default `ratings_enriched`. */
  readonly enrichedTopic?: string;
  /** How `ratings` is encoded: Avro binary (default), JSON, or any serde (e.g. `confluentAvroSerde`). */
  readonly ratingFormat?: 'avro' | 'json' | Serde<RatingEvent>;
  /** How `ratings_enriched` is encoded: default Avro binary of the published schema. */
  readonly enrichedSerde?: Serde<RatingEnriched>;
  /** Where the users table lives: PostgreSQL (a table per partition store) or, without `pool`, memory. */
  readonly users?: {
    readonly pool?: pg.Pool;
    /** LRU entries per partition store in front of the PostgreSQL table; default 10,000. A table in memory has no cache: it would only copy it. */
    readonly cacheEntries?: number;
    /** Reads a user the topic has never carried (e.g. from the source table). */
    readonly loader?: KeyLoader<string, UserRow>;
    /** Default `users`; with PostgreSQL, names the store's tables. */
    readonly storeName?: string;
    /**
     * A global table: every instance restores all of `users` and joins on the rating's user id
     * directly, with no repartition topic (Kafka Streams' GlobalKTable). For a table that fits on
     * every instance; default false (a table partitioned like `users`, ratings re-keyed to meet it).
     */
    readonly global?: boolean;
  };
  /** The AI agent: each enriched rating is POSTed as JSON with `Idempotency-Key: <rating id>`. */
  readonly aiAgent?: Omit<HttpSinkOptions<string, RatingEnriched>, 'idempotencyKey' | 'name'>;
  /** Rules beyond the schema (see `validateRating`). */
  readonly rules?: RatingRules;
  /** The clock of `enrichedAt`; default `Date.now`. */
  readonly now?: () => number;
}

export interface RatingsEnrichment {
  readonly topology: Topology;
  /** The AI-agent sink's live stats, when there is one. */
  readonly aiSink: HttpSinkHandle | undefined;
  /** The users table's store name (for `app.store(name, partition)`). */
  readonly usersStore: string;
}

function ratingSerde(format: RatingsEnrichmentOptions['ratingFormat']): Serde<RatingEvent> {
  if (format === undefined || format === 'avro') return avroSerdeFromFile<RatingEvent>(RATING_EVENT_SCHEMA_PATH);
  if (format === 'json') return jsonSerde<RatingEvent>();
  if (typeof format === 'object' && format !== null && typeof format.deserialize === 'function') return format;
  throw new TopologyError(`ratingsEnrichment(): ratingFormat must be 'avro', 'json' or a serde (got ${String(format)})`, { context: { node: 'ratingsEnrichment' } });
}

/** Builds the enrichment topology (run it with `StreamsApp`, `deadLetterTopic: 'ratings_dlq'`). */
export function ratingsEnrichment(options: RatingsEnrichmentOptions = {}): RatingsEnrichment {
  const cacheEntries = options.users?.cacheEntries ?? 10_000;
  if (!Number.isInteger(cacheEntries) || cacheEntries < 1) {
    throw new TopologyError(`ratingsEnrichment(): users.cacheEntries must be a whole number >= 1 (got ${String(cacheEntries)})`, { context: { node: 'ratingsEnrichment' } });
  }
  const now = options.now ?? Date.now;
  const ratings = ratingSerde(options.ratingFormat);
  const usersStore = options.users?.storeName ?? 'users';
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });

  const usersTable = {
    name: 'users-table',
    valueSerde: 'json',
    store: {
      name: usersStore,
      ...(options.users?.pool === undefined ? {} : { postgres: { pool: options.users.pool }, cache: { maxEntries: cacheEntries } }),
      ...(options.users?.loader === undefined ? {} : { loader: options.users.loader }),
    },
  } as const;
  const usersTopic = options.usersTopic ?? 'users';

  // Bytes that do not decode go to the dead-letter topic (the deserialization policy's default).
  const source = builder.stream<string, RatingEvent>(options.ratingsTopic ?? 'ratings', { name: 'ratings-source', valueSerde: ratings });

  // Decoded is not valid: JSON may hold anything, and Avro cannot say "1..5" or "not empty".
  // Bytes the rating schema's own strict serde decoded have its types: only the rules are left.
  const rules: RatingRules = { ...options.rules, decodedWithSchema: options.ratingFormat === undefined || options.ratingFormat === 'avro' };
  const checked = source.mapValues((rating) => validateRating(rating, rules), { name: 'validate-rating' });
  const { valid, invalid } = checked
    .split({ name: 'rating-check' })
    .branch((_id, check) => check.ok, { name: 'valid' })
    .defaultBranch({ name: 'invalid' });
  invalid.deadLetter({ name: 'invalid-rating', reason: (_id, check) => (check.ok ? 'not a valid rating' : check.reasons.join('; ')) });

  const validRatings = valid.flatMapValues((check) => (check.ok ? [check.rating] : []), { name: 'valid-rating' });
  // The contract's fields, named: a spread would also carry any extra field of a JSON rating, and
  // copying an Avro record object by spread cost more than the rest of the join.
  const join = (rating: RatingEvent, profile: UserRow | null): RatingEnriched => ({
    id: rating.id,
    productId: rating.productId,
    userId: rating.userId,
    score: rating.score,
    comment: rating.comment,
    timestamp: rating.timestamp,
    userProfile: toEnrichedProfile(rating.userId, profile),
    enrichedAt: now(),
  });
  const enriched = options.users?.global
    ? // Keyed by rating id throughout: the global table is looked up by the rating's user id.
      validRatings.leftJoin(builder.globalTable<string, UserRow>(usersTopic, usersTable), (_id, rating) => rating.userId, join, { name: 'join-user' })
    : validRatings
        .selectKey((_id, rating) => rating.userId, { name: 'ratings-by-user' })
        .leftJoin(builder.table<string, UserRow>(usersTopic, usersTable), join, { name: 'join-user', repartitionName: 'ratings-by-user', valueSerde: ratings })
        .selectKey((_userId, event) => event.id, { name: 'by-rating-id' });

  enriched.to(options.enrichedTopic ?? 'ratings_enriched', { name: 'enriched-sink', valueSerde: options.enrichedSerde ?? ratingEnrichedSerde() });
  const aiSink = options.aiAgent === undefined ? undefined : enriched.toHttp({ ...options.aiAgent, name: 'ai-agent', idempotencyKey: (record) => record.value.id });
  return { topology: builder.build(), aiSink, usersStore };
}

/** The variables the enrichment reads (README "Configuration"). */
export const RATINGS_ENRICHMENT_VARIABLES = {
  KAFKA_BROKERS,
  APPLICATION_ID,
  PROCESSING_GUARANTEE,
  RATING_FORMAT,
  SCHEMA_REGISTRY_URL,
  RATINGS_TOPIC,
  USERS_TOPIC,
  RATINGS_ENRICHED_TOPIC,
  RATINGS_DLQ_TOPIC,
  DATABASE_URL,
  USERS_CACHE_ENTRIES,
  AI_AGENT_ENDPOINT,
  AI_AGENT_TOKEN,
};
export type RatingsEnrichmentConfig = ConfigOf<typeof RATINGS_ENRICHMENT_VARIABLES>;

/** The topology `config` describes, without connecting to anything (no pool, no registry: for `describe`). */
export function ratingsEnrichmentFromConfig(config: RatingsEnrichmentConfig, ratingFormat: 'avro' | 'json' | Serde<RatingEvent> = config.RATING_FORMAT, pool?: pg.Pool): RatingsEnrichment {
  const endpoint = config.AI_AGENT_ENDPOINT;
  const token = config.AI_AGENT_TOKEN;
  return ratingsEnrichment({
    ratingFormat,
    ratingsTopic: config.RATINGS_TOPIC,
    usersTopic: config.USERS_TOPIC,
    enrichedTopic: config.RATINGS_ENRICHED_TOPIC,
    users: { ...(pool ? { pool } : {}), cacheEntries: config.USERS_CACHE_ENTRIES },
    ...(endpoint ? { aiAgent: { url: endpoint, ...(token ? { auth: `Bearer ${token}` } : {}) } } : {}),
  });
}

/** Runs the enrichment with `config` in `host`: until stopped, or until the app fails (exit code 1). */
export async function runRatingsEnrichment(config: RatingsEnrichmentConfig, host: ProcessHost): Promise<RunningProcess> {
  const [ops, { default: pgModule }] = await Promise.all([import('../src/observability/index.ts'), import('pg')]);
  const pool = config.DATABASE_URL === undefined ? undefined : new pgModule.Pool({ connectionString: config.DATABASE_URL, max: 4 });
  const { topology, aiSink } = ratingsEnrichmentFromConfig(config, await ratingFormatOf(config), pool);
  if (config.AI_AGENT_ENDPOINT === undefined) host.logger('ratings-enrichment').warn({}, 'AI_AGENT_ENDPOINT is not set: enriched ratings go to the topic only');
  if (aiSink) host.metrics.watchHttpSink(aiSink);
  return runStreamsAppProcess(
    {
      name: 'ratings-enrichment',
      topology,
      brokers: config.KAFKA_BROKERS,
      applicationId: config.APPLICATION_ID,
      processingGuarantee: config.PROCESSING_GUARANTEE,
      deadLetterTopic: config.RATINGS_DLQ_TOPIC,
      secrets: config.AI_AGENT_TOKEN === undefined ? [] : [config.AI_AGENT_TOKEN],
      ready: aiSink ? [ops.httpCircuitClosed(aiSink)] : [],
      afterStop: async () => {
        await pool?.end();
      },
    },
    host,
  );
}

export const ratingsEnrichmentProcess: PipelineProcess = pipelineProcess({
  name: 'ratings-enrichment',
  streamsApp: true,
  variables: RATINGS_ENRICHMENT_VARIABLES,
  refine: ratingFormatProblems,
  topology: (config) => ratingsEnrichmentFromConfig(config).topology,
  run: runRatingsEnrichment,
});

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exit(await runProcesses([ratingsEnrichmentProcess], { label: 'ratings-enrichment' }));
