/**
 * Product rating trends: per product and one-minute tumbling window, the number of ratings and
 * their average score, emitted once when the window closes, plus an alert for a window whose
 * average is low enough over enough ratings.
 *
 * Windows follow the Kafka record timestamp (the producer sets it from the rating's `timestamp`),
 * so a rating counts in the minute it was given, not the one it arrived in: a late rating still
 * counts while its window is open (`graceMs` after its end, in stream time) and is dropped after.
 *
 * Run it: `KAFKA_BROKERS=127.0.0.1:9092 rating-streams run product-rating-trends` (or `tsx
 * topologies/product-rating-trends.ts`); the variables it reads are
 * `PRODUCT_RATING_TRENDS_VARIABLES` (README "Configuration"). `RATING_FORMAT` and
 * `SCHEMA_REGISTRY_URL` must be the ingest's.
 *
 * @example
 * const app = new StreamsApp(productRatingTrends({ alertThreshold: 2 }), { applicationId: 'rating-trends', transport });
 */
import { pathToFileURL } from 'node:url';
import {
  KAFKA_BROKERS,
  PROCESSING_GUARANTEE,
  PRODUCT_STATS_TOPIC,
  RATINGS_DLQ_TOPIC,
  RATINGS_TOPIC,
  RATING_ALERTS_TOPIC,
  RATING_FORMAT,
  SCHEMA_REGISTRY_URL,
  TRENDS_ALERT_THRESHOLD,
  TRENDS_GRACE_MS,
  TRENDS_MIN_RATINGS,
  applicationId,
  ratingFormatProblems,
  type ConfigOf,
} from '../src/config/index.ts';
import { pipelineProcess, type PipelineProcess, type ProcessHost, type RunningProcess } from '../src/cli/pipeline-process.ts';
import { runProcesses } from '../src/cli/process-host.ts';
import { runStreamsAppProcess } from '../src/cli/streams-app-process.ts';
import { ratingFormatOf } from '../src/connectors/openclaw/rating-format.ts';
import { RATING_EVENT_SCHEMA_PATH, StreamsBuilder, TimeWindows, TopologyError, avroSerdeFromFile, jsonSerde, type RatingEvent, type Serde, type Topology, type Windowed } from '../src/index.ts';

export type { RatingEvent };

/** One closed window of one product, written to `product_rating_stats` keyed by product id. */
export interface ProductRatingStats {
  readonly productId: string;
  /** Inclusive, ms since the epoch. */
  readonly windowStart: number;
  /** Exclusive, ms since the epoch. */
  readonly windowEnd: number;
  readonly count: number;
  /** Mean score of the window's ratings, unrounded. */
  readonly average: number;
}

/** A closed window whose average fell below the threshold, written to `rating_alerts` keyed by product id. */
export interface ProductRatingAlert extends ProductRatingStats {
  readonly reason: 'low-average';
  readonly threshold: number;
}

export interface ProductRatingTrendsOptions {
  /** How long after a window's end (in stream time) late ratings still count; default 10000. */
  readonly graceMs?: number;
  /** An alert is raised for a window whose average is strictly below this; default 2.5. */
  readonly alertThreshold?: number;
  /** ...and that holds at least this many ratings; default 5. */
  readonly minRatings?: number;
  /** Default `ratings`. */
  readonly inputTopic?: string;
  /**
   * How the input is encoded: JSON (the default, for compatibility), Avro binary of
   * `schemas/rating-event.avsc` (what `openClawIngest` writes by default), or any serde (e.g.
   * `confluentAvroSerde`). Give it the same format as the ingest; bytes that do not decode are
   * dead-lettered at the source.
   */
  readonly ratingFormat?: 'avro' | 'json' | Serde<RatingEvent>;
  /** Default `product_rating_stats`. */
  readonly statsTopic?: string;
  /** Default `rating_alerts`. */
  readonly alertsTopic?: string;
}

export const WINDOW_SIZE_MS = 60_000;

interface RunningStats {
  readonly count: number;
  readonly sum: number;
}

/** Why a value is not a valid rating, or `undefined` when it is one. */
export function invalidRatingReason(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'value is not a JSON object';
  const { productId, score } = value as Record<string, unknown>;
  if (typeof productId !== 'string' || productId === '') return 'productId is missing or not a non-empty string';
  if (score === undefined) return 'score is missing';
  if (typeof score !== 'number' || !Number.isInteger(score) || score < 1 || score > 5) return `score ${JSON.stringify(score)} is not an integer from 1 to 5`;
  return undefined;
}

function checkOption(valid: boolean, option: string, requirement: string, value: unknown): void {
  if (!valid) {
    throw new TopologyError(`productRatingTrends(): option ${option} must be ${requirement} (got ${String(value)})`, {
      context: { node: 'productRatingTrends' },
    });
  }
}

function ratingSerde(format: ProductRatingTrendsOptions['ratingFormat']): Serde<RatingEvent> {
  if (format === undefined || format === 'json') return jsonSerde<RatingEvent>();
  if (format === 'avro') return avroSerdeFromFile<RatingEvent>(RATING_EVENT_SCHEMA_PATH);
  if (typeof format === 'object' && format !== null && typeof format.deserialize === 'function') return format;
  throw new TopologyError(`productRatingTrends(): option ratingFormat must be 'avro', 'json' or a serde (got ${String(format)})`, { context: { node: 'productRatingTrends' } });
}

function toStats(windowed: Windowed<string>, stats: RunningStats): ProductRatingStats {
  return {
    productId: windowed.key,
    windowStart: windowed.window.start,
    windowEnd: windowed.window.end,
    count: stats.count,
    average: stats.sum / stats.count,
  };
}

