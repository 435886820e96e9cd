/**
 * Every environment variable the pipeline's processes and the CLI read, declared once. A process
 * picks the ones it needs (see `topologies/*.ts`); `CATALOG` documents them all (README
 * "Configuration", `.env.example`), and a unit test keeps the three in step.
 */
import { brokerList, finiteNumber, httpUrl, identifier, integer, oneOf, postgresUrl, text, topicName } from './parsers.ts';
import { defaultedVariable, optionalVariable, requiredVariable, type Variable, type VariableDoc } from './variable.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const topic = (name: string, fallback: string, meaning: string) =>
  defaultedVariable(name, topicName, fallback, { meaning, expected: "a Kafka topic name (letters, digits, '.', '_', '-')" });

// Shared by every process.
export const KAFKA_BROKERS = defaultedVariable('KAFKA_BROKERS', brokerList, '127.0.0.1:9092', {
  meaning: 'Kafka bootstrap servers',
  expected: 'host:port pairs separated by commas, e.g. 127.0.0.1:9092',
});
export const LOG_LEVEL = defaultedVariable('LOG_LEVEL', oneOf(LOG_LEVELS), 'info', {
  meaning: 'Level of the JSON log lines on stdout',
  expected: LOG_LEVELS.join(', ').replace(/, (\w+)$/, ' or $1'),
});
export const OPS_PORT = defaultedVariable('OPS_PORT', integer(0, 65_535), '9464', {
  meaning: 'Port of the ops server (/metrics, /healthz, /readyz); 0 turns it off. Unset and taken: the process runs without one',
  expected: 'a port number from 0 to 65535, 0 for no ops server',
});
export const OPS_HOST = defaultedVariable('OPS_HOST', text, '0.0.0.0', {
  meaning: 'Address the ops server listens on',
  expected: 'an IP address or host name',
});

// Topics.
export const RATINGS_TOPIC = topic('RATINGS_TOPIC', 'ratings', 'Validated ratings (written by the ingest, read by the enrichment and the trends)');
export const RATINGS_DLQ_TOPIC = topic('RATINGS_DLQ_TOPIC', 'ratings_dlq', 'Dead letters of every stage (`dlq inspect` and `dlq replay` read it)');
export const USERS_TOPIC = topic('USERS_TOPIC', 'users', 'Compacted user profiles (written by the users CDC, joined by the enrichment)');
export const RATINGS_ENRICHED_TOPIC = topic('RATINGS_ENRICHED_TOPIC', 'ratings_enriched', 'Enriched ratings (Avro, schemas/rating-enriched.avsc)');
export const PRODUCT_STATS_TOPIC = topic('PRODUCT_STATS_TOPIC', 'product_rating_stats', 'Per-product one-minute statistics of the trends');
export const RATING_ALERTS_TOPIC = topic('RATING_ALERTS_TOPIC', 'rating_alerts', 'Low-average alerts of the trends');
export const RATINGS_DLQ_RETENTION_MS = defaultedVariable('RATINGS_DLQ_RETENTION_MS', integer(1), '1209600000', {
  meaning: '`retention.ms` that `topics create` gives the dead-letter topic (default 14 days)',
  expected: 'a whole number of milliseconds >= 1',
});

// Formats.
export const RATING_FORMAT = defaultedVariable('RATING_FORMAT', oneOf(['avro', 'json']), 'avro', {
  meaning: 'Value format of `ratings`: Avro binary of schemas/rating-event.avsc, or JSON. The ingest, the enrichment and the trends must agree',
  expected: 'avro or json',
});
export const SCHEMA_REGISTRY_URL = optionalVariable('SCHEMA_REGISTRY_URL', httpUrl, {
  meaning: 'Confluent-compatible schema registry: when set, `ratings` is Avro in the Confluent wire format, the schema registered as `<RATINGS_TOPIC>-value`',
  expected: 'an http(s) URL, e.g. http://127.0.0.1:8081/apis/ccompat/v7',
  secret: true,
});

