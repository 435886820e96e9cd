/**
 * The whole rating pipeline in one process: PostgreSQL (embedded PGlite or `DATABASE_URL`), the
 * users table with its change capture, the OpenClaw source (simulator or real), the ingest, the
 * enrichment (PostgreSQL-backed users table behind an LRU cache, AI-agent POSTs), the product
 * trends, and the counters behind the summary line. What runs where is decided by
 * `PipelineConfig` (see `config.ts`).
 *
 * Start order, and the reverse stop order: PostgreSQL, pools, topics, users table (migrations,
 * demo users), AI-agent stub, simulator, summary reader, users CDC, users churn, enrichment,
 * trends, ingest. So the ingest stops polling first, the stream apps drain what is in flight
 * (their AI-agent POSTs included) while the stub still answers, and PostgreSQL closes last.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startAiAgentStub, type AiAgentStub } from '../../src/connectors/openclaw/ai-agent-stub.ts';
import { startOpenClawSimulator } from '../../src/connectors/openclaw/simulator.ts';
import { KafkaTransport, MemoryTransport, StreamsApp, storeTableName, toError, type HttpSinkHandle, type Logger, type Transport, type TransportAdmin } from '../../src/index.ts';
import { openClawIngest } from '../openclaw-ingest.ts';
import { productRatingTrends } from '../product-rating-trends.ts';
import { ratingsEnrichment, type UserRow } from '../ratings-enrichment.ts';
import { cdcMigrations, runMigrations, usersCdc, usersMapping } from '../users-cdc.ts';
import { configSecrets, displayUrl, type PipelineConfig } from './config.ts';
import { startEmbeddedPostgres } from './embedded-postgres.ts';
import { Lifecycle } from './lifecycle.ts';
import { MemoryRetention } from './memory-retention.ts';
import { formatSummary, noDeadLetters, tableSummary, type PipelineSnapshot, type TableSummary } from './summary.ts';
import { TopicCounter } from './topic-counter.ts';
import { APPLICATION_IDS, PARTITIONS, TOPICS, TRENDS_DEAD_LETTERS, createPipelineTopics } from './topics.ts';
import { UsersChurn, seedUsers } from './users-churn.ts';

export interface PipelineOptions {
  readonly config: PipelineConfig;
  /** Writes one line for the user (stdout). */
  readonly print: (line: string) => void;
  /** Structured logs of the components (stderr). */
  readonly logger: Logger;
  /** A component failed while running (not during start-up, which rejects instead). */
  readonly onFailure: (error: Error) => void;
}

/** Share of simulated ratings that are invalid: the dead-letter topic gets some of each kind. */
export const SIMULATOR_INVALID_SHARE = 0.03;
/** The stub's injected faults: transient 503s the sink retries, and a few permanent refusals (dead letters). */
export const STUB_FAULTS = { unavailableRate: 0.02, rejectRate: 0.002 } as const;
/** LRU entries per partition of the users table: fewer than the demo users, so misses read PostgreSQL. */
export const USERS_CACHE_ENTRIES = 500;
/** pg pools on a real PostgreSQL: the CDC, migrations and churn share one; the enrichment's store and loader the other. */
const CDC_POOL_SIZE = 2;
const STORE_POOL_SIZE = 4;
/**
 * On the embedded PostgreSQL everything shares ONE connection. PGlite has one backend session for
 * every connection, and pglite-socket queues each protocol message on its own: a parameterized
 * query whose Bind message spans several TCP reads (a store flush of a thousand users) lets another
 * connection's Parse replace the shared unnamed statement in between, and the query fails or runs
 * the other statement (seen as "bind message supplies 2 parameters, but prepared statement \"\"
 * requires 4"). One connection cannot interleave with itself. Nothing here takes a second
 * connection while holding one (the CDC's snapshot transaction uses only its own), so it cannot
 * deadlock.
 */
const EMBEDDED_POOL_SIZE = 1;
/** Room for the pipeline's connection, a reconnect, and a short look with psql. */
const EMBEDDED_MAX_CONNECTIONS = 4;
const USERS_STORE = 'users';
/** The first summary line comes this soon after start-up (or after `summaryMs`, if shorter). */
const FIRST_SUMMARY_MS = 2_000;
const AI_NODE = 'ai-agent';

export class Pipeline {
  private readonly lifecycle: Lifecycle;
  private readonly startedAt = performance.now();
  private startup: Promise<void> | undefined;
  private running = false;
  private counter: TopicCounter | undefined;
  private admin: TransportAdmin | undefined;
  private enrichment: StreamsApp | undefined;
  private aiSink: HttpSinkHandle | undefined;
  private lastUsers: TableSummary = { size: undefined, hitRatio: undefined };
  private summaryTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<string[]> | undefined;

