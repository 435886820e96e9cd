import type pg from 'pg';
import { ConfigError, StateStoreError } from '../errors/streams-error.ts';
import type { Serde } from '../serdes/serde.ts';
import { applyEach, DELETED, found, UNKNOWN, valueOf, type KeyValueStore, type Lookup, type StoreEntry } from './key-value-store.ts';
import { quoteIdentifier } from './sql-identifier.ts';
import { stateStoreFailure } from './store-error.ts';
import { keyBytes, keyIdentity } from './store-key.ts';

export interface PostgresKeyValueStoreOptions<K, V> {
  readonly name: string;
  /** The pool to query through; the store never ends it (its owner does). */
  readonly pool: pg.Pool;
  /** The store's own table, created by `init()`; a plain identifier (see `storeTableName`). */
  readonly table: string;
  /** Schema of the table; the connection's search path when absent. */
  readonly schema?: string;
  readonly keySerde: Serde<K>;
  readonly valueSerde: Serde<V>;
  /** Unflushed writes at which a write waits for a flush, bounding memory and batch size; default 1,000. */
  readonly maxPendingEntries?: number;
  /** Values scrubbed from error messages on top of the pool's password, which is always scrubbed. */
  readonly secrets?: readonly string[];
}

/** An unflushed write: the typed key and value for lookups, their bytes for the batch. */
interface Pending<K, V> {
  readonly key: K;
  readonly keyBytes: Buffer;
  /** `undefined` for a delete. */
  readonly value: V | undefined;
  readonly valueBytes: Buffer | null;
}

const DEFAULT_MAX_PENDING = 1_000;
const PAGE_SIZE = 1_000;

/**
 * A key-value store in its own PostgreSQL table `(k bytea PRIMARY KEY, v bytea, updated_at)`: keys
 * and values are stored as the bytes of their serdes, so any serde works and the table reads like
 * a compacted topic. A delete stores a tombstone row (`v` NULL), so a read-through loader cannot
 * resurrect a deleted key, even after a restart.
 *
 * Writes are buffered and written in batches, one idempotent upsert statement per `flush()` (which
 * the runtime calls at commit time, and which a write awaits once `maxPendingEntries` are pending);
 * lookups see unflushed writes. Errors are `StateStoreError`s with the pool's password scrubbed.
 *
 * @example
 * const store = new PostgresKeyValueStore({ name: 'users', pool, table: 'state_users', keySerde: stringSerde(), valueSerde: jsonSerde<User>() });
 * await store.init();
 */
export class PostgresKeyValueStore<K, V> implements KeyValueStore<K, V> {
  readonly name: string;
  readonly #pool: pg.Pool;
  readonly #table: string;
  readonly #keySerde: Serde<K>;
  readonly #valueSerde: Serde<V>;
  readonly #id: (key: K) => string;
  readonly #maxPending: number;
  readonly #secrets: readonly string[];
  #pending = new Map<string, Pending<K, V>>();
  /** The batch being written; lookups read it until the write is done. */
  #flushing: ReadonlyMap<string, Pending<K, V>> = new Map();
  /** Flushes run one after another, so batches land in the order they were taken. */
  #flushChain: Promise<void> = Promise.resolve();
  #state: 'new' | 'ready' | 'closed' = 'new';