// OpenClaw ingest.
export const OPENCLAW_URL = requiredVariable('OPENCLAW_URL', httpUrl, {
  meaning: 'Base URL of the OpenClaw Rating API (the ingest polls `<url>/api/ratings`)',
  expected: 'an http(s) URL, e.g. http://127.0.0.1:8080',
  example: 'http://127.0.0.1:8080',
});
export const OPENCLAW_API_KEY = requiredVariable('OPENCLAW_API_KEY', text, {
  meaning: 'Bearer key of the OpenClaw Rating API',
  expected: "the OpenClaw API's bearer key",
  secret: true,
  example: 'dev-key',
});
export const INGEST_NAME = defaultedVariable('INGEST_NAME', identifier, 'openclaw-ingest', {
  meaning: 'Names the ingest: transactional id, cursor key, cursor topic `<name>-cursor`, logs',
  expected: "letters, digits, '.', '_' and '-'",
});
export const POLL_INTERVAL_MS = defaultedVariable('POLL_INTERVAL_MS', integer(1), '1000', {
  meaning: 'Pause between polls once the ingest has caught up',
  expected: 'a whole number of milliseconds >= 1',
});
export const POLL_PAGE_SIZE = defaultedVariable('POLL_PAGE_SIZE', integer(1, 100_000), '100', {
  meaning: 'Ratings asked for per request',
  expected: 'a whole number from 1 to 100000',
});
export const ALERT_WEBHOOK_URL = optionalVariable('ALERT_WEBHOOK_URL', httpUrl, {
  meaning: 'Slack-compatible webhook for dead-letter rate alerts of the ingest; unset: no alerts',
  expected: 'an http(s) URL',
  secret: true,
});

// Users CDC and the enrichment's users store.
const databaseUrl = { meaning: '', expected: 'a postgres:// or postgresql:// URL', secret: true, example: 'postgres://postgres:postgres@127.0.0.1:5432/postgres' };
export const DATABASE_URL = optionalVariable('DATABASE_URL', postgresUrl, {
  ...databaseUrl,
  meaning: 'PostgreSQL: the source `users` table of the users CDC (required there) and the enrichment\'s users store (unset: kept in memory)',
});
/** `DATABASE_URL` where a process cannot do without it (the users CDC). */
export const DATABASE_URL_REQUIRED = requiredVariable('DATABASE_URL', postgresUrl, { ...databaseUrl, meaning: DATABASE_URL.meaning });
export const USERS_CDC_NAME = defaultedVariable('USERS_CDC_NAME', identifier, 'users-cdc', {
  meaning: 'Names the users CDC: transactional id, cursor key, cursor topic `<name>-cursor`',
  expected: "letters, digits, '.', '_' and '-'",
});
export const USERS_CDC_BATCH_SIZE = defaultedVariable('USERS_CDC_BATCH_SIZE', integer(1), '500', {
  meaning: 'Changes per Kafka transaction of the users CDC',
  expected: 'a whole number >= 1',
});
export const USERS_CDC_INTERVAL_MS = defaultedVariable('USERS_CDC_INTERVAL_MS', integer(1), '1000', {
  meaning: 'Pause between polls of the change table once the CDC has caught up',
  expected: 'a whole number of milliseconds >= 1',
});

// Streams apps (enrichment, trends, a topology module).
/** `APPLICATION_ID` with the default of one topology. */
export function applicationId(fallback: string): Variable<string> {
  return defaultedVariable('APPLICATION_ID', identifier, fallback, {
    meaning: 'Consumer group, prefix of internal topics and transactional ids of a Streams app',
    expected: "letters, digits, '.', '_' and '-'",
  });
}
export const APPLICATION_ID = applicationId('ratings-enrichment');
export const PROCESSING_GUARANTEE = defaultedVariable('PROCESSING_GUARANTEE', oneOf(['exactly-once', 'at-least-once']), 'exactly-once', {
  meaning: 'Processing guarantee of the Streams apps',
  expected: 'exactly-once or at-least-once',
});
export const DEAD_LETTER_TOPIC = optionalVariable('DEAD_LETTER_TOPIC', topicName, {
  meaning: 'Dead-letter topic of a topology module given to `run <file>` (default `<APPLICATION_ID>-dlq`)',
  expected: "a Kafka topic name (letters, digits, '.', '_', '-')",
});
export const AI_AGENT_ENDPOINT = optionalVariable('AI_AGENT_ENDPOINT', httpUrl, {
  meaning: 'Where the enrichment POSTs each enriched rating; unset: the topic only',
  expected: 'an http(s) URL, e.g. http://127.0.0.1:8090/ratings',
});
export const AI_AGENT_TOKEN = optionalVariable('AI_AGENT_TOKEN', text, {
  meaning: 'Sent to the AI agent as `Authorization: Bearer <token>`',
  expected: "the AI agent's bearer token",
  secret: true,
});
export const USERS_CACHE_ENTRIES = defaultedVariable('USERS_CACHE_ENTRIES', integer(1), '10000', {
  meaning: 'LRU entries per partition in front of the enrichment\'s users store',
  expected: 'a whole number >= 1',
});
export const TRENDS_GRACE_MS = defaultedVariable('TRENDS_GRACE_MS', integer(0), '10000', {
  meaning: 'How long after a one-minute window ends (stream time) late ratings still count',
  expected: 'a whole number of milliseconds >= 0',
});
export const TRENDS_ALERT_THRESHOLD = defaultedVariable('TRENDS_ALERT_THRESHOLD', finiteNumber, '2.5', {
  meaning: 'A window whose average score is below this raises an alert',
  expected: 'a number, e.g. 2.5',
});
export const TRENDS_MIN_RATINGS = defaultedVariable('TRENDS_MIN_RATINGS', integer(1), '5', {
  meaning: '...if it holds at least this many ratings',
  expected: 'a whole number >= 1',
});