  constructor(private readonly options: PipelineOptions) {
    this.lifecycle = new Lifecycle({ logger: options.logger });
  }

  /** Starts every component; rejects with `StoppedDuringStart` when `stop()` came first, or with the failure. */
  start(): Promise<void> {
    this.startup ??= this.run();
    return this.startup;
  }

  /** Stops what started, in reverse order; resolves with the names of components that did not stop cleanly. */
  stop(): Promise<string[]> {
    this.stopping ??= (async () => {
      clearTimeout(this.summaryTimer);
      // The stores close with the enrichment: read the table's numbers for the final line first.
      if (this.running) await withinMs(this.readUsers(), 2_000);
      return this.lifecycle.stop(this.startup);
    })();
    return this.stopping;
  }

  /** The numbers of the summary line now. */
  async snapshot(): Promise<PipelineSnapshot> {
    const counts = this.counter?.counts();
    const ai = this.aiSink?.stats();
    await this.readUsers();
    let lag: number | undefined;
    if (this.admin !== undefined) {
      try {
        const committed = await this.admin.committedOffsets(APPLICATION_IDS.enrichment, TOPICS.ratings);
        lag = this.counter?.unconsumed(committed);
      } catch {
        lag = undefined; // shown as '?': the summary must not fail for an admin call
      }
    }
    return {
      elapsedMs: performance.now() - this.startedAt,
      ingested: counts?.ingested ?? 0,
      enriched: counts?.enriched ?? 0,
      deadLetters: counts?.deadLetters ?? noDeadLetters(),
      aiPosts: { ok: ai?.delivered ?? 0, retried: ai?.retries ?? 0 },
      users: this.lastUsers,
      lag,
    };
  }

  /** Updates the users table's numbers; keeps the last ones while no store is open (a rebalance, a stop). */
  private async readUsers(): Promise<void> {
    try {
      const stats = await this.enrichment?.storeStats();
      if (stats !== undefined && stats.length > 0) this.lastUsers = tableSummary(stats, USERS_STORE);
    } catch (error) {
      this.options.logger.warn({ err: toError(error) }, 'reading the users table statistics failed');
    }
  }

