/**
 * A stand-in for the AI-agent endpoint the enrichment POSTs every enriched rating to: a `node:http`
 * server on loopback that takes JSON POSTs on one path, counts them, and dedupes them by their
 * `Idempotency-Key` header, as a real receiver of an at-least-once sink must. `npm start` runs it
 * when `AI_AGENT_ENDPOINT` is not set; tests import it.
 *
 * Answers:
 * - 200 `{"status":"accepted"}` the first time a key arrives; 200 `{"status":"duplicate"}` with
 *   `Idempotent-Replayed: true` when it arrives again (a retry, a redelivery): no second effect.
 * - Injected faults, both off by default: 503 for a share `unavailableRate` of requests, drawn per
 *   request (transient: a retry may pass), and 422 for a share `rejectRate` of keys, chosen by a
 *   hash of the key (permanent: every attempt of that key is refused, as a real validation error).
 * - 400 without an `Idempotency-Key` or with a body that is not JSON, 401 without the bearer
 *   `token` when one is set, 404 for another path, 405 for another method, 413 for a body larger
 *   than `maxBodyBytes`.
 *
 * It remembers the newest `rememberKeys` keys (oldest forgotten first), so memory stays bounded
 * over a long run; a key older than that counts as new again.
 *
 * @example
 * const agent = await startAiAgentStub({ unavailableRate: 0.02 });
 * ratingsEnrichment({ aiAgent: { url: agent.url } });
 * agent.stats(); // { requests, accepted, duplicates, unavailable, rejected, invalid }
 * await agent.stop();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../../errors/index.ts';
import { hash32, seededRandom } from './rating-generator.ts';

export interface AiAgentStubOptions {
  /** Default 0: a free port. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** The path POSTs go to; default `/ratings`. */
  readonly path?: string;
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Share of requests answered 503, 0..1; default 0. */
  readonly unavailableRate?: number;
  /** Share of idempotency keys answered 422 on every attempt, 0..1; default 0. */
  readonly rejectRate?: number;
  /** Seeds the fault draws; default 1. */
  readonly seed?: number;
  /** Idempotency keys remembered; default 100,000. */
  readonly rememberKeys?: number;
  /** Largest body taken; default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** Told about each accepted (first-time) delivery, e.g. to collect what arrived in a test. */
  readonly onAccepted?: (key: string, body: unknown) => void;
}

export interface AiAgentStubStats {
  /** Every request received, whatever its path or answer. */
  readonly requests: number;
  /** First deliveries of a key (200 accepted). */
  readonly accepted: number;
  /** Deliveries of a key already accepted (200 duplicate): what deduplication absorbed. */
  readonly duplicates: number;
  /** Injected 503s. */
  readonly unavailable: number;
  /** Injected 422s. */
  readonly rejected: number;
  /** Requests refused for their form: 400, 401, 404, 405, 413. */
  readonly invalid: number;
}

export interface AiAgentStub {
  /** The endpoint to POST to, path included, e.g. `http://127.0.0.1:41234/ratings` (`AI_AGENT_ENDPOINT`). */
  readonly url: string;
  readonly port: number;
  stats(): AiAgentStubStats;
  /** True when `key` was accepted and is still remembered. */
  hasAccepted(key: string): boolean;
  /** Closes the port and cuts open connections; idempotent. */
  stop(): Promise<void>;
}

/** Distinguishes the key-hash draws of `rejectRate` from anything else hashed with the seed. */
const SALT_REJECT = 3;

export async function startAiAgentStub(options: AiAgentStubOptions = {}): Promise<AiAgentStub> {
  const path = options.path ?? '/ratings';
  const unavailableRate = options.unavailableRate ?? 0;
  const rejectRate = options.rejectRate ?? 0;
  const seed = options.seed ?? 1;
  const rememberKeys = options.rememberKeys ?? 100_000;
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  for (const [name, value] of [['unavailableRate', unavailableRate], ['rejectRate', rejectRate]] as const) {
    if (!(Number.isFinite(value) && value >= 0 && value <= 1)) throw new ConfigError(`AI-agent stub: ${name} must be a probability in 0..1, got ${value}`);
  }
  if (!path.startsWith('/')) throw new ConfigError(`AI-agent stub: path must start with '/', got ${JSON.stringify(path)}`);
  if (!Number.isInteger(rememberKeys) || rememberKeys < 1) throw new ConfigError(`AI-agent stub: rememberKeys must be a whole number >= 1, got ${rememberKeys}`);
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) throw new ConfigError(`AI-agent stub: maxBodyBytes must be a whole number >= 1, got ${maxBodyBytes}`);

  const draw = seededRandom(seed);
  const accepted = new Set<string>();
  const counts = { requests: 0, accepted: 0, duplicates: 0, unavailable: 0, rejected: 0, invalid: 0 };

  const send = (res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  };
  const refuse = (res: ServerResponse, status: number, message: string, headers?: Record<string, string>): void => {
    counts.invalid += 1;
    send(res, status, { error: message }, headers);
  };
  const rejects = (key: string): boolean => {
    if (rejectRate === 0) return false;
    let h = hash32(seed, SALT_REJECT);
    for (let i = 0; i < key.length; i += 1) h = hash32(h, key.charCodeAt(i));
    return seededRandom(h)() < rejectRate;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    counts.requests += 1;
    const url = new URL(req.url ?? '/', 'http://stub');
    if (url.pathname !== path) return refuse(res, 404, `no route ${url.pathname}`);
    if (req.method !== 'POST') return refuse(res, 405, 'only POST', { allow: 'POST' });
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) return refuse(res, 401, 'missing or wrong bearer token');
    const body = await readBody(req, maxBodyBytes);
    if (body === undefined) return refuse(res, 413, `body larger than ${maxBodyBytes} bytes`, { connection: 'close' });
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || key === '') return refuse(res, 400, 'Idempotency-Key header is missing');
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return refuse(res, 400, 'body is not JSON');
    }
    if (accepted.has(key)) {
      counts.duplicates += 1;
      return send(res, 200, { status: 'duplicate' }, { 'idempotent-replayed': 'true' });
    }
    if (unavailableRate > 0 && draw() < unavailableRate) {
      counts.unavailable += 1;
      return send(res, 503, { error: 'injected: temporarily unavailable' });
    }
    if (rejects(key)) {
      counts.rejected += 1;
      return send(res, 422, { error: 'injected: rating refused' });
    }
    accepted.add(key);
    // A Set iterates in insertion order: the first entry is the oldest key.
    if (accepted.size > rememberKeys) accepted.delete(accepted.values().next().value as string);
    counts.accepted += 1;
    options.onAccepted?.(key, parsed);
    send(res, 200, { status: 'accepted' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return void res.destroy();
      send(res, 500, { error: error instanceof Error ? error.message : String(error) });
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
  let stopped: Promise<void> | undefined;

  return {
    url: `http://${host}:${address.port}${path}`,
    port: address.port,
    stats: () => ({ ...counts }),
    hasAccepted: (key) => accepted.has(key),
    stop: () => {
      stopped ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}

/** The request body, or `undefined` once it grows past `limit` (the rest is not read). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
