/**
 * Publishes a PostgreSQL table (by default `users`) to a compacted Kafka topic: key = the row's
 * key, value = a JSON profile, null value (tombstone) when the row is deleted.
 *
 * How changes are captured: a trigger writes every INSERT / UPDATE / DELETE as a row of a change
 * table (`users_changes`, `seq bigserial`). Updates of one user serialize on that user's row lock,
 * so the trigger of the later one runs (and takes its `seq`) after the earlier one committed:
 * bigserial order equals commit order per user, which is all a topic keyed by user needs. Across
 * users it does not: a transaction may take seq 10 and commit after another took 11. A poller that
 * moved its cursor past 11 would then never see 10, so {@link UsersCdc} never steps over a gap in
 * `seq` until every transaction that could still fill it has ended (see `pollOnce`); a gap left
 * by a rollback is stepped over then.
 *
 * Exactly-once to Kafka: each batch of changes is written in ONE Kafka transaction together with
 * the cursor (the batch's last seq) on a compacted cursor topic, so after a crash the cursor read
 * back is exactly the one of the last batch that became visible and polling resumes right after
 * it: nothing lost, nothing reordered. Processed change rows are deleted (`seq <= cursor`) only
 * AFTER the Kafka commit: a crash in between leaves rows the cursor already covers; they are never
 * re-published (the query asks for `seq > cursor`) and are deleted at the next start. (Were they
 * re-published, it would still be harmless for a compacted topic keyed by user, but not in order
 * with later changes; the cursor rules that out.)
 *
 * First start (no cursor): every current row is published in one Kafka transaction with the
 * change table's sequence position (≥ its max seq) as the cursor, both read in one REPEATABLE READ transaction after
 * `LOCK TABLE ... IN SHARE MODE`, which waits for in-flight writers and holds new ones back for
 * the snapshot's duration, so no change below that seq is still uncommitted.
 *
 * Singleton: the transactional id is `name`; a second instance fences the first. Not captured:
 * TRUNCATE (no row triggers fire).
 */
import type pg from 'pg';
import { StreamsError, toError } from '../../errors/streams-error.ts';
import { silentLogger, type Logger } from '../../runtime/logger.ts';
import type { OutgoingRecord, Transport, TransportProducer } from '../../transport/transport.ts';
import { ensureCursorTopic, readLatestValue } from '../cursor-topic.ts';
import { runMigrations, type Migration } from './migrations.ts';

/** Which table is published, and how a row becomes a record value. */
export interface CdcTableMapping {
  readonly table: string;
  readonly keyColumn: string;
  readonly changeTable: string;
  /** The change table's column holding the row key (`user_id` for users). */
  readonly changeKeyColumn: string;
  /** Column definitions for `CREATE TABLE IF NOT EXISTS`; undefined: the table must exist. */
  readonly createColumns?: string;
  /** The row as `to_jsonb(row)` gives it (timestamps as ISO strings) → the JSON value published. */
  toValue(row: Readonly<Record<string, unknown>>): unknown;
}

/** A user profile as published on `users`. */
export interface UserProfile {
  readonly id: string;
  readonly name: string | null;
  readonly email: string | null;
  readonly tier: string | null;
  readonly updatedAt: string | null;
}

const text = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

