/**
 * The rating pipeline assembled for acceptance tests on a real broker and real PostgreSQL: the
 * OpenClaw simulator → the ingest → `ratings`; a PostgreSQL schema of its own → the users CDC →
 * `users`; the enrichment app (exactly-once) → `ratings_enriched` and an AI-agent endpoint. Every
 * topic, group and schema name is the test's own.
 *
 * What the tests check with comes from here too, kept apart from the code under test:
 * - {@link UsersTable} writes users the way an operator would and remembers every state each user
 *   had in PostgreSQL, as committed (`RETURNING to_jsonb(...)`), in commit order;
 * - {@link TopicTail} reads every topic read_committed, once per offset, until end-of-test
 *   sentinels written after the pipeline stopped;
 * - the records are decoded with plain avsc and the published schema files only.
 */
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import pg from 'pg';
import { cdcMigrations, runMigrations, UsersCdc, usersMapping } from '../../topologies/users-cdc.ts';
import { openClawIngest, type OpenClawIngest } from '../../topologies/openclaw-ingest.ts';
import { ratingsEnrichment, type RatingsEnrichment, type RatingsEnrichmentOptions } from '../../topologies/ratings-enrichment.ts';
import type { OpenClawSimulator } from '../../src/connectors/openclaw/simulator.ts';
import { StreamsApp, silentLogger, type Logger } from '../../src/index.ts';
import type { KafkaTransport } from '../../src/transport/kafka/index.ts';
import type { TransportConsumer } from '../../src/transport/transport.ts';
import { uniqueName } from './names.ts';
import { createTopics } from './streams-harness.ts';

const schemaFile = (name: string) => fileURLToPath(new URL(`../../topologies/schemas/${name}`, import.meta.url));
/** The independent readers: the published schema files and avsc, nothing of the project's serdes. */
export const enrichedType = avro.Type.forSchema(JSON.parse(readFileSync(schemaFile('rating-enriched.avsc'), 'utf8')) as avro.Schema);
export const ratingType = avro.Type.forSchema(JSON.parse(readFileSync(schemaFile('rating-event.avsc'), 'utf8')) as avro.Schema);

/** A user's profile as `ratings_enriched` carries it. */
export interface Profile {
  readonly id: string;
  readonly name: string | null;
  readonly email: string | null;
  readonly tier: string | null;
  readonly updatedAt: string | null;
}

export interface Rating {
  readonly id: string;
  readonly productId: string;
  readonly userId: string;
  readonly score: number;
  readonly comment: string | null;
  readonly timestamp: number;
}

export interface Enriched extends Rating {
  readonly userProfile: Profile | null;
  readonly enrichedAt: number;
}

/** `u000001`.., as the simulator names its users. */
export const userId = (n: number) => `u${String(n).padStart(6, '0')}`;

const TIERS = ['bronze', 'silver', 'gold'] as const;

/**
 * The `users` table in a schema of its own, written as an operator would; every state a user had
 * in PostgreSQL is kept in commit order (`null`: absent). Each version changes every column (name
 * `v<N>`, e-mail, tier, updated_at: consecutive versions differ in all of them), so a profile mixed
 * from two versions matches none of them.
 */
export class UsersTable {
  private readonly statesByUser = new Map<string, Array<Profile | null>>();
  private readonly versions = new Map<string, number>();
  private seeding = true;

  private constructor(
    readonly schema: string,
    readonly pool: pg.Pool,
    private readonly admin: pg.Pool,
  ) {}

