/**
 * OpenClaw ingest: polls the OpenClaw Rating API (`GET {OPENCLAW_URL}/api/ratings`, bearer key),
 * validates each rating against `schemas/rating-event.avsc` and the rules the schema cannot state,
 * and writes valid ones to `ratings` (key: rating id; Avro binary by default, JSON selectable) and
 * invalid ones to `ratings_dlq` (the raw item, the reasons, a correlation id), each page in one
 * Kafka transaction with the poller's cursor: every rating reaches Kafka once, across crashes.
 *
 * Run it: `OPENCLAW_URL=http://127.0.0.1:8080 OPENCLAW_API_KEY=... KAFKA_BROKERS=127.0.0.1:9092 rating-streams run openclaw-ingest`
 * (or `tsx topologies/openclaw-ingest.ts`); the variables it reads are `OPENCLAW_INGEST_VARIABLES`
 * (README "Configuration"), with `OPS_PORT` (default 9464, 0 = off) for /metrics, /healthz and /readyz.
 * One replica only: a second one fences the first (see `RestPoller`).
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { DeadLetterAlerts } from '../src/connectors/dead-letter-alerts.ts';
import { RATING_EVENT_SCHEMA_PATH, validateRating, type RatingEvent } from '../src/connectors/openclaw/rating-event.ts';
import { ratingFormatOf } from '../src/connectors/openclaw/rating-format.ts';
import { RestPoller, type PollerState } from '../src/connectors/rest-poller.ts';
import type { PollCursor } from '../src/connectors/cursor-topic.ts';
import { DLQ_HEADERS, avroSerdeFromFile, fitDeadLetter, payloadBytes, jsonSerde, defaultLogger, type Logger, type Serde } from '../src/index.ts';
import type { OutgoingRecord, Transport } from '../src/transport/transport.ts';
import { ALERT_WEBHOOK_URL, INGEST_NAME, KAFKA_BROKERS, OPENCLAW_API_KEY, OPENCLAW_URL, POLL_INTERVAL_MS, POLL_PAGE_SIZE, RATINGS_DLQ_TOPIC, RATINGS_TOPIC, RATING_FORMAT, SCHEMA_REGISTRY_URL, ratingFormatProblems, type ConfigOf } from '../src/config/index.ts';
import { EXIT } from '../src/cli/exit-codes.ts';
import { pipelineProcess, type PipelineProcess, type ProcessEnd, type ProcessHost, type RunningProcess } from '../src/cli/pipeline-process.ts';
import { runProcesses } from '../src/cli/process-host.ts';

export interface OpenClawIngestOptions {
  readonly transport: Transport;
  /** e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly apiKey: string;
  /** Default `ratings`. */
  readonly ratingsTopic?: string;
  /** Default `ratings_dlq`. */
  readonly deadLetterTopic?: string;
  /** Value format on `ratings`: Avro binary (default) or JSON; or any serde, e.g. `confluentAvroSerde(...)`. */
  readonly format?: 'avro' | 'json' | Serde<RatingEvent>;
  /** Names the poller (transactional id, cursor key); default `openclaw-ingest`. */
  readonly name?: string;
  readonly intervalMs?: number;
  readonly pageSize?: number;
  readonly timeoutMs?: number;
  /** Timestamps further ahead than this are invalid; default one day. */
  readonly maxFutureMs?: number;
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Slack-compatible webhook for dead-letter rate alerts, and when to send one. */
  readonly alerts?: { readonly webhookUrl: string; readonly threshold?: number; readonly windowMs?: number; readonly minIntervalMs?: number; readonly timeoutMs?: number };
  /**
   * A rating whose record would be larger than this goes to the dead-letter topic (cut to fit)
   * instead of making its page's transaction fail forever; default 900 KiB, below Kafka's 1 MB
   * default `max.message.bytes`. Set it below the `ratings` topic's limit if that is smaller.
   */
  readonly maxRecordBytes?: number;
  readonly logger?: Logger;
}

