/**
 * A stand-in for the OpenClaw Rating API (the upstream the pipeline polls), on `node:http`, with
 * seeded, countable fault injection. Start it from code (`startOpenClawSimulator`) or from the
 * command line (`tsx scripts/openclaw-simulator.ts --help`).
 *
 * HTTP surface:
 * - `GET /api/ratings` with `Authorization: Bearer <apiKey>`: a JSON array of
 *   `{ id, productId, userId, score, comment, timestamp }` sorted by `(timestamp, id)`.
 *   - `since` (epoch ms): ratings with `timestamp >= since`.
 *   - `after_id` (needs `since`): of the ratings with `timestamp == since`, only those whose id sorts
 *     after `after_id` (ids are zero-padded, so string order is creation order).
 *   - `limit`: page size, default 100; larger values are capped at 1000.
 *   The cursor a client sends back is `(timestamp, id)` of the last rating it took:
 *   `?since=<timestamp>&after_id=<id>`. Following it walks every rating exactly once.
 *   Positions are slot timestamps: an invalid `future-timestamp` rating is served with a timestamp
 *   ten years ahead but sorts (and is filtered) at its slot, so a client must not take its cursor
 *   from a rating that failed validation; it keeps the previous one and will see that rating again.
 * - `GET /healthz`: `{ "status": "ok" }`, no key needed.
 * - 400 for a bad query, 401 for a missing or wrong key (and after `revokeKey()`), 403 after
 *   `revokeKey(403)`, 404 for other paths, 405 for other methods; errors are `{ error, message }`.
 *
 * Data: `total: N` serves a fixed set of N ratings, all available at once (timestamps spaced at
 * `ratePerSecond`, default 2500/s, so 2-3 ratings share each millisecond and `after_id` matters).
 * Without `total` the set grows with wall time at `ratePerSecond` (default 50): a rating is
 * available once its timestamp is <= now, computed from the clock at each request (no timers).
 *
 * Faults: see {@link FaultProbabilities}; `invalidRate` makes a share of ratings invalid by id, so
 * `expectedInvalid()` names exactly the ids a validator must reject. Every injected fault is
 * counted in `stats().faults`. The overlap fault is only injected on a page that also has new
 * ratings, so the last rating of a page is never before the cursor.
 *
 * @example
 * const sim = await startOpenClawSimulator({ apiKey: 'k', total: 500, seed: 7 });
 * const page = await fetch(`${sim.url}/api/ratings?limit=50`, { headers: { authorization: 'Bearer k' } });
 * await sim.stop();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { ConfigError } from '../../errors/index.ts';
import { RatingGenerator, type ServedRecord } from './rating-generator.ts';
import {
  FAULT_NAMES,
  FaultPlanner,
  NO_FAULTS,
  validateFaults,
  type FaultName,
  type FaultPlan,
  type FaultProbabilities,
} from './simulator-faults.ts';

export { FAULT_NAMES, NO_FAULTS, type FaultName, type FaultProbabilities } from './simulator-faults.ts';

export interface OpenClawSimulatorOptions {
  /** Default 0: a free port. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** The one valid bearer key. Default `dev-key`. */
  readonly apiKey?: string;
  /** Ratings per second: of wall time without `total`, of event-time spacing with it. */
  readonly ratePerSecond?: number;
  /** A fixed set of this many ratings, all available at once. */
  readonly total?: number;
  readonly users?: number;
  readonly products?: number;
  /** Seeds the ratings and the fault RNG. Default 1. */
  readonly seed?: number;
  /** Timestamp of the first rating, epoch ms. Default: the clock at start. */
  readonly startTimestamp?: number;
  /** Share of ratings that are invalid (by id), 0..1. Default 0. */
  readonly invalidRate?: number;
  /** Fault probabilities per request; unspecified ones are 0. */
  readonly faults?: Partial<FaultProbabilities>;
  /** `Retry-After` of a 429, seconds. Default 1. */
  readonly retryAfterSeconds?: number;
  /** Delay of a slow response, ms. Default 1000. */
  readonly slowDelayMs?: number;
  /** Wall clock, epoch ms. Default `Date.now`. */
  readonly now?: () => number;
}

export interface SimulatorStats {
  /** Every HTTP request received, whatever its path. */
  readonly requests: number;
  /** Responses sent, by status code. */
  readonly byStatus: Readonly<Record<number, number>>;
  /** Injected faults by name; `invalidRecords` counts invalid ratings served (with repeats). */
  readonly faults: Readonly<Record<FaultName | 'invalidRecords', number>>;
  /** Rating records in well-formed pages, duplicates and overlaps included. */
  readonly ratingsServed: number;
}