  /** A fresh schema with the CDC's migrations applied; `pool` uses it as its search path. */
  static async create(databaseUrl: string): Promise<UsersTable> {
    const schema = uniqueName('pipeline').replaceAll('-', '_');
    const admin = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    await admin.query(`CREATE SCHEMA ${schema}`);
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 6, options: `-c search_path=${schema}` });
    await runMigrations(pool, cdcMigrations(usersMapping()));
    return new UsersTable(schema, pool, admin);
  }

  /** Users written before the pipeline starts: their first version is their state from the start. */
  async seed(ids: readonly string[]): Promise<void> {
    for (const id of ids) await this.upsert(id);
    this.seeding = false;
  }

  /** Every state the user had since the pipeline started, oldest first. */
  states(id: string): ReadonlyArray<Profile | null> {
    return this.statesByUser.get(id) ?? [null];
  }

  current(id: string): Profile | null {
    return this.states(id).at(-1) ?? null;
  }

  /** Inserts the user or writes its next version, in one transaction; returns the row as committed. */
  async upsert(id: string): Promise<Profile> {
    const version = (this.versions.get(id) ?? 0) + 1;
    this.versions.set(id, version);
    const { rows } = await this.pool.query<{ row: Record<string, unknown> }>(
      `INSERT INTO users (id, name, email, tier) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email, tier = EXCLUDED.tier, updated_at = now()
       RETURNING to_jsonb(users.*) AS row`,
      [id, `v${version}`, `${id}+v${version}@example.com`, TIERS[version % TIERS.length]],
    );
    const row = rows[0]?.row;
    if (row === undefined) throw new Error(`upsert of ${id} returned no row`);
    const profile: Profile = { id: String(row['id']), name: row['name'] as string, email: row['email'] as string, tier: row['tier'] as string, updatedAt: row['updated_at'] as string };
    this.push(id, profile);
    return profile;
  }

  async remove(id: string): Promise<void> {
    const { rowCount } = await this.pool.query('DELETE FROM users WHERE id = $1', [id]);
    if (rowCount !== 1) throw new Error(`delete of ${id} removed ${rowCount} rows`);
    this.push(id, null);
  }

  async drop(): Promise<void> {
    await this.pool.end().catch(() => undefined);
    await this.admin.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`).catch(() => undefined);
    await this.admin.end().catch(() => undefined);
  }

  private push(id: string, state: Profile | null): void {
    const states = this.statesByUser.get(id) ?? (this.seeding ? [] : [null]);
    states.push(state);
    this.statesByUser.set(id, states);
  }
}

/** Keys of the records a test writes to `ratings` itself (barrier markers, rejects) start with this. */
export const TEST_INPUT_PREFIX = 'test-';

/** Key of the end-of-test records (see {@link writeSentinels}). */
export const SENTINEL_KEY = '__end-of-test__';

export interface TailRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Reads topics read_committed from the beginning for the whole test. A record is kept once per
 * offset (kafkajs may hand a batch over again after a fetch or heartbeat error: that is this
 * reader's repeat, not a duplicate in the topic); records of one partition stay in offset order.
 */
export class TopicTail {
  private readonly kept = new Map<string, TailRecord[]>();
  private readonly offsets = new Set<string>();
  private readonly ends = new Set<string>();

  private constructor(private readonly consumer: TransportConsumer) {}

  static async start(transport: KafkaTransport, topics: readonly string[]): Promise<TopicTail> {
    const consumer = transport.consumer({ groupId: uniqueName('pipeline-reader'), isolationLevel: 'read_committed' });
    const tail = new TopicTail(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      eachBatch: async (batch) => {
        for (const record of batch.records) {
          const at = `${record.topic}:${record.partition}:${record.offset}`;
          if (tail.offsets.has(at)) continue;
          tail.offsets.add(at);
          const key = record.key?.toString('utf8') ?? null;
          if (key === SENTINEL_KEY) {
            tail.ends.add(`${record.topic}:${record.partition}`);
            continue;
          }
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(record.headers)) if (value !== undefined) headers[name] = value.toString('utf8');
          const list = tail.kept.get(record.topic) ?? [];
          list.push({ topic: record.topic, partition: record.partition, offset: record.offset, key, value: record.value, headers });
          tail.kept.set(record.topic, list);
        }
      },
    });
    return tail;
  }

  /** What was read of `topic` so far (sentinels left out). */
  records(topic: string): readonly TailRecord[] {
    return this.kept.get(topic) ?? [];
  }

  /** Whether the sentinel of every partition of `topic` has been read: everything before it has. */
  reachedEnd(topic: string, partitions: number): boolean {
    for (let p = 0; p < partitions; p++) if (!this.ends.has(`${topic}:${p}`)) return false;
    return true;
  }

  stop(): Promise<void> {
    return this.consumer.disconnect();
  }
}

/** Writes a sentinel to every partition of each topic; once a reader has them all, it has read everything written before. */
export async function writeSentinels(transport: KafkaTransport, topics: readonly string[]): Promise<Map<string, number>> {
  const admin = transport.admin();
  await admin.connect();
  const partitions = new Map<string, number>();
  try {
    for (const topic of topics) partitions.set(topic, await admin.partitionCount(topic));
  } finally {
    await admin.disconnect();
  }
  const producer = transport.producer();
  await producer.connect();
  try {
    await producer.send([...partitions].flatMap(([topic, count]) => Array.from({ length: count }, (_, partition) => ({ topic, partition, key: Buffer.from(SENTINEL_KEY), value: Buffer.from('end') }))));
  } finally {
    await producer.disconnect();
  }
  return partitions;
}

/**
 * The simulator's clock: ratings become available as their time comes, never past what the test
 * has released, and a released segment no faster than `ratePerSecond` from the moment it was
 * released (so a test running late still gets a stream, not a burst). All the ratings of a segment
 * are written after the test released it.
 */
export class ReleaseClock {
  private target = 0;
  private paced = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly startTimestamp: number,
    readonly ratePerSecond: number,
  ) {
    if (ratePerSecond > 1000) throw new Error('one rating per millisecond at most, so that timestamps are distinct');
    const step = ratePerSecond / 10;
    this.timer = setInterval(() => {
      this.paced = Math.min(this.target, this.paced + step);
    }, 100);
    this.timer.unref();
  }

  /** The slot timestamp of rating `index` (the simulator's formula). */
  timestampOf(index: number): number {
    return this.startTimestamp + Math.floor((index * 1000) / this.ratePerSecond);
  }

  /** Ratings `0 .. count - 1` may be served, paced from now on. */
  release(count: number): void {
    this.target = Math.max(this.target, count);
  }

  /** How many ratings are released (served once their time and pace allow). */
  get released(): number {
    return this.target;
  }

  readonly now = (): number => Math.min(Date.now(), this.timestampOf(Math.floor(this.paced)) - 1);

  stop(): void {
    clearInterval(this.timer);
  }
}

export interface PipelineNames {
  readonly ratings: string;
  readonly dlq: string;
  readonly users: string;
  readonly enriched: string;
  readonly applicationId: string;
  /** The enrichment's internal topic that re-keys ratings by user. */
  readonly repartition: string;
  readonly ingest: string;
  readonly cdc: string;
}

export function pipelineNames(): PipelineNames {
  const applicationId = uniqueName('enrichment');
  return {
    ratings: uniqueName('ratings'),
    dlq: uniqueName('ratings-dlq'),
    users: uniqueName('users'),
    enriched: uniqueName('ratings-enriched'),
    applicationId,
    repartition: `${applicationId}-ratings-by-user-repartition`,
    ingest: uniqueName('ingest'),
    cdc: uniqueName('users-cdc'),
  };
}

export interface PipelineOptions {
  readonly transport: KafkaTransport;
  readonly names: PipelineNames;
  readonly users: UsersTable;
  readonly simulator: OpenClawSimulator;
  readonly aiAgent?: RatingsEnrichmentOptions['aiAgent'];
  readonly maxInFlight?: number;
  /** Partitions of `ratings`, `ratings_enriched` and the dead-letter topic; default 3. */
  readonly partitions?: number;
  /** Partitions of `users` (and so of the re-keyed ratings); default 2. */
  readonly userPartitions?: number;
  /** LRU entries of the users table's store; default 8, far fewer than users: most lookups read PostgreSQL. */
  readonly cacheEntries?: number;
  /** For the app, the CDC and the ingest; default silent. */
  readonly logger?: Logger;
}

export interface RunningPipeline {
  readonly app: StreamsApp;
  readonly enrichment: RatingsEnrichment;
  readonly cdc: UsersCdc;
  readonly ingest: OpenClawIngest;
  /** Stops the ingest, the CDC and the app (each even if another fails); safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Creates the topics and starts the CDC (its snapshot published), the enrichment app (its users
 * table restored: state `running`) and the ingest, in that order.
 */
export async function startPipeline(options: PipelineOptions): Promise<RunningPipeline> {
  const { transport, names, users, simulator } = options;
  const partitions = options.partitions ?? 3;
  const logger = options.logger ?? silentLogger();
  await createTopics(transport, [
    { topic: names.ratings, partitions },
    { topic: names.dlq, partitions },
    { topic: names.enriched, partitions },
  ]);
  const started: Array<() => Promise<void>> = [];
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      for (const halt of started.reverse()) await halt().catch(() => undefined);
    })();
    return stopping;
  };
  try {
    const cdc = new UsersCdc({ pool: users.pool, transport, topic: names.users, name: names.cdc, intervalMs: 100, partitions: options.userPartitions ?? 2, migrate: false, logger: logger.child({ component: 'users-cdc' }) });
    started.push(() => cdc.stop());
    await cdc.start();

    const enrichment = ratingsEnrichment({
      ratingsTopic: names.ratings,
      usersTopic: names.users,
      enrichedTopic: names.enriched,
      users: { pool: users.pool, cacheEntries: options.cacheEntries ?? 8 },
      ...(options.aiAgent === undefined ? {} : { aiAgent: options.aiAgent }),
    });
    const app = new StreamsApp(enrichment.topology, {
      applicationId: names.applicationId,
      transport,
      processingGuarantee: 'exactly-once',
      deadLetterTopic: names.dlq,
      logger,
      maxInFlight: options.maxInFlight ?? 1000,
      transactionRetryBackoff: { initialMs: 200, maxMs: 2_000 },
      shutdownTimeoutMs: 10_000,
    });
    started.push(() => app.stop());
    await app.start();
    if (app.state !== 'running') {
      await new Promise<void>((resolve, reject) => {
        const off = app.onStateChange((state) => {
          if (state === 'running') resolve();
          else if (state === 'failed' || state === 'stopped') reject(new Error(`the enrichment app went ${state} while restoring: ${app.error?.message ?? ''}`));
          else return;
          off();
        });
      });
    }

    const ingest = openClawIngest({
      transport,
      url: simulator.url,
      apiKey: simulator.apiKey,
      ratingsTopic: names.ratings,
      deadLetterTopic: names.dlq,
      name: names.ingest,
      intervalMs: 100,
      pageSize: 100,
      timeoutMs: 2_000,
      backoff: { initialMs: 100, maxMs: 1_000 },
      logger: logger.child({ component: 'ingest' }),
    });
    started.push(() => ingest.stop());
    await ingest.start();
    return { app, enrichment, cdc, ingest, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Everything read back at the end of a run, decoded with the schema files. */
export interface RunRecords {
  /** Valid ratings in `ratings` by id: where each was written (every copy). */
  readonly ratings: ReadonlyMap<string, ReadonlyArray<{ readonly partition: number; readonly offset: number; readonly rating: Rating }>>;
  /** Records the test wrote to `ratings` itself (keys starting with {@link TEST_INPUT_PREFIX}). */
  readonly otherInput: ReadonlyMap<string, { readonly partition: number; readonly offset: number }>;
  /** `ratings_enriched` by key: every copy, decoded. */
  readonly enriched: ReadonlyMap<string, readonly Enriched[]>;
  /** Dead letters by key: the headers of every copy. */
  readonly deadLetters: ReadonlyMap<string, ReadonlyArray<Readonly<Record<string, string>>>>;
  /** Per user, the rating ids in the order the join took them (the re-keyed topic's offsets). */
  readonly joinOrder: ReadonlyMap<string, readonly string[]>;
  /** Per user, the values of `users` in offset order (`null`: tombstone). */
  readonly userChanges: ReadonlyMap<string, ReadonlyArray<Profile | null>>;
  /** Records no schema could read, `topic:partition:offset`: must be none. */
  readonly undecodable: readonly string[];
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/** Reads back and decodes what the tail holds of the pipeline's topics. */
export function runRecords(tail: TopicTail, names: PipelineNames): RunRecords {
  const undecodable: string[] = [];
  const where = (r: TailRecord) => `${r.topic}:${r.partition}:${r.offset}`;
  const ratings = new Map<string, Array<{ partition: number; offset: number; rating: Rating }>>();
  const otherInput = new Map<string, { partition: number; offset: number }>();
  for (const r of tail.records(names.ratings)) {
    if (r.key?.startsWith(TEST_INPUT_PREFIX)) {
      otherInput.set(r.key, { partition: r.partition, offset: r.offset });
      continue;
    }
    try {
      const rating = ratingType.fromBuffer(r.value ?? Buffer.alloc(0)) as Rating;
      push(ratings, rating.id === r.key ? rating.id : `<key ${r.key} holds ${rating.id}>`, { partition: r.partition, offset: r.offset, rating });
    } catch {
      undecodable.push(where(r));
    }
  }
  const enriched = new Map<string, Enriched[]>();
  for (const r of tail.records(names.enriched)) {
    try {
      const value = enrichedType.fromBuffer(r.value ?? Buffer.alloc(0)) as Enriched;
      // A record whose key is not its id is counted under a name that fails every comparison.
      push(enriched, value.id === r.key ? value.id : `<key ${r.key} holds ${value.id}>`, value);
    } catch {
      undecodable.push(where(r));
    }
  }
  const deadLetters = new Map<string, Array<Readonly<Record<string, string>>>>();
  for (const r of tail.records(names.dlq)) push(deadLetters, r.key ?? `<null key at ${where(r)}>`, r.headers);
  const joinOrder = new Map<string, string[]>();
  for (const r of tail.records(names.repartition)) {
    try {
      const rating = ratingType.fromBuffer(r.value ?? Buffer.alloc(0)) as Rating;
      push(joinOrder, r.key ?? '<null>', rating.id);
    } catch {
      undecodable.push(where(r));
    }
  }
  const userChanges = new Map<string, Array<Profile | null>>();
  for (const r of tail.records(names.users)) {
    const value = r.value === null ? null : (JSON.parse(r.value.toString('utf8')) as Profile);
    push(userChanges, r.key ?? '<null>', value === null ? null : { id: value.id, name: value.name, email: value.email, tier: value.tier, updatedAt: value.updatedAt });
  }
  return { ratings, otherInput, enriched, deadLetters, joinOrder, userChanges, undecodable };
}

/** The contract's fields of a profile, whatever else a value carries. */
export const toProfile = (value: Profile): Profile => ({ id: value.id, name: value.name, email: value.email, tier: value.tier, updatedAt: value.updatedAt });

const sameProfile = (a: Profile | null, b: Profile | null): boolean =>
  a === null || b === null ? a === b : a.id === b.id && a.name === b.name && a.email === b.email && a.tier === b.tier && a.updatedAt === b.updatedAt;

/** The positions in `states` that `profile` is equal to (every field). */
export function versionsMatching(states: ReadonlyArray<Profile | null>, profile: Profile | null): number[] {
  const out: number[] = [];
  states.forEach((state, index) => {
    if (sameProfile(state, profile)) out.push(index);
  });
  return out;
}

/**
 * A point in the run after which every user's profile in the enrichment's table was its current
 * PostgreSQL state: `since[p]` is the offset in `ratings` partition p of a marker written after
 * the table had it, `atLeast` the index of that state in each user's states.
 */
export interface Barrier {
  readonly name: string;
  readonly since: ReadonlyMap<number, number>;
  readonly atLeast: ReadonlyMap<string, number>;
}

/** What is wrong with the profiles the join gave: each line one violation (none when it works). */
export function profileViolations(run: RunRecords, users: UsersTable, barriers: readonly Barrier[]): string[] {
  const problems: string[] = [];
  const chosen = new Map<string, number>();
  // Per user, in the join's order: a state PostgreSQL committed, never older than the one before.
  for (const [user, ids] of run.joinOrder) {
    const states = users.states(user);
    let previous = 0;
    for (const id of ids) {
      const value = run.enriched.get(id)?.[0];
      if (value === undefined) continue;
      const matching = versionsMatching(states, value.userProfile);
      if (matching.length === 0) {
        problems.push(`${id} of ${user} carries ${JSON.stringify(value.userProfile)}, which PostgreSQL never committed for it`);
        continue;
      }
      const next = matching.find((index) => index >= previous);
      if (next === undefined) {
        problems.push(`${id} of ${user} carries state #${matching.join('/')} after #${previous}: older than the profile an earlier rating of the user was joined with`);
        continue;
      }
      previous = next;
      chosen.set(id, next);
    }
  }
  // After a barrier, nothing older than the state the table had then.
  for (const barrier of barriers) {
    for (const [id, copies] of run.ratings) {
      const at = copies[0];
      const since = at === undefined ? undefined : barrier.since.get(at.partition);
      if (at === undefined || since === undefined || at.offset <= since) continue;
      const user = at.rating.userId;
      const required = barrier.atLeast.get(user) ?? 0;
      const value = run.enriched.get(id)?.[0];
      if (value === undefined) continue;
      const states = users.states(user);
      if (!versionsMatching(states, value.userProfile).some((index) => index >= required)) {
        problems.push(`${id} of ${user}, written after barrier ${barrier.name}, carries ${JSON.stringify(value.userProfile)}; the table had ${JSON.stringify(states[required])} before it was written`);
      }
    }
  }
  return problems;
}

