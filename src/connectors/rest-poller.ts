/**
 * A polling source for a JSON list API (the OpenClaw Rating API by default, see
 * `connectors/openclaw/`): it asks for the items after its cursor, page by page until caught up,
 * and writes each page's records together with the new cursor in one Kafka transaction, so after a
 * crash it resumes exactly after the last page that became visible: every item reaches Kafka once.
 *
 * - Cursor: the last item emitted, `(timestamp, id)` in the API's sort order, in a compacted topic
 *   (key: the poller's name). Items at or before it are dropped, also when a page overlaps the
 *   previous one or repeats an item. An item without a usable place in the order (`cursorOf` gives
 *   none, e.g. an invalid one whose timestamp cannot be trusted) never moves the cursor; its id is
 *   remembered instead (the newest 1,000 in the cursor record, so also across restarts). An id
 *   emitted among the last 100,000 is not emitted again even when served with a later timestamp
 *   (an edited item); after a restart only the cursor and the remembered ids count.
 * - Ids: the cursor does not assume how the API orders ids within one timestamp; the ids emitted
 *   at the cursor's timestamp are kept with it, and `after_id` is the one the API listed last.
 * - Faults: network errors, timeouts and 5xx are retried with exponential backoff and jitter
 *   (cockatiel); 429 waits for `Retry-After`; an unparsable or wrongly shaped answer is logged,
 *   counted and asked again after the interval; 401/403 stop polling (state `unauthorized`,
 *   unhealthy) instead of hammering the API. The API key is a secret: never logged, never in an error.
 * - Singleton: the transactional id is the poller's name, so a second instance fences the first,
 *   which stops (state `fenced`) rather than fight over the cursor. Run one replica.
 */
import axios, { type AxiosInstance } from 'axios';
import { ExponentialBackoff, handleWhen, retry, type RetryPolicy } from 'cockatiel';
import { ConfigError, SourceError, StreamsError, toError } from '../errors/streams-error.ts';
import { redactSecrets } from '../errors/redact.ts';
import { defaultLogger, redactingLogger, type Logger } from '../runtime/logger.ts';
import type { OutgoingRecord, Transport, TransportProducer } from '../transport/transport.ts';
import { encodeCursor, ensureCursorTopic, readCursor, type CursorState, type PollCursor } from './cursor-topic.ts';
import { sleep } from './sleep.ts';

/** Ids of items emitted without a cursor that the cursor record keeps (the newest ones). */
const PERSISTED_RECENT_IDS = 1_000;
/** Ids emitted at the cursor's timestamp that the cursor record keeps. */
const MAX_IDS_AT_CURSOR = 10_000;
/** The largest page asked for when a full page could not move the cursor. */
const MAX_STRETCHED_PAGE = 1_000;

export type PollerState = 'created' | 'starting' | 'polling' | 'backing-off' | 'unauthorized' | 'fenced' | 'stopped' | 'failed';

export interface RestPollerOptions {
  /** Names the poller: transactional id, cursor key, logs. Letters, digits, '.', '_' and '-'. */
  readonly name: string;
  readonly transport: Transport;
  /** e.g. `http://127.0.0.1:8080`; no credentials in it. */
  readonly baseUrl: string;
  /** Default `/api/ratings`. */
  readonly path?: string;
  /** Sent as `Authorization: Bearer <apiKey>`; never logged. */
  readonly apiKey?: string;
  /** Pause between polls once caught up; default 1000 ms. */
  readonly intervalMs?: number;
  /** Items asked for per request; default 100. */
  readonly pageSize?: number;
  /** Per request; default 10000 ms. */
  readonly timeoutMs?: number;
  /** Compacted topic for the cursor; default `<name>-cursor`. */
  readonly cursorTopic?: string;
  /** Query parameters for a request; default `since`, `after_id` (when there is a cursor) and `limit`. */
  readonly query?: (cursor: PollCursor | undefined, limit: number) => Record<string, string>;
  /** Where an item sits in the API's order; `undefined` for an item without a usable one (it is emitted once, by id). */
  readonly cursorOf: (item: unknown) => PollCursor | undefined;
  /** An id for an item (deduplication when it has no cursor); `undefined` when it has none. */
  readonly idOf: (item: unknown) => string | undefined;
  /** The records to write for an item (a valid one to its topic, an invalid one to a dead-letter topic). */
  readonly toRecords: (item: unknown, raw: Buffer) => readonly OutgoingRecord[];
  /** Backoff of retried requests: default 250 ms doubling to 30 s, with jitter. */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly logger?: Logger;
  /** Told about each page written (for alerts and metrics). */
  readonly onPage?: (page: { readonly items: number; readonly records: readonly OutgoingRecord[] }) => void;
}