export interface OpenClawSimulator {
  /** Base URL, e.g. `http://127.0.0.1:41234` (the pipeline's `OPENCLAW_URL`). */
  readonly url: string;
  readonly port: number;
  readonly apiKey: string;
  readonly generator: RatingGenerator;
  /** Closes the port, cutting open connections and pending slow responses; idempotent. */
  stop(): Promise<void>;
  stats(): SimulatorStats;
  /** The key now answers `status` (401 by default, or 403) until `reinstateKey()`. */
  revokeKey(status?: 401 | 403): void;
  reinstateKey(): void;
  /** Changes fault probabilities from the next request on; unspecified ones keep their value. */
  setFaults(faults: Partial<FaultProbabilities>): void;
  /** The next requests get these faults, one each, instead of drawn ones. */
  failNext(...faults: FaultName[]): void;
  /** How many ratings are available now. */
  availableCount(): number;
  /** Every rating available now, as served (invalid ones broken), in `(timestamp, id)` order. */
  ratings(): ServedRecord[];
  isInvalid(id: string): boolean;
  /** Ids of the valid ratings available now, in order. */
  expectedValid(): string[];
  /** Ids of the invalid ratings available now, in order. */
  expectedInvalid(): string[];
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const LIVE_RATE = 50;
const FIXED_SET_RATE = 2500;

interface Query {
  readonly since?: number;
  readonly afterId?: string;
  readonly limit: number;
}

class BadRequest extends Error {}

export async function startOpenClawSimulator(options: OpenClawSimulatorOptions = {}): Promise<OpenClawSimulator> {
  const now = options.now ?? Date.now;
  const apiKey = options.apiKey ?? 'dev-key';
  const total = options.total;
  if (total !== undefined && !(Number.isInteger(total) && total >= 0)) {
    throw new ConfigError(`OpenClaw simulator: total must be a non-negative integer, got ${total}`);
  }
  if (apiKey === '') throw new ConfigError('OpenClaw simulator: apiKey must not be empty');
  const retryAfterSeconds = options.retryAfterSeconds ?? 1;
  const slowDelayMs = options.slowDelayMs ?? 1000;
  requireNonNegativeInteger('retryAfterSeconds', retryAfterSeconds);
  requireNonNegativeInteger('slowDelayMs', slowDelayMs);
  const generator = new RatingGenerator({
    startTimestamp: options.startTimestamp ?? now(),
    ratePerSecond: options.ratePerSecond ?? (total === undefined ? LIVE_RATE : FIXED_SET_RATE),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.users === undefined ? {} : { users: options.users }),
    ...(options.products === undefined ? {} : { products: options.products }),
    ...(options.invalidRate === undefined ? {} : { invalidRate: options.invalidRate }),
  });
  const initialFaults = { ...NO_FAULTS, ...options.faults };
  validateFaults(initialFaults);
  const planner = new FaultPlanner(generator.seed, initialFaults);

  const availableCount = (): number =>
    total ?? generator.firstIndexAtOrAfter(now() + 1);