/** How many ratings of each user were written after the barrier (what its check rests on). */
export function ratingsAfter(run: RunRecords, barrier: Barrier): Map<string, number> {
  const counts = new Map<string, number>();
  for (const copies of run.ratings.values()) {
    const at = copies[0];
    const since = at === undefined ? undefined : barrier.since.get(at.partition);
    if (at === undefined || since === undefined || at.offset <= since) continue;
    counts.set(at.rating.userId, (counts.get(at.rating.userId) ?? 0) + 1);
  }
  return counts;
}

export interface BarrierOptions {
  readonly name: string;
  readonly transport: KafkaTransport;
  readonly tail: TopicTail;
  readonly names: PipelineNames;
  readonly app: StreamsApp;
  readonly users: UsersTable;
  /** The users whose current state the table must have before the marker is written. */
  readonly userIds: readonly string[];
  readonly timeoutMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the enrichment's users table has applied every listed user's current PostgreSQL
 * state: the CDC has published it (the tail read it as the user's last record of `users`) and the
 * app has committed its offset on `users` past that record (a table record is put into the store
 * when it is processed, before its offset can commit). This reads neither the store nor its cache,
 * so a store that answers lookups with something older than it was given is not waited out.
 * Then writes a marker to each partition of `ratings` (bytes that are no rating: the enrichment
 * dead-letters them) and waits until the tail has read them. Every rating written after a marker
 * was joined after the table had those states.
 */
export async function placeBarrier(options: BarrierOptions): Promise<Barrier> {
  const { tail, names, users } = options;
  const atLeast = new Map(options.userIds.map((id) => [id, users.states(id).length - 1] as const));
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const admin = options.transport.admin();
  await admin.connect();
  let partitions: number;
  try {
    for (;;) {
      const last = new Map<string, TailRecord>();
      for (const r of tail.records(names.users)) if (r.key !== null) last.set(r.key, r);
      const required = new Map<number, number>();
      const behind: string[] = [];
      for (const id of options.userIds) {
        const expected = users.current(id);
        const record = last.get(id);
        const published = record === undefined ? null : record.value === null ? null : (JSON.parse(record.value.toString('utf8')) as Profile);
        if (record === undefined && expected === null) continue;
        if (record === undefined || !versionsMatching([expected], published === null ? null : toProfile(published)).includes(0)) {
          behind.push(`${id}: ${names.users} has ${JSON.stringify(published)}, PostgreSQL ${JSON.stringify(expected)}`);
          continue;
        }
        required.set(record.partition, Math.max(required.get(record.partition) ?? 0, record.offset + 1));
      }
      if (behind.length === 0) {
        const committed = await admin.committedOffsets(options.app.applicationId, names.users);
        for (const [partition, offset] of required) if ((committed.get(partition) ?? 0) < offset) behind.push(`${names.users}[${partition}]: committed ${committed.get(partition) ?? 'nothing'}, the change is at ${offset - 1}`);
      }
      if (behind.length === 0) break;
      if (Date.now() > deadline) throw new Error(`barrier ${options.name}: the users table did not catch up with PostgreSQL: ${behind.join('; ')}`);
      await sleep(100);
    }
    partitions = await admin.partitionCount(names.ratings);
  } finally {
    await admin.disconnect();
  }
  const keys = Array.from({ length: partitions }, (_, p) => `${TEST_INPUT_PREFIX}barrier-${options.name}-p${p}`);
  const producer = options.transport.producer();
  await producer.connect();
  try {
    await producer.send(keys.map((key, partition) => ({ topic: names.ratings, partition, key: Buffer.from(key), value: Buffer.from(`not avro: barrier ${options.name}`) })));
  } finally {
    await producer.disconnect();
  }
  const since = new Map<number, number>();
  while (since.size < partitions) {
    if (Date.now() > deadline) throw new Error(`barrier ${options.name}: the markers were not read back`);
    for (const r of tail.records(names.ratings)) {
      const p = keys.indexOf(r.key ?? '');
      if (p >= 0) since.set(r.partition, r.offset);
    }
    if (since.size < partitions) await sleep(50);
  }
  return { name: options.name, since, atLeast };
}

/**
 * Waits until `group` has committed, on every partition of `topic`, past the last record the tail
 * read there. (Not "up to the end offset": after a transaction's last record comes its commit
 * marker, which a consumer never hands over, so a committed offset stays one below the end offset
 * of a partition written transactionally.) Call it once the tail has read every record expected.
 */
export async function waitUntilConsumed(transport: KafkaTransport, tail: TopicTail, group: string, topic: string, timeoutMs = 60_000): Promise<void> {
  const required = new Map<number, number>();
  for (const r of tail.records(topic)) required.set(r.partition, Math.max(required.get(r.partition) ?? 0, r.offset + 1));
  const admin = transport.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const committed = await admin.committedOffsets(group, topic);
      const behind = [...required].filter(([partition, offset]) => (committed.get(partition) ?? 0) < offset);
      if (behind.length === 0) return;
      if (Date.now() > deadline) throw new Error(`group ${group} committed ${JSON.stringify([...committed])} of ${topic}; it has to pass ${JSON.stringify(behind)}`);
      await sleep(200);
    }
  } finally {
    await admin.disconnect();
  }
}