export interface PollerStats {
  readonly requests: number;
  readonly pages: number;
  readonly itemsEmitted: number;
  readonly duplicatesDropped: number;
  readonly malformedResponses: number;
  readonly retries: number;
  readonly rateLimited: number;
  readonly transactionsFailed: number;
}

export interface PollerHealth {
  readonly healthy: boolean;
  readonly state: PollerState;
  /** Why it is unhealthy (no secrets). */
  readonly reason?: string;
  readonly cursor?: PollCursor;
  /** Milliseconds since the item at the cursor was created (its timestamp); how far behind the source the poller is. */
  readonly cursorAgeMs?: number;
  readonly lastPollAt?: number;
}

/** A request that may work when tried again (network, timeout, 5xx). */
class TransientError extends Error {}

/** How many recent ids without a cursor are remembered to drop repeats. */
const RECENT_IDS = 100_000;

export class RestPoller {
  private stateValue: PollerState = 'created';
  private readonly logger: Logger;
  private readonly http: AxiosInstance;
  private readonly secrets: string[];
  private readonly retryPolicy: RetryPolicy;
  private producer: TransportProducer | undefined;
  private cursor: PollCursor | undefined;
  private readonly recentIds = new Set<string>();
  /** Ids of the latest items emitted (bounded), so one served again with a later timestamp is not emitted twice. */
  private readonly emitted = new Set<string>();
  /** Ids emitted at the cursor's timestamp. */
  private atCursor = new Set<string>();
  /** A larger page size after a full page that could not move the cursor. */
  private stretchedLimit: number | undefined;
  private failedWrites = 0;
  private loop: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  private reason: string | undefined;
  private lastPollAt: number | undefined;
  private readonly counters = { requests: 0, pages: 0, itemsEmitted: 0, duplicatesDropped: 0, malformedResponses: 0, retries: 0, rateLimited: 0, transactionsFailed: 0 };
  private readonly stateListeners = new Set<(state: PollerState) => void>();