export interface OpenClawIngest {
  readonly poller: RestPoller;
  readonly alerts: DeadLetterAlerts | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const DAY_MS = 86_400_000;

/** Where the DLQ headers say a dead-lettered rating came from. */
const SOURCE = 'openclaw:/api/ratings';

/** Builds the ingest: a `RestPoller` whose records are validated ratings and dead letters. */
export function openClawIngest(options: OpenClawIngestOptions): OpenClawIngest {
  const ratingsTopic = options.ratingsTopic ?? 'ratings';
  const deadLetterTopic = options.deadLetterTopic ?? 'ratings_dlq';
  const name = options.name ?? 'openclaw-ingest';
  const logger = options.logger ?? defaultLogger(name);
  const format = options.format ?? 'avro';
  const serde: Serde<RatingEvent> = format === 'avro' ? avroSerdeFromFile<RatingEvent>(RATING_EVENT_SCHEMA_PATH) : format === 'json' ? jsonSerde<RatingEvent>() : format;
  const alerts = options.alerts === undefined ? undefined : new DeadLetterAlerts({ ...options.alerts, source: name, deadLetterTopic, logger });
  let pageReasons: string[] = [];
  const maxRecordBytes = options.maxRecordBytes ?? 900 * 1_024;
  const rules = options.maxFutureMs === undefined ? {} : { maxFutureMs: options.maxFutureMs };

  const toRecords = (item: unknown, raw: Buffer): OutgoingRecord[] => {
    const check = validateRating(item, rules);
    const correlationId = randomUUID();
    let reasons: readonly string[];
    if (check.ok) {
      const { rating } = check;
      const record: OutgoingRecord = { topic: ratingsTopic, key: Buffer.from(rating.id), value: serde.serialize(rating, ratingsTopic), headers: { 'correlation-id': Buffer.from(correlationId) }, timestamp: rating.timestamp };
      const size = payloadBytes(record);
      if (size <= maxRecordBytes) return [record];
      reasons = [`record: ${size} bytes is larger than the ${maxRecordBytes} bytes ${ratingsTopic} takes`];
    } else reasons = check.reasons;
    pageReasons.push(...reasons);
    const id = typeof item === 'object' && item !== null && typeof (item as { id?: unknown }).id === 'string' ? (item as { id: string }).id : null;
    const text: Record<string, string> = {
      [DLQ_HEADERS.errorClass]: 'ValidationError',
      [DLQ_HEADERS.causeClass]: 'ValidationError',
      [DLQ_HEADERS.errorCode]: 'VALIDATION_FAILED',
      [DLQ_HEADERS.errorMessage]: reasons.join('; ').slice(0, 1_024),
      [DLQ_HEADERS.errorStack]: '',
      [DLQ_HEADERS.errorStage]: 'deserialization',
      [DLQ_HEADERS.sourceTopic]: SOURCE,
      [DLQ_HEADERS.sourcePartition]: '-1',
      [DLQ_HEADERS.sourceOffset]: '-1',
      [DLQ_HEADERS.node]: name,
      [DLQ_HEADERS.correlationId]: correlationId,
      [DLQ_HEADERS.timestamp]: new Date().toISOString(),
    };
    const headers: Record<string, Buffer> = {};
    for (const [header, value] of Object.entries(text)) headers[header] = Buffer.from(value, 'utf8');
    // A dead letter too large for the topic is cut (dlq.payload.* headers say so), never refused.
    return [fitDeadLetter({ topic: deadLetterTopic, key: id === null ? null : Buffer.from(id), value: raw, headers }, maxRecordBytes)];
  };

  const poller = new RestPoller({
    name,
    transport: options.transport,
    baseUrl: options.url,
    path: '/api/ratings',
    apiKey: options.apiKey,
    ...(options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs }),
    ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
    // A rating with a plausible timestamp moves the cursor, valid or not; one whose timestamp
    // cannot be trusted (ten years ahead would skip everything after it) does not, and the poller
    // remembers its id instead.
    cursorOf: (item) => {
      const cursor = ratingCursor(item);
      return cursor !== undefined && cursor.timestamp >= 0 && cursor.timestamp <= Date.now() + (options.maxFutureMs ?? DAY_MS) ? cursor : undefined;
    },
    idOf: (item) => (typeof item === 'object' && item !== null && typeof (item as { id?: unknown }).id === 'string' ? (item as { id: string }).id : undefined),
    toRecords,
    logger,
    onPage: ({ items }) => {
      alerts?.record(items, pageReasons);
      pageReasons = [];
    },
  });