/** A decoded record (avsc builds class instances) as the plain data JSON gives. */
export const plain = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));
export const sorted = (ids: Iterable<string>): string[] => [...ids].sort();
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await pause(100);
  }
}

export interface DrainOptions {
  readonly transport: KafkaTransport;
  readonly tail: TopicTail;
  readonly names: PipelineNames;
  readonly sim: OpenClawSimulator;
  /** Ratings the test let the simulator serve. */
  readonly released: number;
  readonly pipeline: RunningPipeline;
  /** Bound of each wait; default 120 s. */
  readonly timeoutMs?: number;
}

export interface DrainedRun {
  readonly run: RunRecords;
  readonly validIds: string[];
  readonly invalidIds: string[];
  /** Partitions per topic (the sentinels written). */
  readonly partitions: Map<string, number>;
}

/**
 * The end of a run: waits until the simulator served every released rating, the ingest wrote each
 * (valid or dead-lettered) and the enrichment committed both its inputs, stops the pipeline, and
 * reads every topic to its end.
 */
export async function drainRun(options: DrainOptions): Promise<DrainedRun> {
  const { transport, tail, names, sim, released, pipeline } = options;
  const timeoutMs = options.timeoutMs ?? 120_000;
  await waitUntil(() => sim.availableCount() === released, timeoutMs, () => `the simulator to serve all ${released} ratings (${sim.availableCount()})`);
  const validIds = sim.expectedValid();
  const invalidIds = sim.expectedInvalid();
  const inputKeys = [...validIds, ...invalidIds];
  await waitUntil(
    () => {
      const seen = new Set([...tail.records(names.ratings), ...tail.records(names.dlq)].map((r) => r.key));
      return inputKeys.every((id) => seen.has(id));
    },
    timeoutMs,
    () => `the ingest to write all ${validIds.length} valid and ${invalidIds.length} invalid ratings: ${JSON.stringify(pipeline.ingest.poller.stats())} ${JSON.stringify(pipeline.ingest.poller.health())}`,
  );
  await waitUntilConsumed(transport, tail, names.applicationId, names.ratings, timeoutMs);
  await waitUntil(() => tail.records(names.repartition).length >= validIds.length, timeoutMs, () => `the ${validIds.length} re-keyed ratings (${tail.records(names.repartition).length})`);
  await waitUntilConsumed(transport, tail, names.applicationId, names.repartition, timeoutMs);
  await pipeline.stop();
  const partitions = await writeSentinels(transport, [names.ratings, names.dlq, names.users, names.enriched, names.repartition]);
  await waitUntil(() => [...partitions].every(([topic, count]) => tail.reachedEnd(topic, count)), timeoutMs, () => 'the tail to read every topic to its end');
  return { run: runRecords(tail, names), validIds, invalidIds, partitions };
}

