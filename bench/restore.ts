/**
 * The restore scenario: a `StreamsApp` whose only node is `builder.table(...)` over a topic of user
 * profiles (6 partitions, keys `u0..u<N-1>`, about 150 bytes each) rebuilds its store, timed from
 * `app.start()` until the app's state is `running`.
 *
 * The app restarts after having processed the whole topic: its group's committed offsets are set to
 * the end offsets before it starts, so every record is below the committed offset and only rebuilds
 * the store (`StateStores.restore`), as when an instance takes over the table's partitions. The
 * topic is produced once and kept (reused while it holds exactly N records); the PostgreSQL store's
 * table is dropped before and after each run.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
// The engine first: its transport installs its kafkajs fixes before anything else loads kafkajs.
import { KafkaTransport, StreamsApp, StreamsBuilder, silentLogger, type StoreOptions } from '../src/index.ts';
import { Kafka, logLevel } from 'kafkajs';
import { storeTableName } from '../src/state/sql-identifier.ts';
import { measure, type Result } from './measure.ts';

export interface RestoreOptions {
  readonly brokers: readonly string[];
  readonly profiles: number;
  readonly databaseUrl: string;
  /** The LRU cache's `maxEntries`, a bound per store, and so per partition; default 100,000. */
  readonly cacheEntries?: number;
}

export interface RestoreResult extends Result {
  /** Live rows in the PostgreSQL table after the app stopped (flushing its store); the in-memory store has none. */
  readonly storedRows?: number;
}

interface Profile {
  readonly id: string;
  readonly name: string;
  readonly email: string;
  readonly country: string;
  readonly plan: string;
  readonly createdAt: string;
  readonly bio: string;
}

const PARTITIONS = 6;
const STORE = 'bench-profiles';
const PRODUCE_BATCH = 10_000;
const DEFAULT_CACHE_ENTRIES = 100_000;

/** About 150 bytes of JSON. */
function profile(i: number): Profile {
  return {
    id: `u${i}`,
    name: `User ${i}`,
    email: `u${i}@example.com`,
    country: ['DE', 'FR', 'US', 'JP', 'BR'][i % 5] as string,
    plan: i % 7 === 0 ? 'pro' : 'free',
    createdAt: new Date(1_600_000_000_000 + i * 1_000).toISOString(),
    bio: 'likes fast delivery and honest reviews',
  };
}

function topicName(profiles: number): string {
  return `bench-profiles-${profiles === 1_000_000 ? '1m' : String(profiles)}`;
}

