/**
 * The one-line summary `npm start` prints every few seconds, and the pure pieces it is made of:
 * the coarse reason of a dead letter, the users table's size and cache hit ratio from
 * `StreamsApp.storeStats()`, and the line's format.
 *
 * @example
 * formatSummary({ elapsedMs: 15_000, ingested: 1482, enriched: 1470, deadLetters: { validation: 41, deserialization: 0, http: 2, other: 0 },
 *   aiPosts: { ok: 1468, retried: 29 }, users: { size: 3000, hitRatio: 0.978 }, lag: 3 });
 * // 't=15s ingested=1482 enriched=1470 dead-lettered=43 (validation=41 deserialization=0 http=2 other=0) ai-ok=1468 ai-retried=29 users=3000 cache-hit=97.8% lag=3'
 */
import { DLQ_HEADERS, type Headers, type StoreStats } from '../../src/index.ts';

/**
 * Why a record was dead-lettered, coarsely: `validation` (a rating that broke a rule: the ingest's
 * `VALIDATION_FAILED`, a topology's `RECORD_REJECTED`), `deserialization` (bytes that did not
 * decode), `http` (the AI agent refused it for good, or retries ran out), `other` (processing
 * errors, a topic write that failed, timeouts).
 */
export const DEAD_LETTER_REASONS = ['validation', 'deserialization', 'http', 'other'] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

/** The coarse reason of a dead-letter record, from its `dlq.*` headers; `httpNodes` names the HTTP sinks. */
export function deadLetterReason(headers: Headers, httpNodes: ReadonlySet<string> = new Set()): DeadLetterReason {
  const header = (name: string) => headers[name]?.toString('utf8');
  const code = header(DLQ_HEADERS.errorCode);
  const stage = header(DLQ_HEADERS.errorStage);
  if (code === 'VALIDATION_FAILED' || code === 'RECORD_REJECTED') return 'validation';
  if (code === 'DESERIALIZATION_FAILED' || stage === 'deserialization') return 'deserialization';
  if (code === 'SINK_FAILED' || (stage === 'production' && httpNodes.has(header(DLQ_HEADERS.node) ?? ''))) return 'http';
  return 'other';
}

export function noDeadLetters(): Record<DeadLetterReason, number> {
  return { validation: 0, deserialization: 0, http: 0, other: 0 };
}

export interface TableSummary {
  /** Live keys; `undefined` when no partition could say. */
  readonly size: number | undefined;
  /** Cache hits over lookups since start; `undefined` before the first lookup. */
  readonly hitRatio: number | undefined;
}

/**
 * One table's size and cache hit ratio over all its partitions. A PostgreSQL store's partitions
 * share one table, each reporting the whole table's size, so that size is taken once (the largest
 * answer); in-memory partitions are summed.
 */
export function tableSummary(stats: readonly StoreStats[], storeName: string): TableSummary {
  const own = stats.filter((s) => s.name === storeName);
  const sizes = own.map((s) => s.approximateSize).filter((size): size is number => size !== undefined);
  let size: number | undefined;
  if (sizes.length > 0) size = own.some((s) => s.backend === 'postgres') ? Math.max(...sizes) : sizes.reduce((sum, n) => sum + n, 0);
  const hits = own.reduce((sum, s) => sum + (s.cache?.hits ?? 0), 0);
  const lookups = hits + own.reduce((sum, s) => sum + (s.cache?.misses ?? 0), 0);
  return { size, hitRatio: lookups === 0 ? undefined : hits / lookups };
}

export interface PipelineSnapshot {
  readonly elapsedMs: number;
  /** Ratings on `ratings` since the start. */
  readonly ingested: number;
  /** Records on `ratings_enriched` since the start. */
  readonly enriched: number;
  readonly deadLetters: Readonly<Record<DeadLetterReason, number>>;
  /** The AI-agent sink: deliveries that succeeded, and attempts retried. */
  readonly aiPosts: { readonly ok: number; readonly retried: number };
  readonly users: TableSummary;
  /** Records on `ratings` the enrichment has not committed yet; `undefined` when its commits could not be read. */
  readonly lag: number | undefined;
}

/** The summary as one line of `key=value` fields (see the module example). */
export function formatSummary(s: PipelineSnapshot): string {
  const total = DEAD_LETTER_REASONS.reduce((sum, reason) => sum + s.deadLetters[reason], 0);
  const reasons = DEAD_LETTER_REASONS.map((reason) => `${reason}=${s.deadLetters[reason]}`).join(' ');
  const hit = s.users.hitRatio === undefined ? '-' : `${(s.users.hitRatio * 100).toFixed(1)}%`;
  return [
    `t=${Math.round(s.elapsedMs / 1000)}s`,
    `ingested=${s.ingested}`,
    `enriched=${s.enriched}`,
    `dead-lettered=${total} (${reasons})`,
    `ai-ok=${s.aiPosts.ok}`,
    `ai-retried=${s.aiPosts.retried}`,
    `users=${s.users.size ?? '?'}`,
    `cache-hit=${hit}`,
    `lag=${s.lag ?? '?'}`,
  ].join(' ');
}

/** The numbers a summary line holds, read back from one (for tests and scripts). */
export function parseSummary(line: string): { readonly ingested: number; readonly enriched: number; readonly deadLettered: number; readonly aiOk: number } | undefined {
  const field = (name: string) => {
    const match = new RegExp(`(?:^| )${name}=(\\d+)`).exec(line);
    return match?.[1] === undefined ? undefined : Number(match[1]);
  };
  const [ingested, enriched, deadLettered, aiOk] = [field('ingested'), field('enriched'), field('dead-lettered'), field('ai-ok')];
  if (ingested === undefined || enriched === undefined || deadLettered === undefined || aiOk === undefined) return undefined;
  return { ingested, enriched, deadLettered, aiOk };
}