/**
 * What breaks "each valid rating once in `ratings`, once in the join's input, once in
 * `ratings_enriched`, unaltered": every list is empty when it holds.
 */
export function exactlyOnceViolations(run: RunRecords, validIds: readonly string[], served: ReadonlyMap<string, unknown>) {
  const fields = ({ id, productId, userId: user, score, comment, timestamp }: Enriched) => ({ id, productId, userId: user, score, comment, timestamp });
  const missing = (have: Iterable<string>) => {
    const set = new Set(have);
    return validIds.filter((id) => !set.has(id));
  };
  const valid = new Set(validIds);
  return {
    notInRatings: missing(run.ratings.keys()),
    unexpectedInRatings: [...run.ratings.keys()].filter((id) => !valid.has(id)),
    repeatedInRatings: [...run.ratings].filter(([, copies]) => copies.length !== 1).map(([id]) => id),
    joinInputs: sorted([...run.joinOrder.values()].flat()).join(',') === sorted(validIds).join(',') ? [] : ['the join input is not each valid rating once'],
    notEnriched: missing(run.enriched.keys()),
    unexpectedEnriched: [...run.enriched.keys()].filter((id) => !valid.has(id)),
    repeatedEnriched: [...run.enriched].filter(([, copies]) => copies.length !== 1).map(([id]) => id),
    altered: [...run.enriched.values()].map((copies) => copies[0] as Enriched).filter((value) => !isDeepStrictEqual(plain(fields(value)), plain(served.get(value.id)))).map((value) => value.id),
  };
}

/** `exactlyOnceViolations` with nothing in it. */
export const NO_VIOLATIONS = { notInRatings: [], unexpectedInRatings: [], repeatedInRatings: [], joinInputs: [], notEnriched: [], unexpectedEnriched: [], repeatedEnriched: [], altered: [] };