  constructor(options: PostgresKeyValueStoreOptions<K, V>) {
    this.name = options.name;
    const table = quoteIdentifier(options.table, `State store "${options.name}": option table`);
    this.#table = options.schema === undefined ? table : `${quoteIdentifier(options.schema, `State store "${options.name}": option schema`)}.${table}`;
    this.#pool = options.pool;
    this.#keySerde = options.keySerde;
    this.#valueSerde = options.valueSerde;
    this.#id = keyIdentity(options.keySerde, options.name);
    this.#maxPending = options.maxPendingEntries ?? DEFAULT_MAX_PENDING;
    if (!Number.isSafeInteger(this.#maxPending) || this.#maxPending < 1) {
      throw new ConfigError(`State store "${options.name}": option maxPendingEntries must be a positive integer, got ${String(options.maxPendingEntries)}`);
    }
    this.#secrets = [...(options.secrets ?? []), ...poolSecrets(options.pool)];
  }

  /** Creates the store's table when it does not exist; existing rows are kept (a restart sees them). */
  async init(): Promise<void> {
    if (this.#state === 'closed') throw this.#closedError();
    const sql = `CREATE TABLE IF NOT EXISTS ${this.#table} (k bytea PRIMARY KEY, v bytea, updated_at timestamptz NOT NULL DEFAULT now())`;
    try {
      await this.#pool.query(sql);
    } catch (error) {
      // Two stores creating the table at once (two instances, or the partitions of one store, which
      // share it): one wins, and the other is refused in one of three ways depending on when the
      // winner committed. Refused or not, the table must be there now.
      const code = (error as { code?: unknown }).code;
      if (code !== '42P07' && code !== '23505' && code !== '42710') throw stateStoreFailure(this.name, `creating table ${this.#table}`, error, this.#secrets);
      const found = await this.#pool.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [this.#table]).catch(() => undefined);
      if (found?.rows[0]?.present !== true) throw stateStoreFailure(this.name, `creating table ${this.#table}`, error, this.#secrets);
    }
    this.#state = 'ready';
  }

  async get(key: K): Promise<V | undefined> {
    return valueOf(await this.lookup(key));
  }

  async lookup(key: K): Promise<Lookup<V>> {
    this.#checkReady();
    const id = this.#id(key);
    const unflushed = this.#pending.get(id) ?? this.#flushing.get(id);
    if (unflushed !== undefined) return unflushed.value === undefined ? DELETED : found(unflushed.value);
    const rows = await this.#query<{ v: Buffer | null }>('reading a key', `SELECT v FROM ${this.#table} WHERE k = $1`, [keyBytes(this.#keySerde, this.name, key)]);
    const row = rows[0];
    if (row === undefined) return UNKNOWN;
    if (row.v === null) return DELETED;
    return found(this.#valueSerde.deserialize(row.v, this.name) as V);
  }

  async put(key: K, value: V): Promise<void> {
    const valueBytes = this.#valueSerde.serialize(value, this.name);
    if (valueBytes === null) throw new StateStoreError(`State store "${this.name}": the value serde turned a value into null; use delete() for a tombstone`);
    await this.#write(key, value, valueBytes);
  }

  async delete(key: K): Promise<void> {
    await this.#write(key, undefined, null);
  }

  async putAll(entries: Iterable<StoreEntry<K, V>>): Promise<void> {
    await applyEach(this, entries);
  }

  /** Writes every pending write in one upsert statement; does nothing when none is pending. */
  flush(): Promise<void> {
    const run = this.#flushChain.then(() => this.#writeBatch());
    this.#flushChain = run.catch(() => undefined);
    return run;
  }

  /** Flushes, then refuses further use; the pool stays open for its owner to end. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    if (this.#state === 'ready') await this.flush();
    this.#state = 'closed';
  }

  /** Live rows in the table plus unflushed puts; unflushed deletes and overwrites are not subtracted. */
  async approximateSize(): Promise<number> {
    this.#checkReady();
    const rows = await this.#query<{ n: string }>('counting rows', `SELECT count(*) AS n FROM ${this.#table} WHERE v IS NOT NULL`, []);
    let unflushed = 0;
    for (const entry of [...this.#pending.values(), ...this.#flushing.values()]) if (entry.value !== undefined) unflushed++;
    return Number(rows[0]?.n ?? 0) + unflushed;
  }

  /** Flushes, then pages through the live rows in key order. */
  async *all(): AsyncIterable<StoreEntry<K, V> & { readonly value: V }> {
    this.#checkReady();
    await this.flush();
    let after: Buffer | null = null;
    for (;;) {
      const rows: Array<{ k: Buffer; v: Buffer }> = await this.#query<{ k: Buffer; v: Buffer }>(
        'reading all rows',
        `SELECT k, v FROM ${this.#table} WHERE v IS NOT NULL AND ($1::bytea IS NULL OR k > $1) ORDER BY k LIMIT ${PAGE_SIZE}`,
        [after],
      );
      for (const row of rows) {
        yield { key: this.#keySerde.deserialize(row.k, this.name) as K, value: this.#valueSerde.deserialize(row.v, this.name) as V };
      }
      if (rows.length < PAGE_SIZE) return;
      after = rows[rows.length - 1]?.k ?? null;
    }
  }

  /** Writes pending so far; for tests and metrics. */
  get pendingWrites(): number {
    return this.#pending.size;
  }

  async #write(key: K, value: V | undefined, valueBytes: Buffer | null): Promise<void> {
    this.#checkReady();
    const bytes = keyBytes(this.#keySerde, this.name, key);
    const id = this.#id(key);
    // Re-inserting moves the key to the end, so a batch lists keys in the order last written.
    this.#pending.delete(id);
    this.#pending.set(id, { key, keyBytes: bytes, value, valueBytes });
    if (this.#pending.size < this.#maxPending) return;
    // One batch is written while the next one fills: a writer waits only when a full batch is
    // pending and another one is still being written, so at most twice maxPendingEntries are held.
    if (this.#flushing.size > 0) await this.#flushChain;
    // A failed batch stays pending (see #writeBatch); the next flush, at the latest the commit's, reports it.
    if (this.#pending.size >= this.#maxPending) this.flush().catch(() => undefined);
  }

  async #writeBatch(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    this.#flushing = batch;
    const keys: Buffer[] = [];
    const values: Array<Buffer | null> = [];
    for (const entry of batch.values()) {
      keys.push(entry.keyBytes);
      values.push(entry.valueBytes);
    }
    try {
      // One statement, so a batch lands whole or not at all; an upsert, so writing it twice is harmless.
      await this.#query(
        `writing a batch of ${batch.size} entries`,
        `INSERT INTO ${this.#table} (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[]) ` +
          'ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v, updated_at = now()',
        [keys, values],
      );
    } catch (error) {
      // Keep the batch for the next flush, behind any write made to the same keys since.
      for (const [id, entry] of batch) if (!this.#pending.has(id)) this.#pending.set(id, entry);
      throw error;
    } finally {
      this.#flushing = new Map();
    }
  }

  async #query<R extends pg.QueryResultRow>(what: string, sql: string, values: unknown[]): Promise<R[]> {
    try {
      const result = await this.#pool.query<R>(sql, values);
      return result.rows;
    } catch (error) {
      throw stateStoreFailure(this.name, `${what} in table ${this.#table}`, error, this.#secrets);
    }
  }

  #checkReady(): void {
    if (this.#state === 'closed') throw this.#closedError();
    if (this.#state === 'new') throw new StateStoreError(`State store "${this.name}" is used before init()`);
  }

  #closedError(): StateStoreError {
    return new StateStoreError(`State store "${this.name}" is closed`);
  }
}

/** The pool's password, as given and from its connection string, so no error message shows it. */
function poolSecrets(pool: pg.Pool): string[] {
  const options = (pool as { options?: pg.PoolConfig }).options ?? {};
  const secrets: string[] = [];
  if (typeof options.password === 'string') secrets.push(options.password);
  if (options.connectionString !== undefined) {
    try {
      const password = new URL(options.connectionString).password;
      if (password !== '') secrets.push(password, decodeURIComponent(password));
    } catch {
      // Not a URL (a key=value string): the generic password=... pattern still scrubs it.
    }
  }
  return secrets;
}