/**
 * Builds the topology: `ratings` → validate (invalid ones to the dead-letter topic with their
 * reason) → re-key by product (repartition topic `<applicationId>-ratings-by-product-repartition`)
 * → one-minute windows closed after `graceMs` → `product_rating_stats`, and `rating_alerts` for a
 * window with at least `minRatings` ratings averaging below `alertThreshold`.
 */
export function productRatingTrends(options: ProductRatingTrendsOptions = {}): Topology {
  const { graceMs = 10_000, alertThreshold = 2.5, minRatings = 5 } = options;
  checkOption(Number.isFinite(graceMs) && graceMs >= 0, 'graceMs', 'a number of milliseconds >= 0', graceMs);
  checkOption(Number.isFinite(alertThreshold), 'alertThreshold', 'a finite number', alertThreshold);
  checkOption(Number.isInteger(minRatings) && minRatings >= 1, 'minRatings', 'a whole number >= 1', minRatings);

  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  const ratings = builder.stream<string, RatingEvent>(options.inputTopic ?? 'ratings', { name: 'ratings-source', valueSerde: ratingSerde(options.ratingFormat) });

  // Typed as ratings, but the bytes are whatever was published: check every field the windows use.
  const { valid, invalid } = ratings
    .split({ name: 'validate-rating' })
    .branch((_id, rating) => invalidRatingReason(rating) === undefined, { name: 'valid' })
    .defaultBranch({ name: 'invalid' });
  invalid.deadLetter({ name: 'invalid-rating', reason: (_id, rating) => invalidRatingReason(rating) ?? 'not a valid rating' });

  const stats = valid
    .groupBy((_id, rating) => rating.productId, { name: 'ratings-by-product' })
    .windowedBy(TimeWindows.ofSizeWithGrace(WINDOW_SIZE_MS, graceMs))
    .aggregate<RunningStats>(() => ({ count: 0, sum: 0 }), (_productId, rating, running) => ({ count: running.count + 1, sum: running.sum + rating.score }), {
      name: 'product-rating-window',
      emit: 'onWindowClose',
      store: { name: 'product-rating-window-store' },
    })
    .toStream({ name: 'closed-windows' })
    // Aggregations drop null keys, so every window has one; flatMap keeps the types honest.
    .flatMap((windowed, running) => (windowed === null ? [] : [{ key: windowed.key, value: toStats(windowed, running) }]), { name: 'to-stats' });
  stats.to(options.statsTopic ?? 'product_rating_stats', { name: 'stats-sink' });

  stats
    .filter((_productId, window) => window.count >= minRatings && window.average < alertThreshold, { name: 'low-average' })
    .mapValues((window): ProductRatingAlert => ({ ...window, reason: 'low-average', threshold: alertThreshold }), { name: 'to-alert' })
    .to(options.alertsTopic ?? 'rating_alerts', { name: 'alerts-sink' });

  return builder.build();
}

/** The variables the trends read (README "Configuration"). */
export const PRODUCT_RATING_TRENDS_VARIABLES = {
  KAFKA_BROKERS,
  APPLICATION_ID: applicationId('product-rating-trends'),
  PROCESSING_GUARANTEE,
  RATING_FORMAT,
  SCHEMA_REGISTRY_URL,
  RATINGS_TOPIC,
  RATINGS_DLQ_TOPIC,
  PRODUCT_STATS_TOPIC,
  RATING_ALERTS_TOPIC,
  TRENDS_GRACE_MS,
  TRENDS_ALERT_THRESHOLD,
  TRENDS_MIN_RATINGS,
};
export type ProductRatingTrendsConfig = ConfigOf<typeof PRODUCT_RATING_TRENDS_VARIABLES>;

/** The topology `config` describes; `ratingFormat` defaults to the configured one without a registry (for `describe`). */
export function productRatingTrendsFromConfig(config: ProductRatingTrendsConfig, ratingFormat: 'avro' | 'json' | Serde<RatingEvent> = config.RATING_FORMAT): Topology {
  return productRatingTrends({
    ratingFormat,
    inputTopic: config.RATINGS_TOPIC,
    statsTopic: config.PRODUCT_STATS_TOPIC,
    alertsTopic: config.RATING_ALERTS_TOPIC,
    graceMs: config.TRENDS_GRACE_MS,
    alertThreshold: config.TRENDS_ALERT_THRESHOLD,
    minRatings: config.TRENDS_MIN_RATINGS,
  });
}

/** Runs the trends with `config` in `host`: until stopped, or until the app fails (exit code 1). */
export async function runProductRatingTrends(config: ProductRatingTrendsConfig, host: ProcessHost): Promise<RunningProcess> {
  return runStreamsAppProcess(
    {
      name: 'product-rating-trends',
      topology: productRatingTrendsFromConfig(config, await ratingFormatOf(config)),
      brokers: config.KAFKA_BROKERS,
      applicationId: config.APPLICATION_ID,
      processingGuarantee: config.PROCESSING_GUARANTEE,
      deadLetterTopic: config.RATINGS_DLQ_TOPIC,
    },
    host,
  );
}

export const productRatingTrendsProcess: PipelineProcess = pipelineProcess({
  name: 'product-rating-trends',
  streamsApp: true,
  variables: PRODUCT_RATING_TRENDS_VARIABLES,
  refine: ratingFormatProblems,
  topology: (config) => productRatingTrendsFromConfig(config),
  run: runProductRatingTrends,
});

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exit(await runProcesses([productRatingTrendsProcess], { label: 'product-rating-trends' }));