/** Creates the topic and produces the profiles, unless it already holds exactly `profiles` records. */
async function preload(transport: KafkaTransport, topic: string, profiles: number): Promise<void> {
  const admin = transport.admin();
  await admin.connect();
  try {
    if ((await admin.listTopics()).includes(topic)) {
      const held = [...(await admin.endOffsets(topic)).values()].reduce((sum, end) => sum + end, 0);
      if (held === profiles && (await admin.partitionCount(topic)) === PARTITIONS) return;
      await admin.deleteTopics([topic]);
      // Topic deletion completes asynchronously on the broker.
      while ((await admin.listTopics()).includes(topic)) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await admin.createTopics([{ topic, partitions: PARTITIONS }]);
    const producer = transport.producer();
    await producer.connect();
    const started = Date.now();
    for (let start = 0; start < profiles; start += PRODUCE_BATCH) {
      const count = Math.min(PRODUCE_BATCH, profiles - start);
      await producer.send(Array.from({ length: count }, (_, i) => ({ topic, key: Buffer.from(`u${start + i}`), value: Buffer.from(JSON.stringify(profile(start + i))) })));
    }
    await producer.disconnect();
    process.stderr.write(`produced ${profiles} profiles to ${topic} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  } finally {
    await admin.disconnect();
  }
}

/** Commits the end offsets for the group, as an instance that processed the whole topic would have. */
async function commitEnds(brokers: readonly string[], groupId: string, topic: string, ends: ReadonlyMap<number, number>): Promise<void> {
  const admin = new Kafka({ brokers: [...brokers], clientId: 'bench-restore', logLevel: logLevel.ERROR }).admin();
  await admin.connect();
  try {
    await admin.setOffsets({ groupId, topic, partitions: [...ends].map(([partition, offset]) => ({ partition, offset: String(offset) })) });
  } finally {
    await admin.disconnect();
  }
}

export type RestoreVariant = 'postgres' | 'memory';

/** One variant, in this process; `benchRestore` runs each in a process of its own. */
export async function runVariant(variant: RestoreVariant, options: RestoreOptions): Promise<RestoreResult> {
  const label = `${options.profiles.toLocaleString('en-US')} profiles`;
  if (variant === 'memory') return run(`restore ${label}: in-memory store`, options, undefined);
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 10 });
  try {
    return await run(`restore ${label}: PostgreSQL + LRU ${(options.cacheEntries ?? DEFAULT_CACHE_ENTRIES).toLocaleString('en-US')}`, options, pool);
  } finally {
    await pool.end();
  }
}

async function run(scenario: string, options: RestoreOptions, pool: pg.Pool | undefined): Promise<RestoreResult> {
  const { brokers, profiles } = options;
  const transport = new KafkaTransport({ brokers, clientId: 'bench', logLevel: 'error' });
  const topic = topicName(profiles);
  await preload(transport, topic, profiles);
  const admin = transport.admin();
  await admin.connect();
  const ends = await admin.endOffsets(topic);
  const applicationId = `bench-restore-${Date.now().toString(36)}`;
  await commitEnds(brokers, applicationId, topic, ends);
  const table = storeTableName(STORE);
  if (pool !== undefined) await pool.query(`DROP TABLE IF EXISTS ${table}`);

  const store: StoreOptions<string, Profile> = pool === undefined ? { name: STORE } : { name: STORE, postgres: { pool }, cache: { maxEntries: options.cacheEntries ?? DEFAULT_CACHE_ENTRIES } };
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  builder.table<string, Profile>(topic, { store });
  const app = new StreamsApp(builder.build(), { applicationId, transport, logger: silentLogger() });

  const result = await measure(
    scenario,
    profiles,
    async () => {
      const started = process.hrtime.bigint();
      let runningAt = started;
      let poll: NodeJS.Timeout | undefined;
      const reachedRunning = new Promise<void>((resolve, reject) => {
        // `running` also shows before the partitions are assigned (nothing to restore yet): done
        // only once every offset of the topic is restored.
        const check = () => {
          if (app.state === 'failed') reject(app.error ?? new Error('the app failed'));
          const { restored, total } = app.restorationProgress();
          if (app.state === 'running' && total >= profiles && restored >= total) resolve();
        };
        app.onStateChange((state) => {
          if (state === 'running') runningAt = process.hrtime.bigint();
          check();
        });
        poll = setInterval(check, 20);
      });
      await app.start();
      await reachedRunning.finally(() => clearInterval(poll));
      return Number(runningAt - started) / 1e9;
    },
    100,
  );
  // stop() flushes the store, so the row count tells whether the whole table landed.
  await app.stop();
  let storedRows: number | undefined;
  if (pool !== undefined) {
    storedRows = Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE v IS NOT NULL`)).rows[0]?.n ?? 0);
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
  }
  await admin.deleteTopics([`${applicationId}-dlq`]);
  await admin.disconnect();
  return storedRows === undefined ? result : { ...result, storedRows };
}

/**
 * Both variants, PostgreSQL behind an LRU cache (100,000 entries per partition by default), then the default in-memory store,
 * each in a fresh process so that one's heap does not inflate the other's peak RSS.
 */
export async function benchRestore(options: RestoreOptions): Promise<RestoreResult[]> {
  const results: RestoreResult[] = [];
  for (const variant of ['postgres', 'memory'] as const) results.push(await inChild(variant, options));
  return results;
}

function inChild(variant: RestoreVariant, options: RestoreOptions): Promise<RestoreResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./restore-variant.ts', import.meta.url)), [variant, JSON.stringify(options)], { execArgv: process.execArgv });
    let result: RestoreResult | undefined;
    child.on('message', (message) => {
      result = message as RestoreResult;
    });
    child.on('error', reject);
    child.on('exit', (code) => (result === undefined ? reject(new Error(`the ${variant} restore run exited with code ${String(code)}`)) : resolve(result)));
  });
}
