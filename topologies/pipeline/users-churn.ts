/**
 * Demo users for the embedded run: `seedUsers` fills the `users` table with the ids the OpenClaw
 * simulator rates with (`u000001`..), and `UsersChurn` keeps changing it while the pipeline runs
 * (mostly updates, some deletes, and re-inserts of deleted users), so the users CDC has changes to
 * publish and the enrichment's table has updates and tombstones to apply.
 *
 * Each change is one statement (no transaction spans two), one at a time: safe on PGlite, whose
 * single backend serves every connection.
 */
import type pg from 'pg';
import { seededRandom } from '../../src/connectors/openclaw/rating-generator.ts';
import { toError, type Logger } from '../../src/index.ts';

export interface UsersChurnOptions {
  readonly pool: pg.Pool;
  /** Ids `u000001`..`u<users>`, as the simulator's `users` option. */
  readonly users: number;
  /** Changes per second; default 4. 0 makes no changes. */
  readonly changesPerSecond?: number;
  /** Share of changes that delete the user; default 0.1. The next change of a deleted user inserts it again. */
  readonly deleteShare?: number;
  /** Default 1. */
  readonly seed?: number;
  readonly logger?: Logger;
}

export interface UsersChurnStats {
  readonly updated: number;
  readonly inserted: number;
  readonly deleted: number;
  /** Statements that failed (logged; the churn goes on). */
  readonly failed: number;
}

const TIERS = ['free', 'plus', 'pro'] as const;
const NAMES = ['Ada', 'Grace', 'Alan', 'Barbara', 'Edsger', 'Frances', 'Donald', 'Margaret'] as const;

/** The simulator's user id for 1-based `n`. */
export function userId(n: number): string {
  return `u${String(n).padStart(6, '0')}`;
}

/** Inserts users `u000001`..`u<count>` that are missing (existing rows are left alone); returns how many it inserted. */
export async function seedUsers(pool: pg.Pool, count: number): Promise<number> {
  const result = await pool.query(
    `INSERT INTO users (id, name, email, tier)
     SELECT 'u' || lpad(g::text, 6, '0'), 'User ' || lpad(g::text, 6, '0'), 'u' || lpad(g::text, 6, '0') || '@example.test', (ARRAY['free', 'plus', 'pro'])[1 + g % 3]
     FROM generate_series(1, $1::int) AS g
     ON CONFLICT (id) DO NOTHING`,
    [count],
  );
  return result.rowCount ?? 0;
}

/** Changes random users at a steady rate until stopped; see the module comment. */
export class UsersChurn {
  private readonly random: () => number;
  private readonly intervalMs: number;
  private readonly deleteShare: number;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly counts = { updated: 0, inserted: 0, deleted: 0, failed: 0 };

  constructor(private readonly options: UsersChurnOptions) {
    const rate = options.changesPerSecond ?? 4;
    this.deleteShare = options.deleteShare ?? 0.1;
    if (!Number.isInteger(options.users) || options.users < 1) throw new RangeError(`users churn: users must be a whole number >= 1, got ${options.users}`);
    if (!(Number.isFinite(rate) && rate >= 0)) throw new RangeError(`users churn: changesPerSecond must be a number >= 0, got ${rate}`);
    if (!(this.deleteShare >= 0 && this.deleteShare <= 1)) throw new RangeError(`users churn: deleteShare must be in 0..1, got ${this.deleteShare}`);
    this.intervalMs = rate === 0 ? 0 : 1000 / rate;
    this.random = seededRandom(options.seed ?? 1);
  }

  start(): void {
    if (this.intervalMs === 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => {
      // One change at a time: a slow database skips ticks instead of piling statements up.
      if (this.inFlight === undefined) this.inFlight = this.changeOne().finally(() => (this.inFlight = undefined));
    }, this.intervalMs);
  }

  /** Stops the timer and waits for the change in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  stats(): UsersChurnStats {
    return { ...this.counts };
  }

  /** One change to a random user: delete it, or upsert it (an update, or a re-insert after a delete). */
  async changeOne(): Promise<void> {
    const id = userId(1 + Math.floor(this.random() * this.options.users));
    try {
      if (this.random() < this.deleteShare) {
        const result = await this.options.pool.query('DELETE FROM users WHERE id = $1', [id]);
        this.counts.deleted += result.rowCount ?? 0;
        return;
      }
      const name = `${NAMES[Math.floor(this.random() * NAMES.length)] ?? 'Ada'} ${id.slice(1)}`;
      const tier = TIERS[Math.floor(this.random() * TIERS.length)] ?? 'free';
      // xmax is 0 on a freshly inserted row version and set on an updated one.
      const result = await this.options.pool.query<{ inserted: boolean }>(
        `INSERT INTO users (id, name, email, tier) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, tier = EXCLUDED.tier, updated_at = now()
         RETURNING (xmax = 0) AS inserted`,
        [id, name, `${id}@example.test`, tier],
      );
      if (result.rows[0]?.inserted) this.counts.inserted += 1;
      else this.counts.updated += 1;
    } catch (error) {
      this.counts.failed += 1;
      this.options.logger?.warn({ err: toError(error) }, 'users churn: a change failed');
    }
  }
}