export interface CatalogEntry extends VariableDoc {
  /** Which commands read it. */
  readonly usedBy: string;
  /** The default as the documentation states it, when it depends on the command. */
  readonly defaultText?: string;
}

const entry = (variable: VariableDoc, usedBy: string, defaultText?: string): CatalogEntry => ({ ...variable, usedBy, ...(defaultText === undefined ? {} : { defaultText }) });
const ALL_KAFKA = 'openclaw-ingest, users-cdc, ratings-enrichment, product-rating-trends, run <file>, topics create, dlq';
const STREAMS = 'ratings-enrichment, product-rating-trends, run <file>';

/** Every variable, in the order the documentation lists them. */
export const CATALOG: readonly CatalogEntry[] = [
  entry(KAFKA_BROKERS, ALL_KAFKA),
  entry(LOG_LEVEL, 'run'),
  entry(OPS_PORT, 'run'),
  entry(OPS_HOST, 'run'),
  entry(RATINGS_TOPIC, 'openclaw-ingest, ratings-enrichment, product-rating-trends, topics create'),
  entry(RATINGS_DLQ_TOPIC, 'openclaw-ingest, ratings-enrichment, product-rating-trends, topics create, dlq'),
  entry(USERS_TOPIC, 'users-cdc, ratings-enrichment, topics create'),
  entry(RATINGS_ENRICHED_TOPIC, 'ratings-enrichment, topics create'),
  entry(PRODUCT_STATS_TOPIC, 'product-rating-trends, topics create'),
  entry(RATING_ALERTS_TOPIC, 'product-rating-trends, topics create'),
  entry(RATINGS_DLQ_RETENTION_MS, 'topics create'),
  entry(RATING_FORMAT, 'openclaw-ingest, ratings-enrichment, product-rating-trends'),
  entry(SCHEMA_REGISTRY_URL, 'openclaw-ingest, ratings-enrichment, product-rating-trends'),
  entry(OPENCLAW_URL, 'openclaw-ingest'),
  entry(OPENCLAW_API_KEY, 'openclaw-ingest'),
  entry(INGEST_NAME, 'openclaw-ingest, topics create (its cursor topic)'),
  entry(POLL_INTERVAL_MS, 'openclaw-ingest'),
  entry(POLL_PAGE_SIZE, 'openclaw-ingest'),
  entry(ALERT_WEBHOOK_URL, 'openclaw-ingest'),
  entry(DATABASE_URL, 'users-cdc (required), ratings-enrichment'),
  entry(USERS_CDC_NAME, 'users-cdc, topics create (its cursor topic)'),
  entry(USERS_CDC_BATCH_SIZE, 'users-cdc'),
  entry(USERS_CDC_INTERVAL_MS, 'users-cdc'),
  entry(APPLICATION_ID, STREAMS, '`ratings-enrichment`, `product-rating-trends`, the module file\'s name'),
  entry(PROCESSING_GUARANTEE, STREAMS),
  entry(DEAD_LETTER_TOPIC, 'run <file>'),
  entry(AI_AGENT_ENDPOINT, 'ratings-enrichment'),
  entry(AI_AGENT_TOKEN, 'ratings-enrichment'),
  entry(USERS_CACHE_ENTRIES, 'ratings-enrichment'),
  entry(TRENDS_GRACE_MS, 'product-rating-trends'),
  entry(TRENDS_ALERT_THRESHOLD, 'product-rating-trends'),
  entry(TRENDS_MIN_RATINGS, 'product-rating-trends'),
];

/** `SCHEMA_REGISTRY_URL` with `RATING_FORMAT=json` contradict each other: the registry holds Avro schemas. */
export function ratingFormatProblems(config: { readonly SCHEMA_REGISTRY_URL: string | undefined; readonly RATING_FORMAT: 'avro' | 'json' }): string[] {
  return config.SCHEMA_REGISTRY_URL !== undefined && config.RATING_FORMAT === 'json'
    ? ['RATING_FORMAT must be avro when SCHEMA_REGISTRY_URL is set (got json): the registry holds Avro schemas']
    : [];
}