  constructor(private readonly options: RestPollerOptions) {
    if (!/^[A-Za-z0-9._-]+$/.test(options.name)) throw new ConfigError(`poller name ${JSON.stringify(options.name)} is invalid; use letters, digits, '.', '_' and '-'`);
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new ConfigError(`poller ${options.name}: baseUrl ${JSON.stringify(redactSecrets(options.baseUrl))} is not a URL (e.g. http://127.0.0.1:8080)`);
    }
    if (url.username || url.password) throw new ConfigError(`poller ${options.name}: put credentials in apiKey, not in baseUrl`);
    for (const [name, value] of [['intervalMs', options.intervalMs], ['pageSize', options.pageSize], ['timeoutMs', options.timeoutMs]] as const) {
      if (value !== undefined && !(Number.isInteger(value) && value > 0)) throw new ConfigError(`poller ${options.name}: ${name} must be a whole number > 0 (got ${value})`);
    }
    this.secrets = options.apiKey ? [options.apiKey] : [];
    this.logger = redactingLogger((options.logger ?? defaultLogger('poller')).child({ poller: options.name }), this.secrets);
    this.http = axios.create({
      baseURL: options.baseUrl,
      timeout: options.timeoutMs ?? 10_000,
      // Every status is handled here; the body is parsed here too, so a malformed one is counted, not thrown by axios.
      validateStatus: () => true,
      responseType: 'arraybuffer',
      transformResponse: [(data: unknown) => data],
      headers: options.apiKey ? { Authorization: `Bearer ${options.apiKey}` } : {},
    });
    this.retryPolicy = retry(handleWhen((error) => error instanceof TransientError), {
      maxAttempts: Number.MAX_SAFE_INTEGER,
      backoff: new ExponentialBackoff({ initialDelay: options.backoff?.initialMs ?? 250, maxDelay: options.backoff?.maxMs ?? 30_000 }),
    });
    this.retryPolicy.onRetry(() => {
      this.counters.retries += 1;
      this.setState('backing-off');
    });
  }

  get state(): PollerState {
    return this.stateValue;
  }

  get name(): string {
    return this.options.name;
  }

  get cursorTopic(): string {
    return this.options.cursorTopic ?? `${this.options.name}-cursor`;
  }

  /** The last item written, as committed with it. */
  get position(): PollCursor | undefined {
    return this.cursor;
  }

  stats(): PollerStats {
    return { ...this.counters };
  }

  health(now = Date.now()): PollerHealth {
    const healthy = this.stateValue === 'polling' || this.stateValue === 'backing-off' || this.stateValue === 'starting';
    return {
      healthy,
      state: this.stateValue,
      ...(this.reason === undefined || healthy ? {} : { reason: this.reason }),
      ...(this.cursor === undefined ? {} : { cursor: this.cursor, cursorAgeMs: Math.max(0, now - this.cursor.timestamp) }),
      ...(this.lastPollAt === undefined ? {} : { lastPollAt: this.lastPollAt }),
    };
  }

  onStateChange(listener: (state: PollerState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  private setState(to: PollerState): void {
    if (this.stateValue === to) return;
    const from = this.stateValue;
    this.stateValue = to;
    this.logger.info({ from, to }, 'poller state changed');
    for (const listener of this.stateListeners) listener(to);
  }

  /** Fences any previous instance, reads the cursor and starts polling; resolves once polling. */
  async start(): Promise<void> {
    if (this.stateValue !== 'created') throw new ConfigError(`poller ${this.options.name}: start() called in state ${this.stateValue}`);
    this.setState('starting');
    try {
      await ensureCursorTopic(this.options.transport, this.cursorTopic);
      await this.open();
    } catch (error) {
      if (isFenced(error)) {
        // Two instances started together: the other one won the transactional id.
        this.reason = 'another instance of this poller took over (fenced); run one replica';
        this.logger.error({ err: error }, this.reason);
        this.setState('fenced');
      } else this.fail(error);
      throw error;
    }
    this.setState('polling');
    this.loop = this.run();
  }

  /** Stops polling; a page being written finishes first. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop?.catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = undefined;
    if (this.stateValue !== 'unauthorized' && this.stateValue !== 'fenced' && this.stateValue !== 'failed') this.setState('stopped');
  }

  /** A new transactional producer (fencing the previous one with this name), then the committed cursor. */
  private async open(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
    const producer = this.options.transport.producer({ clientId: `${this.options.name}-poller`, transactionalId: this.options.name });
    this.producer = producer;
    await producer.connect();
    // The first transaction initialises the transactional id: fences an older instance and settles its open transaction.
    await (await producer.transaction()).abort();
    const state = await readCursor(this.options.transport, this.cursorTopic, this.options.name);
    this.cursor = state.cursor;
    this.atCursor = new Set(state.atCursor);
    this.recentIds.clear();
    for (const id of state.recent) this.recentIds.add(id);
    this.logger.info({ cursor: this.cursor ?? null, remembered: state.recent.length }, 'resuming after the committed cursor');
  }

  private fail(error: unknown): void {
    this.reason = redactSecrets(toError(error).message, this.secrets);
    this.logger.error({ err: error }, 'poller failed');
    this.setState('failed');
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      let caughtUp = true;
      try {
        caughtUp = await this.pollOnce(signal);
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof SourceError && error.code === 'SOURCE_UNAUTHORIZED') {
          this.reason = error.message;
          this.logger.error({ err: error }, 'the API refused the credentials; polling stopped until they are fixed and the poller restarted');
          this.setState('unauthorized');
          return;
        }
        if (isFenced(error)) {
          this.reason = 'another instance of this poller took over (fenced); run one replica';
          this.logger.error({ err: error }, this.reason);
          this.setState('fenced');
          return;
        }
        this.logger.warn({ err: error }, 'poll failed; trying again after the interval');
      }
      if (caughtUp) await sleep(this.options.intervalMs ?? 1_000, signal);
    }
  }

  /**
   * One request and, if it brought new items, one transaction. Returns whether the source is caught up.
   *
   * Deduplication does not depend on how the API orders ids: an item older than the cursor's
   * timestamp is dropped, one at the cursor's timestamp is dropped if its id was emitted at that
   * timestamp (those ids are kept with the cursor), a newer one is new. The next cursor is the
   * newest timestamp and, of the items at it, the id the API listed last (what `after_id` asks after).
   */
  private async pollOnce(signal: AbortSignal): Promise<boolean> {
    const limit = this.stretchedLimit ?? this.options.pageSize ?? 100;
    const response = await this.request(limit, signal);
    if (response === 'retry-later') return true;
    const items = response.items;
    this.lastPollAt = Date.now();
    if (this.stateValue === 'backing-off') this.setState('polling');
    const fresh: Array<{ item: unknown; raw: Buffer; cursor: PollCursor | undefined }> = [];
    let next = this.cursor;
    let atNext = new Set(this.atCursor);
    const seenInPage = new Set<string>();
    for (const { item, raw } of items) {
      const cursor = safely(() => this.options.cursorOf(item));
      const id = safely(() => this.options.idOf(item));
      const key = cursor !== undefined ? `${cursor.timestamp}\u0000${cursor.id}` : id;
      const old =
        cursor !== undefined &&
        this.cursor !== undefined &&
        (cursor.timestamp < this.cursor.timestamp || (cursor.timestamp === this.cursor.timestamp && this.atCursor.has(cursor.id)));
      // An id emitted lately is not emitted again, even re-served with a later timestamp (an edit).
      const again = id !== undefined && (this.emitted.has(id) || (cursor === undefined && this.recentIds.has(id)));
      if (old || again || (key !== undefined && seenInPage.has(key))) {
        this.counters.duplicatesDropped += 1;
        continue;
      }
      if (key !== undefined) seenInPage.add(key);
      fresh.push({ item, raw, cursor });
      if (cursor === undefined) continue;
      if (next === undefined || cursor.timestamp > next.timestamp) {
        next = cursor;
        atNext = new Set([cursor.id]);
      } else if (cursor.timestamp === next.timestamp) {
        next = cursor;
        atNext.add(cursor.id);
      }
    }
    // A full page that could not move the cursor (only items without one) is asked for again
    // larger, so a run of them longer than a page cannot stall the poller.
    const moved = next !== this.cursor;
    this.stretchedLimit = items.length >= limit && !moved ? Math.min(limit * 2, MAX_STRETCHED_PAGE) : undefined;
    if (this.stretchedLimit === MAX_STRETCHED_PAGE && limit === MAX_STRETCHED_PAGE) {
      this.logger.warn({ limit }, 'a full page of items without a usable cursor: the poller cannot move past them');
    }
    if (fresh.length === 0) return items.length < limit && !this.stretchedLimit;
    const records = fresh.flatMap(({ item, raw }) => this.options.toRecords(item, raw));
    const remembered = [...this.recentIds];
    for (const { cursor, item } of fresh) {
      if (cursor !== undefined) continue;
      const id = safely(() => this.options.idOf(item));
      if (id !== undefined) remembered.push(id);
    }
    await this.write(records, { cursor: next, atCursor: [...atNext].slice(-MAX_IDS_AT_CURSOR), recent: remembered.slice(-PERSISTED_RECENT_IDS) });
    this.atCursor = atNext;
    for (const { item } of fresh) {
      const id = safely(() => this.options.idOf(item));
      if (id === undefined) continue;
      this.emitted.add(id);
      if (this.emitted.size > RECENT_IDS) this.emitted.delete(this.emitted.values().next().value as string);
    }
    this.counters.pages += 1;
    this.counters.itemsEmitted += fresh.length;
    for (const id of remembered.slice(this.recentIds.size)) {
      this.recentIds.add(id);
      if (this.recentIds.size > RECENT_IDS) this.recentIds.delete(this.recentIds.values().next().value as string);
    }
    this.options.onPage?.({ items: fresh.length, records });
    // A full page may have more behind it: ask again at once.
    return items.length < limit && !this.stretchedLimit;
  }

  /** Writes the records and the cursor in one transaction; on failure re-opens (fence, re-read cursor) and rethrows. */
  private async write(records: readonly OutgoingRecord[], state: CursorState): Promise<void> {
    const producer = this.producer;
    if (producer === undefined) throw new StreamsError('the poller is stopping', { code: 'SHUTDOWN' });
    const cursorRecord: OutgoingRecord[] = [{ topic: this.cursorTopic, key: Buffer.from(this.options.name), value: encodeCursor(state) }];
    const transaction = await producer.transaction();
    try {
      await transaction.send([...records, ...cursorRecord]);
      await transaction.commit();
    } catch (error) {
      this.counters.transactionsFailed += 1;
      await transaction.abort().catch(() => undefined);
      if (!isFenced(error)) {
        // Backoff before the next attempt, so a page that keeps failing does not spin.
        this.failedWrites += 1;
        await sleep(Math.min(this.options.backoff?.maxMs ?? 30_000, (this.options.backoff?.initialMs ?? 250) * 2 ** Math.min(this.failedWrites - 1, 16)), this.stopping.signal);
        // What is committed is what the cursor topic says: start again from there.
        await this.open().catch((reopen: unknown) => this.logger.warn({ err: reopen }, 're-opening the poller failed; retrying at the next poll'));
      }
      throw error;
    }
    this.failedWrites = 0;
    this.cursor = state.cursor;
  }

  /** GET one page; transient failures are retried with backoff, 429 honours Retry-After. */
  private async request(limit: number, signal: AbortSignal): Promise<{ items: Array<{ item: unknown; raw: Buffer }> } | 'retry-later'> {
    const params = (this.options.query ?? defaultQuery)(this.cursor, limit);
    const path = this.options.path ?? '/api/ratings';
    const attempts = this.retryPolicy.execute(async () => {
      if (signal.aborted) throw new StreamsError('the poller is stopping', { code: 'SHUTDOWN' });
      this.counters.requests += 1;
      let answer;
      try {
        answer = await this.http.get<ArrayBuffer>(path, { params, signal });
      } catch (error) {
        if (signal.aborted) throw new StreamsError('the poller is stopping', { code: 'SHUTDOWN' });
        // axios errors carry the request config, headers included: only a scrubbed message goes on.
        throw new TransientError(`GET ${path} failed: ${redactSecrets(toError(error).message, this.secrets)}`);
      }
      if (answer.status >= 500) throw new TransientError(`GET ${path} answered ${answer.status}`);
      return answer;
    }, signal);
    // The policy's backoff does not end early on stop(): stop() does not wait for it.
    attempts.catch(() => undefined);
    let abort: (() => void) | undefined;
    const stopped = new Promise<never>((_, reject) => {
      abort = () => reject(new StreamsError('the poller is stopping', { code: 'SHUTDOWN' }));
      if (signal.aborted) abort();
      else signal.addEventListener('abort', abort, { once: true });
    });
    stopped.catch(() => undefined);
    let response: Awaited<typeof attempts>;
    try {
      response = await Promise.race([attempts, stopped]);
    } finally {
      // The signal lives as long as the poller: a listener left per request would pile up.
      if (abort !== undefined) signal.removeEventListener('abort', abort);
    }
    const status = response.status;
    if (status === 401 || status === 403) {
      throw new SourceError(`GET ${this.options.baseUrl}${path} answered ${status}: the API key was refused; set a valid key (OPENCLAW_API_KEY) and restart the poller`, { code: 'SOURCE_UNAUTHORIZED' });
    }
    if (status === 429) {
      this.counters.rateLimited += 1;
      const wait = retryAfterMs(response.headers['retry-after']) ?? this.options.intervalMs ?? 1_000;
      this.logger.warn({ waitMs: wait }, 'rate limited (429); waiting as Retry-After asks');
      await sleep(wait, signal);
      return 'retry-later';
    }
    if (status < 200 || status >= 300) {
      this.logger.warn({ status }, `GET ${path} answered ${status}; trying again after the interval`);
      return 'retry-later';
    }
    const body = Buffer.from(response.data);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (error) {
      this.counters.malformedResponses += 1;
      this.logger.warn({ bytes: body.length, error: toError(error).message }, 'the API answered JSON that does not parse; asking again after the interval');
      return 'retry-later';
    }
    if (!Array.isArray(parsed)) {
      this.counters.malformedResponses += 1;
      this.logger.warn({ type: typeof parsed }, 'the API answered something other than a JSON array; asking again after the interval');
      return 'retry-later';
    }
    return { items: parsed.map((item: unknown) => ({ item, raw: Buffer.from(JSON.stringify(item) ?? 'null', 'utf8') })) };
  }
}

function defaultQuery(cursor: PollCursor | undefined, limit: number): Record<string, string> {
  return cursor === undefined ? { limit: String(limit) } : { since: String(cursor.timestamp), after_id: cursor.id, limit: String(limit) };
}

function safely<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** `Retry-After` in seconds or as an HTTP date, in ms; `undefined` when absent or unreadable. */
export function retryAfterMs(header: unknown, now = Date.now()): number | undefined {
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1_000, 3_600_000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.min(Math.max(0, date - now), 3_600_000);
}

function isFenced(error: unknown): boolean {
  const text = `${toError(error).message} ${toError(error).cause instanceof Error ? (toError(error).cause as Error).message : ''}`;
  return /fenc|PRODUCER_FENCED|INVALID_PRODUCER_EPOCH/i.test(text);
}