  let revokedStatus: 401 | 403 | undefined;
  let requests = 0;
  let ratingsServed = 0;
  const byStatus: Record<number, number> = {};
  const faults = Object.fromEntries([...FAULT_NAMES, 'invalidRecords'].map((name) => [name, 0])) as Record<
    FaultName | 'invalidRecords',
    number
  >;
  const stopping = new AbortController();

  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void => {
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      ...headers,
    });
    res.end(body);
  };
  const sendError = (res: ServerResponse, status: number, error: string, message: string, headers?: Record<string, string>): void =>
    send(res, status, JSON.stringify({ error, message }), headers);

  const servePage = (res: ServerResponse, query: Query, plan: FaultPlan): void => {
    const indices = pageIndices(generator, query, availableCount(), plan, faults);
    const records = indices.map((index) => generator.record(index));
    faults.invalidRecords += indices.filter((index) => generator.invalidKind(index) !== undefined).length;
    const json = JSON.stringify(records);
    if (plan.body === 'malformedJson') {
      faults.malformedJson += 1;
      // A strict prefix of a JSON array never parses: its closing bracket is the last character.
      send(res, 200, json.slice(0, Math.max(1, Math.floor(json.length / 2))));
    } else if (plan.body === 'wrongShape') {
      faults.wrongShape += 1;
      send(res, 200, JSON.stringify({ data: records }));
    } else {
      ratingsServed += records.length;
      send(res, 200, json);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    requests += 1;
    const url = new URL(req.url ?? '/', 'http://simulator');
    if (url.pathname === '/healthz') return send(res, 200, JSON.stringify({ status: 'ok' }));
    if (url.pathname !== '/api/ratings') return sendError(res, 404, 'not_found', `no route ${url.pathname}`);
    if (req.method !== 'GET') return sendError(res, 405, 'method_not_allowed', 'only GET', { allow: 'GET' });
    const auth = req.headers.authorization;
    if (auth !== `Bearer ${apiKey}`) {
      const message = auth === undefined ? 'missing bearer token' : 'invalid bearer token';
      return sendError(res, 401, 'unauthorized', message, { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    if (revokedStatus === 401) return sendError(res, 401, 'unauthorized', 'api key revoked');
    if (revokedStatus === 403) return sendError(res, 403, 'forbidden', 'api key not allowed');
    let query: Query;
    try {
      query = parseQuery(url.searchParams);
    } catch (error) {
      if (error instanceof BadRequest) return sendError(res, 400, 'bad_request', error.message);
      throw error;
    }
    const plan = planner.next();
    if (plan.slow) {
      faults.slow += 1;
      await delay(slowDelayMs, undefined, { signal: stopping.signal });
    }
    if (plan.errorStatus === 429) {
      faults.tooManyRequests += 1;
      return sendError(res, 429, 'too_many_requests', 'slow down', { 'retry-after': String(retryAfterSeconds) });
    }
    if (plan.errorStatus !== undefined) {
      faults.serverError += 1;
      return sendError(res, plan.errorStatus, 'server_error', 'injected fault');
    }
    servePage(res, query, plan);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (stopping.signal.aborted) return void res.destroy();
      if (!res.headersSent) sendError(res, 500, 'internal', String(error));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo; // listening on TCP, so never a pipe name or null
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  // Stopping twice (a test's finally and its afterEach) is harmless.
  let stopped: Promise<void> | undefined;
  const idsWhere = (invalid: boolean): string[] => {
    const ids: string[] = [];
    for (let index = 0, n = availableCount(); index < n; index += 1) {
      if ((generator.invalidKind(index) !== undefined) === invalid) ids.push(generator.ratingId(index));
    }
    return ids;
  };

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    apiKey,
    generator,
    stop: () => {
      stopped ??= new Promise<void>((resolve, reject) => {
        stopping.abort();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return stopped;
    },
    stats: () => ({ requests, byStatus: { ...byStatus }, faults: { ...faults }, ratingsServed }),
    revokeKey: (status = 401) => {
      revokedStatus = status;
    },
    reinstateKey: () => {
      revokedStatus = undefined;
    },
    setFaults: (changes) => planner.set({ ...planner.current, ...changes }),
    failNext: (...names) => planner.force(names),
    availableCount,
    ratings: () => Array.from({ length: availableCount() }, (_, index) => generator.record(index)),
    isInvalid: (id) => {
      const index = generator.indexOfId(id);
      return index !== undefined && index < availableCount() && generator.invalidKind(index) !== undefined;
    },
    expectedValid: () => idsWhere(false),
    expectedInvalid: () => idsWhere(true),
  };
}

function parseQuery(params: URLSearchParams): Query {
  const sinceText = params.get('since');
  const afterId = params.get('after_id');
  const limitText = params.get('limit');
  const since = sinceText === null ? undefined : parseInteger('since', sinceText);
  if (afterId !== null && since === undefined) throw new BadRequest('after_id needs since');
  const limit = limitText === null ? DEFAULT_LIMIT : parseInteger('limit', limitText);
  if (limit < 1) throw new BadRequest(`limit must be >= 1, got ${limit}`);
  return {
    ...(since === undefined ? {} : { since }),
    ...(afterId === null ? {} : { afterId }),
    limit: Math.min(limit, MAX_LIMIT),
  };
}

function parseInteger(name: string, text: string): number {
  const value = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) throw new BadRequest(`${name} must be an integer, got ${JSON.stringify(text)}`);
  return value;
}

/** The rating indices of one page, with the overlap and duplicate faults applied (and counted). */
function pageIndices(
  generator: RatingGenerator,
  query: Query,
  available: number,
  plan: FaultPlan,
  faults: Record<FaultName, number>,
): number[] {
  let start = query.since === undefined ? 0 : generator.firstIndexAtOrAfter(query.since);
  if (query.since !== undefined && query.afterId !== undefined) {
    const { since, afterId } = query;
    while (start < available && generator.timestampOf(start) === since && generator.ratingId(start) <= afterId) {
      start += 1;
    }
  }
  start = Math.min(start, available);
  let indices = range(start, Math.min(available, start + query.limit));
  const overlap = Math.min(1 + Math.floor(plan.overlapDraw * 3), start, query.limit - 1);
  if (plan.overlap && overlap > 0 && indices.length > 0) {
    faults.overlap += 1;
    indices = [...range(start - overlap, start), ...indices].slice(0, query.limit);
  }
  const positions = Math.min(indices.length, query.limit - 1);
  if (plan.duplicate && positions > 0) {
    faults.duplicate += 1;
    const at = Math.floor(plan.duplicateDraw * positions);
    indices.splice(at + 1, 0, indices[at] ?? 0);
    indices = indices.slice(0, query.limit);
  }
  return indices;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

function requireNonNegativeInteger(name: string, value: number): void {
  if (!(Number.isInteger(value) && value >= 0)) {
    throw new ConfigError(`OpenClaw simulator: ${name} must be a non-negative integer, got ${value}`);
  }
}
