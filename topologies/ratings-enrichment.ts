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
 * AI_AGENT_ENDPOINT=http://127.0.0.1:8090/ratings tsx topologies/ratings-enrichment.ts` (optional:
 * `AI_AGENT_TOKEN` sent as `Authorization: Bearer …`, `PROCESSING_GUARANTEE` (default
 * exactly-once), `RATING_FORMAT` (avro|json, as the ingest writes), `USERS_CACHE_ENTRIES`,
 * `APPLICATION_ID`, `OPS_PORT` (default 9464, 0 = off) for /metrics, /healthz and /readyz). Without
 * `DATABASE_URL` the table is kept in memory; without `AI_AGENT_ENDPOINT` only the topic is written.
 */
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import { RATING_EVENT_SCHEMA_PATH, validateRating, type RatingEvent, type RatingRules } from '../src/connectors/openclaw/rating-event.ts';
import { ratingEnrichedSerde, toEnrichedProfile, type RatingEnriched } from '../src/connectors/openclaw/rating-enriched.ts';
import type { HttpSinkHandle, HttpSinkOptions } from '../src/connectors/http-sink.ts';
import { StreamsBuilder, TopologyError, avroSerdeFromFile, jsonSerde, type Serde, type Topology } from '../src/index.ts';
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
    /** LRU entries per partition store in front of the table; default 10,000. */
    readonly cacheEntries?: number;
    /** Reads a user the topic has never carried (e.g. from the source table). */
    readonly loader?: KeyLoader<string, UserRow>;
    /** Default `users`; with PostgreSQL, names the store's tables. */
    readonly storeName?: string;
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

  const users = builder.table<string, UserRow>(options.usersTopic ?? 'users', {
    name: 'users-table',
    valueSerde: 'json',
    store: {
      name: usersStore,
      cache: { maxEntries: cacheEntries },
      ...(options.users?.pool === undefined ? {} : { postgres: { pool: options.users.pool } }),
      ...(options.users?.loader === undefined ? {} : { loader: options.users.loader }),
    },
  });

  // Bytes that do not decode go to the dead-letter topic (the deserialization policy's default).
  const source = builder.stream<string, RatingEvent>(options.ratingsTopic ?? 'ratings', { name: 'ratings-source', valueSerde: ratings });

  // Decoded is not valid: JSON may hold anything, and Avro cannot say "1..5" or "not empty".
  const checked = source.mapValues((rating) => validateRating(rating, options.rules), { name: 'validate-rating' });
  const { valid, invalid } = checked
    .split({ name: 'rating-check' })
    .branch((_id, check) => check.ok, { name: 'valid' })
    .defaultBranch({ name: 'invalid' });
  invalid.deadLetter({ name: 'invalid-rating', reason: (_id, check) => (check.ok ? 'not a valid rating' : check.reasons.join('; ')) });

  const enriched = valid
    .flatMapValues((check) => (check.ok ? [check.rating] : []), { name: 'valid-rating' })
    .selectKey((_id, rating) => rating.userId, { name: 'ratings-by-user' })
    .leftJoin(
      users,
      (rating, profile): RatingEnriched => ({ ...rating, userProfile: toEnrichedProfile(rating.userId, profile), enrichedAt: now() }),
      { name: 'join-user', repartitionName: 'ratings-by-user', valueSerde: ratings },
    )
    .selectKey((_userId, event) => event.id, { name: 'by-rating-id' });

  enriched.to(options.enrichedTopic ?? 'ratings_enriched', { name: 'enriched-sink', valueSerde: options.enrichedSerde ?? ratingEnrichedSerde() });
  const aiSink = options.aiAgent === undefined ? undefined : enriched.toHttp({ ...options.aiAgent, name: 'ai-agent', idempotencyKey: (record) => record.value.id });
  return { topology: builder.build(), aiSink, usersStore };
}

/** Runs the enrichment from the environment until SIGTERM / SIGINT. */
async function main(): Promise<void> {
  const [{ KafkaTransport }, { StreamsApp, defaultLogger }, ops, { default: pgModule }] = await Promise.all([
    import('../src/transport/kafka/index.ts'),
    import('../src/index.ts'),
    import('../src/observability/index.ts'),
    import('pg'),
  ]);
  const env = process.env;
  const guarantee = env['PROCESSING_GUARANTEE'] ?? 'exactly-once';
  const format = env['RATING_FORMAT'] ?? 'avro';
  if ((guarantee !== 'exactly-once' && guarantee !== 'at-least-once') || (format !== 'avro' && format !== 'json')) {
    process.stderr.write(`ratings-enrichment: PROCESSING_GUARANTEE must be exactly-once or at-least-once (got ${guarantee}), RATING_FORMAT avro or json (got ${format})\n`);
    process.exit(2);
  }
  const pool = env['DATABASE_URL'] ? new pgModule.Pool({ connectionString: env['DATABASE_URL'], max: 4 }) : undefined;
  const token = env['AI_AGENT_TOKEN'];
  const endpoint = env['AI_AGENT_ENDPOINT'];
  const { topology, aiSink } = ratingsEnrichment({
    ratingFormat: format,
    users: { ...(pool ? { pool } : {}), ...(env['USERS_CACHE_ENTRIES'] ? { cacheEntries: Number(env['USERS_CACHE_ENTRIES']) } : {}) },
    ...(endpoint ? { aiAgent: { url: endpoint, ...(token ? { auth: `Bearer ${token}` } : {}) } } : {}),
  });
  const logger = defaultLogger('ratings-enrichment', { secrets: token ? [token] : [] });
  if (!endpoint) logger.warn({}, 'AI_AGENT_ENDPOINT is not set: enriched ratings go to the topic only');
  const transport = new KafkaTransport({ brokers: (env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(','), clientId: 'ratings-enrichment', logLevel: 'nothing' });
  const app = new StreamsApp(topology, {
    applicationId: env['APPLICATION_ID'] ?? 'ratings-enrichment',
    transport,
    processingGuarantee: guarantee,
    deadLetterTopic: env['RATINGS_DLQ_TOPIC'] ?? 'ratings_dlq',
    logger,
    secrets: token ? [token] : [],
  });
  // Started before the app, so /readyz says 503 while the users table is restored.
  const metrics = new ops.StreamsMetrics({ processMetrics: true, apps: [app.applicationId] });
  metrics.watchApp(app);
  metrics.watchStores(() => app.storeStats(), app.applicationId);
  if (aiSink) metrics.watchHttpSink(aiSink);
  const server = await ops.startOpsServerFromEnv({
    logger,
    metrics,
    checks: {
      live: [ops.appAlive(app, token ? [token] : [])],
      ready: [ops.appReady(app), ops.brokerConnected(transport), ...(aiSink ? [ops.httpCircuitClosed(aiSink)] : [])],
    },
  });
  const shutdown = () =>
    void app
      .stop()
      .finally(() => server?.close())
      .finally(() => void (pool?.end() ?? Promise.resolve()).finally(() => process.exit(app.state === 'failed' ? 1 : 0)));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, shutdown);
  app.onStateChange((state) => {
    if (state === 'failed') shutdown();
  });
  await app.start();
  process.stdout.write('RUNNING\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