  return {
    poller,
    alerts,
    start: () => poller.start(),
    stop: async () => {
      await poller.stop();
      // An alert still on its way gets a moment, not the shutdown.
      if (alerts) await Promise.race([alerts.flush(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
    },
  };
}

/** A rating's place in the API's order: its timestamp and id, when both are usable. */
export function ratingCursor(item: unknown): PollCursor | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const { timestamp, id } = item as { timestamp?: unknown; id?: unknown };
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || typeof id !== 'string' || id === '') return undefined;
  return { timestamp, id };
}

/** The variables the ingest reads (README "Configuration"). */
export const OPENCLAW_INGEST_VARIABLES = {
  KAFKA_BROKERS,
  OPENCLAW_URL,
  OPENCLAW_API_KEY,
  RATING_FORMAT,
  SCHEMA_REGISTRY_URL,
  RATINGS_TOPIC,
  RATINGS_DLQ_TOPIC,
  INGEST_NAME,
  POLL_INTERVAL_MS,
  POLL_PAGE_SIZE,
  ALERT_WEBHOOK_URL,
};
export type OpenClawIngestConfig = ConfigOf<typeof OPENCLAW_INGEST_VARIABLES>;

/** Why the poller's state ends the process, and with which exit code; `undefined` while it can go on. */
function endOf(state: PollerState, reason: string | undefined): ProcessEnd | undefined {
  if (state === 'unauthorized') return { code: EXIT.unauthorized, reason: reason ?? 'the OpenClaw API refused the key' };
  if (state === 'fenced' || state === 'failed') return { code: EXIT.failure, reason: reason ?? state };
  return undefined;
}

/**
 * Runs the ingest with `config` in `host` (metrics, checks, logger): until stopped, or until the
 * API refuses the key (exit code 3), another instance fences it or it fails (1).
 */
export async function runOpenClawIngest(config: OpenClawIngestConfig, host: ProcessHost): Promise<RunningProcess> {
  const [{ KafkaTransport }, ops] = await Promise.all([import('../src/transport/kafka/index.ts'), import('../src/observability/index.ts')]);
  // With a registry, Avro in the Confluent wire format, the schema registered under `<topic>-value`.
  const format = await ratingFormatOf(config);
  const transport = new KafkaTransport({ brokers: config.KAFKA_BROKERS, clientId: 'openclaw-ingest', logLevel: 'nothing' });
  const logger = host.logger(config.INGEST_NAME);
  const ingest = openClawIngest({
    transport,
    logger,
    url: config.OPENCLAW_URL,
    apiKey: config.OPENCLAW_API_KEY,
    format,
    ratingsTopic: config.RATINGS_TOPIC,
    name: config.INGEST_NAME,
    deadLetterTopic: config.RATINGS_DLQ_TOPIC,
    intervalMs: config.POLL_INTERVAL_MS,
    pageSize: config.POLL_PAGE_SIZE,
    ...(config.ALERT_WEBHOOK_URL === undefined ? {} : { alerts: { webhookUrl: config.ALERT_WEBHOOK_URL } }),
  });
  host.metrics.watchPoller(ingest.poller);
  const ended = new Promise<ProcessEnd>((resolve) => {
    ingest.poller.onStateChange((state) => {
      const end = endOf(state, ingest.poller.health().reason);
      if (end !== undefined) resolve(end);
    });
  });
  host.register({
    name: 'openclaw-ingest',
    checks: { live: [ops.pollerAlive(ingest.poller)], ready: [ops.pollerReady(ingest.poller), ops.brokerConnected(transport)] },
    stop: () => ingest.stop(),
  });
  await ingest.start();
  return { ended };
}

export const openClawIngestProcess: PipelineProcess = pipelineProcess({
  name: 'openclaw-ingest',
  variables: OPENCLAW_INGEST_VARIABLES,
  refine: ratingFormatProblems,
  run: runOpenClawIngest,
});

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exit(await runProcesses([openClawIngestProcess], { label: 'openclaw-ingest' }));