  private async run(): Promise<void> {
    const { config, print, logger } = this.options;
    const life = this.lifecycle;
    const secrets = configSecrets(config);
    const embedded = [
      config.kafka ? undefined : 'in-memory transport',
      config.databaseUrl ? undefined : 'PostgreSQL (PGlite)',
      config.openClaw ? undefined : 'OpenClaw simulator',
      config.aiAgent ? undefined : 'AI-agent stub',
    ].filter((part): part is string => part !== undefined);
    const real = [
      config.kafka ? `Kafka ${config.kafka.brokers.join(',')}` : undefined,
      config.databaseUrl ? `PostgreSQL ${displayUrl(config.databaseUrl)}` : undefined,
      config.openClaw ? `OpenClaw ${displayUrl(config.openClaw.url)}` : undefined,
      config.aiAgent ? `AI agent ${displayUrl(config.aiAgent.url)}` : undefined,
    ].filter((part): part is string => part !== undefined);
    print(`rating pipeline: starting; embedded: ${embedded.join(', ') || 'none'}; real: ${real.join(', ') || 'none'}`);

    // PostgreSQL.
    let databaseUrl = config.databaseUrl;
    if (databaseUrl === undefined) {
      const db = await life.step(
        'embedded PostgreSQL',
        (signal) =>
          startEmbeddedPostgres({
            cacheDir: config.pgliteCacheDir,
            port: config.pgPort,
            maxConnections: EMBEDDED_MAX_CONNECTIONS,
            signal,
            onFirstStart: (dumpPath) => print(`embedded PostgreSQL: first start, creating its data directory once (initdb, a few seconds); later starts load ${dumpPath}`),
          }),
        (db) => db.stop(),
      );
      databaseUrl = db.url;
      const how = db.origin === 'initdb' ? 'created and saved' : 'prepared data directory loaded';
      print(`embedded PostgreSQL at ${db.url} (${how} in ${(db.startMs / 1000).toFixed(1)} s)`);
    }
    const pool = (max: number, name: string) => {
      const created = new pg.Pool({ connectionString: databaseUrl, max, application_name: `rating-pipeline-${name}` });
      // An idle client losing its connection is reported here; the pool replaces it.
      created.on('error', (error) => logger.warn({ err: error, pool: name }, 'PostgreSQL connection lost'));
      life.onStop(`${name} pool`, () => created.end());
      return created;
    };
    const embeddedDb = config.databaseUrl === undefined;
    const cdcPool = embeddedDb ? pool(EMBEDDED_POOL_SIZE, 'shared') : pool(CDC_POOL_SIZE, 'cdc');
    const storePool = embeddedDb ? cdcPool : pool(STORE_POOL_SIZE, 'store');

    // Transport and topics.
    const transport: Transport = config.kafka
      ? new KafkaTransport({ brokers: [...config.kafka.brokers], clientId: 'rating-pipeline', logLevel: 'nothing' })
      : new MemoryTransport({
          // The default is a process warning; here a failing callback is logged, and one that set up
          // partitions (onAssigned) stops the pipeline: without it the app would wait forever.
          onError: (error, context) => {
            logger.error({ err: toError(error), ...context }, 'a consumer callback failed');
            if (context.during === 'onAssigned') this.options.onFailure(new Error(`${context.groupId} could not take its partitions: ${toError(error).message}`));
          },
        });
    await life.step('topics', () => createPipelineTopics(transport, PARTITIONS));
    if (transport instanceof MemoryTransport) {
      const retention = new MemoryRetention({ broker: transport.broker });
      retention.start();
      life.onStop('memory retention', async () => retention.stop());
    }

    // The users table: migrations, demo users, and a store table that must mirror a fresh topic.
    const demoUsers = config.databaseUrl === undefined || config.demoUsers;
    await life.step('users table', async () => {
      await runMigrations(cdcPool, cdcMigrations(usersMapping()));
      if (demoUsers) {
        const seeded = await seedUsers(cdcPool, config.users);
        print(`users: ${seeded} of ${config.users} demo users inserted; ${config.churnPerSecond} changes/s while running`);
      }
      // With the in-memory transport the `users` topic starts empty each run; rows an earlier run
      // left in the store's table (users deleted since) would outlive it.
      if (!config.kafka && config.databaseUrl !== undefined) await storePool.query(`DROP TABLE IF EXISTS ${storeTableName(USERS_STORE)}`);
    });

    // The AI agent.
    let aiUrl = config.aiAgent?.url;
    if (aiUrl === undefined) {
      const stub: AiAgentStub = await life.step('AI-agent stub', () => startAiAgentStub(STUB_FAULTS), (s) => s.stop());
      aiUrl = stub.url;
      print(`AI-agent stub at ${stub.url} (injects ${STUB_FAULTS.unavailableRate * 100}% transient 503s, refuses ${STUB_FAULTS.rejectRate * 100}% of ratings)`);
    }

    // The OpenClaw source.
    let openClaw = config.openClaw;
    if (openClaw === undefined) {
      const apiKey = randomBytes(16).toString('hex');
      const simulator = await life.step(
        'OpenClaw simulator',
        () => startOpenClawSimulator({ apiKey, ratePerSecond: config.rate, users: config.users, invalidRate: SIMULATOR_INVALID_SHARE }),
        (s) => s.stop(),
      );
      openClaw = { url: simulator.url, apiKey };
      print(`OpenClaw simulator at ${simulator.url} (${config.rate} ratings/s, ${SIMULATOR_INVALID_SHARE * 100}% invalid)`);
    }

    // What the summary reads: the topics, and the enrichment's committed offsets.
    const counter = new TopicCounter({
      transport,
      ingestedTopic: TOPICS.ratings,
      enrichedTopic: TOPICS.enriched,
      deadLetterTopics: [TOPICS.deadLetters, TRENDS_DEAD_LETTERS],
      httpNodes: new Set([AI_NODE]),
    });
    await life.step('summary reader', () => counter.start(), () => counter.stop());
    this.counter = counter;
    const admin = transport.admin();
    await life.step('summary admin', () => admin.connect(), () => admin.disconnect());
    this.admin = admin;
    // Runs after the apps stopped and before the reader does: the final counts.
    life.onStop('final summary', async () => {
      if (this.running) print(`${formatSummary(await this.snapshot())} (final)`);
    });

    // Users change capture. An embedded database is new each run, so its CDC cursor on a real
    // broker would point past its changes: its CDC gets a name (and cursor key) of its own.
    const freshDatabaseOnKafka = config.kafka !== undefined && config.databaseUrl === undefined;
    const cdc = usersCdc({
      pool: cdcPool,
      transport,
      topic: TOPICS.users,
      partitions: PARTITIONS,
      intervalMs: 500,
      migrate: false,
      logger: logger.child({ component: 'users-cdc' }),
      ...(freshDatabaseOnKafka ? { name: `users-cdc-embedded-${randomBytes(4).toString('hex')}`, cursorTopic: 'users-cdc-embedded-cursor' } : {}),
    });
    await life.step('users CDC', () => cdc.start(), () => cdc.stop());
    if (demoUsers && config.churnPerSecond > 0) {
      const churn = new UsersChurn({ pool: cdcPool, users: config.users, changesPerSecond: config.churnPerSecond, logger });
      churn.start();
      life.onStop('users churn', () => churn.stop());
    }

    // The stream apps.
    const guarantee = config.kafka ? 'exactly-once' : 'at-least-once';
    const loader = async (id: string): Promise<UserRow | null> => {
      const result = await storePool.query<{ row: Record<string, unknown> }>('SELECT to_jsonb(u) AS row FROM users u WHERE id = $1', [id]);
      const row = result.rows[0]?.row;
      return row === undefined ? null : (usersMapping().toValue(row) as UserRow);
    };
    const token = config.aiAgent?.token;
    const enrichment = ratingsEnrichment({
      ratingFormat: 'avro',
      users: { pool: storePool, cacheEntries: USERS_CACHE_ENTRIES, loader, storeName: USERS_STORE },
      aiAgent: { url: aiUrl, ...(token ? { auth: `Bearer ${token}` } : {}) },
    });
    this.aiSink = enrichment.aiSink;
    const enrichmentApp = new StreamsApp(enrichment.topology, {
      applicationId: APPLICATION_IDS.enrichment,
      transport,
      processingGuarantee: guarantee,
      deadLetterTopic: TOPICS.deadLetters,
      logger,
      secrets,
    });
    this.watch(enrichmentApp, 'the enrichment');
    life.onStop('enrichment', () => enrichmentApp.stop());
    await life.step('enrichment', () => enrichmentApp.start());
    this.enrichment = enrichmentApp;

    const trendsApp = new StreamsApp(productRatingTrends({ ratingFormat: 'avro' }), {
      applicationId: APPLICATION_IDS.trends,
      transport,
      processingGuarantee: guarantee,
      logger,
      secrets,
    });
    this.watch(trendsApp, 'the product trends');
    life.onStop('product trends', () => trendsApp.stop());
    await life.step('product trends', () => trendsApp.start());

    // The ingest, last: ratings flow once everything downstream runs.
    const ingest = openClawIngest({ transport, url: openClaw.url, apiKey: openClaw.apiKey, format: 'avro', logger: logger.child({ component: 'openclaw-ingest' }) });
    ingest.poller.onStateChange((state) => {
      if (state === 'unauthorized' || state === 'fenced' || state === 'failed') this.options.onFailure(new Error(`the OpenClaw ingest stopped: ${ingest.poller.health().reason ?? state}`));
    });
    await life.step('ingest', () => ingest.start(), () => ingest.stop());

    this.running = true;
    // The first line soon (the user waits to see it flow), then one every summaryMs.
    const next = (delayMs: number) => {
      this.summaryTimer = setTimeout(() => void this.printSummary().finally(() => this.stopping === undefined && next(config.summaryMs)), delayMs);
    };
    next(Math.min(FIRST_SUMMARY_MS, config.summaryMs));
    life.onStop('summary timer', async () => clearTimeout(this.summaryTimer));
    const seconds = ((performance.now() - this.startedAt) / 1000).toFixed(1);
    print(`rating pipeline: running after ${seconds} s; a summary in ${Math.min(FIRST_SUMMARY_MS, config.summaryMs) / 1000} s, then every ${config.summaryMs / 1000} s${config.durationMs ? `, for ${config.durationMs / 1000} s` : '; Ctrl-C to stop'}`);
  }

  /** One summary line; timers chain one after another, so a slow snapshot delays lines instead of stacking them. */
  private async printSummary(): Promise<void> {
    if (this.stopping !== undefined) return;
    const line = formatSummary(await this.snapshot());
    if (this.stopping === undefined) this.options.print(line);
  }

  private watch(app: StreamsApp, what: string): void {
    app.onStateChange((state) => {
      if (state === 'failed') this.options.onFailure(new Error(`${what} failed: ${app.error?.message ?? 'unknown error'}`));
    });
  }
}

/** `work`, or nothing once `ms` passed: a bounded best effort. */
function withinMs(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
}