/** The `users` table: id text primary key, name, email, tier, updated_at. */
export function usersMapping(table = 'users'): CdcTableMapping {
  return {
    table,
    keyColumn: 'id',
    changeTable: `${table}_changes`,
    changeKeyColumn: 'user_id',
    createColumns: 'id text PRIMARY KEY, name text, email text, tier text, updated_at timestamptz NOT NULL DEFAULT now()',
    toValue: (row): UserProfile => ({ id: String(row.id), name: text(row.name), email: text(row.email), tier: text(row.tier), updatedAt: text(row.updated_at) }),
  };
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * The table (if `createColumns`), the change table and the capture trigger, as versions
 * `firstVersion`.. `firstVersion + 2` (give each mapping in one schema its own range).
 */
export function cdcMigrations(mapping: CdcTableMapping, firstVersion = 1): Migration[] {
  const table = ident(mapping.table);
  const changes = ident(mapping.changeTable);
  const key = ident(mapping.keyColumn);
  const changeKey = ident(mapping.changeKeyColumn);
  const capture = ident(`${mapping.table}_capture`);
  const created: Migration[] = mapping.createColumns === undefined ? [] : [{ version: firstVersion, name: `create ${mapping.table}`, up: `CREATE TABLE IF NOT EXISTS ${table} (${mapping.createColumns})` }];
  return [
    ...created,
    {
      version: firstVersion + 1,
      name: `create ${mapping.changeTable}`,
      up: `CREATE TABLE IF NOT EXISTS ${changes} (seq bigserial PRIMARY KEY, ${changeKey} text NOT NULL, op text NOT NULL, row jsonb NOT NULL, changed_at timestamptz NOT NULL DEFAULT now())`,
    },
    {
      version: firstVersion + 2,
      name: `capture ${mapping.table} changes`,
      // SET search_path FROM CURRENT: writers with another search_path still find the change table.
      // A key change is a delete of the old key then an insert of the new one.
      up: `
        CREATE OR REPLACE FUNCTION ${capture}() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
        BEGIN
          IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.${key} IS DISTINCT FROM NEW.${key}) THEN
            INSERT INTO ${changes} (${changeKey}, op, row) VALUES (OLD.${key}::text, 'DELETE', to_jsonb(OLD));
          END IF;
          IF TG_OP <> 'DELETE' THEN
            INSERT INTO ${changes} (${changeKey}, op, row) VALUES (NEW.${key}::text, TG_OP, to_jsonb(NEW));
          END IF;
          RETURN NULL;
        END $fn$;
        DROP TRIGGER IF EXISTS ${capture} ON ${table};
        CREATE TRIGGER ${capture} AFTER INSERT OR UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${capture}();`,
    },
  ];
}

export interface UsersCdcOptions {
  readonly pool: pg.Pool;
  readonly transport: Transport;
  /** Default `users`. */
  readonly topic?: string;
  /** Transactional id and cursor key; default `users-cdc`. */
  readonly name?: string;
  /** Default `${name}-cursor`. */
  readonly cursorTopic?: string;
  /** Changes per Kafka transaction; default 500. */
  readonly batchSize?: number;
  /** Wait between polls once caught up; default 1000 ms. */
  readonly intervalMs?: number;
  /** Default {@link usersMapping}(). */
  readonly mapping?: CdcTableMapping;
  /** Run {@link cdcMigrations} at start; default true. */
  readonly migrate?: boolean;
  /** Partitions of the topic if this creates it; default 1. */
  readonly partitions?: number;
  readonly logger?: Logger;
}

interface ChangeRow {
  readonly seq: string;
  readonly key: string;
  readonly op: string;
  readonly row: Record<string, unknown>;
}

/** A gap in seq after the cursor, and the xid horizon past which no transaction can fill it. */
interface Gap {
  /** The first seq seen after the gap. */
  readonly seq: bigint;
  /** `pg_snapshot_xmax` of a snapshot taken after `seq` was seen. */
  readonly horizon: bigint;
}

export class UsersCdc {
  readonly topic: string;
  readonly name: string;
  readonly cursorTopic: string;
  private readonly mapping: CdcTableMapping;
  private readonly batchSize: number;
  private readonly intervalMs: number;
  private readonly logger: Logger;
  private producer: TransportProducer | undefined;
  private cursorValue: bigint | undefined;
  private gap: Gap | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private counters = { published: 0, batches: 0, snapshotRows: 0 };

  constructor(private readonly options: UsersCdcOptions) {
    this.topic = options.topic ?? 'users';
    this.name = options.name ?? 'users-cdc';
    this.cursorTopic = options.cursorTopic ?? `${this.name}-cursor`;
    this.mapping = options.mapping ?? usersMapping();
    this.batchSize = options.batchSize ?? 500;
    this.intervalMs = options.intervalMs ?? 1000;
    this.logger = options.logger ?? silentLogger();
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new StreamsError(`users-cdc ${this.name}: batchSize must be a positive integer, got ${this.batchSize}`, { code: 'CONFIG_INVALID' });
    if (!/^[A-Za-z0-9._-]+$/.test(this.name)) throw new StreamsError(`users-cdc: name ${this.name} may hold only letters, digits, '.', '_' and '-'`, { code: 'CONFIG_INVALID' });
  }

  /** The last seq published (committed with the records), once started. */
  get cursor(): bigint | undefined {
    return this.cursorValue;
  }

  get metrics(): { readonly published: number; readonly batches: number; readonly snapshotRows: number } {
    return { ...this.counters };
  }

  /** Migrations, topics, fencing, the cursor (or the initial snapshot); then polls every `intervalMs` unless `poll: false`. */
  async start(options: { readonly poll?: boolean } = {}): Promise<void> {
    if (this.options.migrate ?? true) await runMigrations(this.options.pool, cdcMigrations(this.mapping));
    await this.open();
    if (options.poll ?? true) {
      this.running = true;
      this.schedule(0);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.queue.catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = undefined;
  }

  /**
   * Publishes the next batch of changes (at most `batchSize`) in one transaction with its cursor,
   * then deletes the change rows it covers. Returns how many changes it published. Calls queue.
   */
  pollOnce(): Promise<number> {
    const next = this.queue.then(() => this.poll());
    this.queue = next.catch(() => undefined);
    return next;
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.pollOnce().then(
        (count) => this.schedule(count === this.batchSize ? 0 : this.intervalMs),
        (error: unknown) => {
          this.logger.error({ err: toError(error) }, 'users-cdc poll failed; retrying after the interval');
          this.schedule(this.intervalMs);
        },
      );
    }, delayMs);
  }

  /** A new transactional producer (fencing an older instance), then the committed cursor or a snapshot. */
  private async open(): Promise<void> {
    const { transport } = this.options;
    await this.producer?.disconnect().catch(() => undefined);
    const admin = transport.admin();
    await admin.connect();
    try {
      await admin.createTopics([{ topic: this.topic, partitions: this.options.partitions ?? 1, config: { 'cleanup.policy': 'compact' } }]);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await ensureCursorTopic(transport, this.cursorTopic);
    const producer = transport.producer({ clientId: this.name, transactionalId: this.name });
    await producer.connect();
    this.producer = producer;
    // The first transaction fences an older instance and settles its open transaction.
    await (await producer.transaction()).abort();
    const stored = await readLatestValue(transport, this.cursorTopic, this.name);
    this.gap = undefined;
    if (stored === null) await this.snapshot(producer);
    else this.cursorValue = decodeSeq(stored);
    await this.deleteProcessed();
    this.logger.info({ cursor: String(this.cursorValue) }, 'users-cdc resuming after the committed cursor');
  }

  private async snapshot(producer: TransportProducer): Promise<void> {
    const client = await this.options.pool.connect();
    let rows: Record<string, unknown>[];
    let seq: bigint;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      // Before the snapshot is taken (first query): waits for in-flight writers, holds new ones.
      await client.query(`LOCK TABLE ${ident(this.mapping.table)} IN SHARE MODE`);
      // The sequence's position, not max(seq): the change table may be empty (rows deleted) while
      // the sequence is past 0, and the cursor must not leave a gap below the next seq. With writers
      // held back by the lock, every seq it handed out belongs to a transaction that has ended.
      const named = await client.query<{ name: string | null }>(`SELECT pg_get_serial_sequence($1, 'seq') AS name`, [ident(this.mapping.changeTable)]);
      const sequence = named.rows[0]?.name;
      if (sequence === null || sequence === undefined) throw new StreamsError(`users-cdc ${this.name}: ${this.mapping.changeTable}.seq has no sequence`, { code: 'CONFIG_INVALID' });
      const max = await client.query<{ seq: string }>(`SELECT (CASE WHEN is_called THEN last_value ELSE last_value - 1 END)::text AS seq FROM ${sequence}`);
      seq = BigInt(max.rows[0]?.seq ?? '0');
      const all = await client.query<{ row: Record<string, unknown> }>(`SELECT to_jsonb(t) AS row FROM ${ident(this.mapping.table)} t ORDER BY ${ident(this.mapping.keyColumn)}`);
      rows = all.rows.map((r) => r.row);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    const records = rows.map((row) => this.record(String(row[this.mapping.keyColumn]), row));
    await this.publish(producer, records, seq);
    this.counters.snapshotRows += rows.length;
    this.logger.info({ rows: rows.length, seq: String(seq) }, 'users-cdc published the initial snapshot');
  }

  private async poll(): Promise<number> {
    const producer = this.producer;
    const cursor = this.cursorValue;
    if (producer === undefined || cursor === undefined) throw new StreamsError(`users-cdc ${this.name} is not started`, { code: 'CONFIG_INVALID' });
    const pool = this.options.pool;
    // A gap is settled once every transaction that could fill it has ended (xmin passed the horizon);
    // checked BEFORE the select, so the select sees whatever those transactions committed.
    let settledThrough = -1n;
    if (this.gap !== undefined) {
      const xmin = await pool.query<{ xmin: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin');
      if (BigInt(xmin.rows[0]?.xmin ?? '0') >= this.gap.horizon) settledThrough = this.gap.seq;
    }
    // `c.seq`, qualified: a bare `ORDER BY seq` names the text output column and sorts "10" before
    // "9", so the LIMIT took a window out of seq order and the cursor stepped over changes.
    const result = await pool.query<ChangeRow>(
      `SELECT c.seq::text AS seq, c.${ident(this.mapping.changeKeyColumn)} AS key, c.op, c.row FROM ${ident(this.mapping.changeTable)} c WHERE c.seq > $1 ORDER BY c.seq LIMIT $2`,
      [cursor.toString(), this.batchSize],
    );
    const accepted: ChangeRow[] = [];
    let expected = cursor + 1n;
    let blocked = false;
    for (const change of result.rows) {
      const seq = BigInt(change.seq);
      if (seq !== expected && seq > settledThrough) {
        blocked = true;
        // Keep an unsettled gap's horizon (a fresh one would push it back forever) unless this is a later gap.
        if (this.gap === undefined || settledThrough >= 0n || seq > this.gap.seq) {
          const xmax = await pool.query<{ xmax: string }>('SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax');
          this.gap = { seq, horizon: BigInt(xmax.rows[0]?.xmax ?? '0') };
        }
        break;
      }
      accepted.push(change);
      expected = seq + 1n;
    }
    if (!blocked) this.gap = undefined;
    const last = accepted.at(-1);
    if (last === undefined) return 0;
    const records = accepted.map((change) => this.record(change.key, change.op === 'DELETE' ? null : change.row));
    await this.publish(producer, records, BigInt(last.seq));
    this.counters.published += accepted.length;
    this.counters.batches += 1;
    await this.deleteProcessed();
    return accepted.length;
  }

  private record(key: string, row: Record<string, unknown> | null): OutgoingRecord {
    return { topic: this.topic, key: Buffer.from(key, 'utf8'), value: row === null ? null : Buffer.from(JSON.stringify(this.mapping.toValue(row)), 'utf8') };
  }

  /** The records and the cursor in one Kafka transaction; the cursor moves only when it committed. */
  private async publish(producer: TransportProducer, records: readonly OutgoingRecord[], seq: bigint): Promise<void> {
    const transaction = await producer.transaction();
    try {
      await transaction.send([...records, { topic: this.cursorTopic, key: Buffer.from(this.name, 'utf8'), value: encodeSeq(seq) }]);
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      // What is committed is what the cursor topic says: a fresh producer reads it back.
      await this.open().catch((reopen: unknown) => this.logger.error({ err: toError(reopen) }, 'users-cdc could not re-open after a failed transaction'));
      throw new StreamsError(`users-cdc ${this.name}: the transaction up to seq ${seq} failed: ${toError(error).message}`, { code: 'TRANSACTION_FAILED', cause: error, retriable: true });
    }
    this.cursorValue = seq;
  }

  /** After the Kafka commit: rows the cursor covers are never read again. */
  private async deleteProcessed(): Promise<void> {
    if (this.cursorValue === undefined) return;
    await this.options.pool.query(`DELETE FROM ${ident(this.mapping.changeTable)} WHERE seq <= $1`, [this.cursorValue.toString()]);
  }
}

export function encodeSeq(seq: bigint): Buffer {
  return Buffer.from(JSON.stringify({ seq: seq.toString() }), 'utf8');
}

export function decodeSeq(data: Buffer): bigint {
  const parsed = JSON.parse(data.toString('utf8')) as { seq?: unknown };
  if (typeof parsed.seq !== 'string' || !/^\d+$/.test(parsed.seq)) {
    throw new StreamsError(`cursor record ${data.toString('utf8').slice(0, 200)} is not { seq: "<digits>" }`, { code: 'DESERIALIZATION_FAILED' });
  }
  return BigInt(parsed.seq);
}
