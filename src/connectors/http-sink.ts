/**
 * A generic HTTP sink: one request per record (`KStream.toHttp`), on axios + cockatiel.
 *
 * - Retries: network errors, per-attempt timeouts, 408, 429 and 5xx are retried with exponential
 *   backoff and jitter; a 429 waits at least its `Retry-After` (seconds or HTTP date, capped).
 * - Circuit breaker: `breakerThreshold` consecutive retriable failures open it. While it is open a
 *   call WAITS (it does not fail) until the circuit half-opens and a probe gets through, so records
 *   stay in flight and the runtime's in-flight bound pauses consumption: an outage is backpressure,
 *   not a flood of dead letters.
 * - Permanent failures: any other 4xx fails the record at once (production error policy, usually
 *   the dead-letter topic) with the status and a short, scrubbed excerpt of the body.
 * - A record fails after `maxAttempts` retriable failures only while the circuit stays closed (one
 *   record the endpoint keeps refusing while others go through); attempts start over after a wait
 *   for the circuit.
 * - The `auth` value is a secret: it is scrubbed from every message this sink builds, and axios
 *   errors (which carry the request config, headers included) never leave this file.
 * - Each attempt (status and duration) and each circuit change is published on the connectors'
 *   diagnostics channel (see `connector-events.ts`) for metrics, by sink name, without URL or headers.
 */
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, type CircuitBreakerPolicy, type IBackoff } from 'cockatiel';
import { ConfigError, ProductionError, StreamsError, toError } from '../errors/streams-error.ts';
import { redactSecrets } from '../errors/redact.ts';
import type { StreamRecord } from '../runtime/stream-record.ts';
import { connectorInstrumentationEnabled, publishConnectorEvent } from './connector-events.ts';
import { retryAfterMs } from './rest-poller.ts';
import { sleep } from './sleep.ts';

type PerRecord<K, V, T> = (record: StreamRecord<K, V>) => T;

export interface HttpSinkOptions<K, V> {
  /** Names the forEach node and the sink's stats. */
  readonly name?: string;
  readonly url: string | PerRecord<K, V, string>;
  /** Default `POST`. */
  readonly method?: 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'GET';
  /** The request body; default the value as JSON (`Content-Type: application/json`). */
  readonly body?: PerRecord<K, V, string | Buffer | object | null>;
  readonly headers?: Readonly<Record<string, string>> | PerRecord<K, V, Readonly<Record<string, string>>>;
  /** Sent as `Idempotency-Key`; default the record key as a string (`<topic>-<partition>-<offset>` for a null key). */
  readonly idempotencyKey?: PerRecord<K, V, string>;
  /** The `Authorization` header value, e.g. `Bearer ${process.env.API_TOKEN}`; a secret, never logged. */
  readonly auth?: string;
  /** Requests in flight at once, per task; default 8. */
  readonly concurrency?: number;
  /** Per attempt; default 10000 ms. */
  readonly timeoutMs?: number;
  /**
   * Bound on one record's whole call (attempts, backoff and circuit waits) after which it counts as
   * failed; default the longest timer Node runs (about 24.8 days), i.e. effectively never. See `toHttp`.
   */
  readonly callTimeoutMs?: number;
  /** Retriable failures of one record while the circuit stays closed before it fails; default 5. */
  readonly maxAttempts?: number;
  /** Backoff between attempts: default 200 ms doubling to 30 s, with jitter. */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Longest `Retry-After` honoured; default 60000 ms. */
  readonly maxRetryAfterMs?: number;
  /** Consecutive retriable failures that open the circuit; default 5, at most `maxAttempts`. */
  readonly breakerThreshold?: number;
  /** How long the circuit stays open before a probe; default 5000 ms. */
  readonly halfOpenAfterMs?: number;
  /** Injected for tests; default a fresh axios instance. */
  readonly client?: AxiosInstance;
}

export type HttpCircuitState = 'closed' | 'open' | 'half-open' | 'isolated';

export interface HttpSinkStats {
  /** Requests sent (each attempt counts). */
  readonly requests: number;
  /** Answers by HTTP status, plus `network` and `timeout` for attempts without one. */
  readonly byStatus: Readonly<Record<string, number>>;
  readonly retries: number;
  readonly delivered: number;
  readonly failed: number;
  readonly circuit: HttpCircuitState;
  readonly circuitOpened: number;
  /** Calls currently waiting for the circuit to close. */
  readonly waitingForCircuit: number;
}

/** What `KStream.toHttp` returns: the sink's name and live stats. */
export interface HttpSinkHandle {
  readonly name: string;
  stats(): HttpSinkStats;
}

/** An answer or failure worth another attempt. */
class RetriableHttpError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

const BODY_EXCERPT_CHARS = 200;

export class HttpSink<K, V> implements HttpSinkHandle {
  private readonly client: AxiosInstance;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly secrets: readonly string[];
  private readonly counters = { requests: 0, retries: 0, delivered: 0, failed: 0, circuitOpened: 0, waitingForCircuit: 0 };
  private readonly byStatus: Record<string, number> = {};
  private readonly maxAttempts: number;
  private readonly halfOpenAfterMs: number;
  private resetWaiters = new Set<() => void>();

  constructor(
    readonly name: string,
    private readonly options: HttpSinkOptions<K, V>,
  ) {
    this.maxAttempts = options.maxAttempts ?? 5;
    this.halfOpenAfterMs = options.halfOpenAfterMs ?? 5_000;
    const threshold = options.breakerThreshold ?? Math.min(5, this.maxAttempts);
    positiveInteger(name, 'maxAttempts', this.maxAttempts);
    positiveInteger(name, 'breakerThreshold', threshold);
    // A lone record failing `maxAttempts` times must have opened the circuit by then, or an outage
    // with concurrency 1 would dead-letter records instead of waiting.
    if (threshold > this.maxAttempts) throw new ConfigError(`toHttp(${name}): option breakerThreshold (${threshold}) must not exceed maxAttempts (${this.maxAttempts})`);
    this.client = options.client ?? axios.create();
    // The whole header value, and the credential alone (an endpoint may echo it without its scheme).
    const credential = options.auth?.replace(/^\S+\s+/, '');
    this.secrets = options.auth === undefined ? [] : [...new Set([options.auth, credential ?? ''])].filter((secret) => secret.length >= 4);
    this.breaker = circuitBreaker(
      handleWhen((error) => error instanceof RetriableHttpError),
      { halfOpenAfter: this.halfOpenAfterMs, breaker: new ConsecutiveBreaker(threshold) },
    );
    this.breaker.onBreak(() => {
      this.counters.circuitOpened += 1;
    });
    this.breaker.onStateChange((state) => publishConnectorEvent({ type: 'http.circuit', sink: name, state: circuitName(state) }));
    this.breaker.onReset(() => {
      const waiters = this.resetWaiters;
      this.resetWaiters = new Set();
      for (const wake of waiters) wake();
    });
  }

  stats(): HttpSinkStats {
    return { ...this.counters, byStatus: { ...this.byStatus }, circuit: circuitName(this.breaker.state) };
  }

  /** Delivers one record; rejects with a `ProductionError` when it failed for good. Stops when `signal` aborts. */
  async send(record: StreamRecord<K, V>, signal: AbortSignal): Promise<void> {
    const backoff = newBackoff(this.options.backoff);
    let delays: IBackoff<unknown> = backoff.next();
    let attempts = 0;
    for (;;) {
      throwIfAborted(signal, this.name);
      try {
        await this.breaker.execute(() => this.attempt(record, signal), signal);
        this.counters.delivered += 1;
        return;
      } catch (error) {
        if (error instanceof BrokenCircuitError) {
          await this.waitForCircuit(signal);
          attempts = 0;
          continue;
        }
        if (error instanceof StreamsError && error.code === 'SHUTDOWN') throw error;
        if (!(error instanceof RetriableHttpError)) {
          this.counters.failed += 1;
          throw this.failure(error, signal);
        }
        attempts += 1;
        const circuitOpen = this.breaker.state !== CircuitState.Closed;
        if (!circuitOpen && attempts >= this.maxAttempts) {
          this.counters.failed += 1;
          throw this.failure(new Error(`gave up after ${attempts} attempts: ${error.message}`), signal);
        }
        if (circuitOpen) {
          // The next execute() meets the open circuit and waits there.
          continue;
        }
        this.counters.retries += 1;
        const delay = Math.max(delays.duration, Math.min(error.retryAfterMs ?? 0, this.options.maxRetryAfterMs ?? 60_000));
        delays = delays.next(undefined);
        await sleep(delay, signal);
      }
    }
  }

  /** One request; resolves on 2xx, throws `RetriableHttpError` or a permanent `Error` otherwise. */
  private async attempt(record: StreamRecord<K, V>, callSignal: AbortSignal): Promise<void> {
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    const signal = AbortSignal.any([callSignal, AbortSignal.timeout(timeoutMs)]);
    const { url, data, headers } = this.request(record);
    this.counters.requests += 1;
    // The clock is read only when someone listens (metrics).
    const startedAt = connectorInstrumentationEnabled() ? performance.now() : 0;
    let response: AxiosResponse<Buffer>;
    try {
      response = await this.client.request<Buffer>({
        url,
        method: this.options.method ?? 'POST',
        data,
        headers,
        signal,
        responseType: 'arraybuffer',
        validateStatus: () => true,
        maxRedirects: 0,
      });
    } catch (error) {
      if (callSignal.aborted) throw abortedError(this.name, callSignal);
      const timedOut = signal.aborted;
      this.count(timedOut ? 'timeout' : 'network', startedAt);
      // Only the code and message of axios' error: the error itself carries the request headers.
      const code = (error as { code?: unknown }).code;
      throw new RetriableHttpError(timedOut ? `no answer within ${timeoutMs} ms` : `${typeof code === 'string' ? `${code}: ` : ''}${toError(error).message}`);
    }
    const status = response.status;
    this.count(String(status), startedAt);
    if (status >= 200 && status < 300) return;
    // Scrubbed before it is cut, so a secret cut in half cannot slip through.
    const excerpt = bodyExcerpt(response.data, this.secrets);
    const message = `${this.options.method ?? 'POST'} answered ${status}${excerpt === '' ? '' : `: ${excerpt}`}`;
    if (status === 429) throw new RetriableHttpError(message, retryAfterMs(response.headers['retry-after']));
    if (status === 408 || status >= 500) throw new RetriableHttpError(message);
    throw new Error(message);
  }

  private request(record: StreamRecord<K, V>): { url: string; data: unknown; headers: Record<string, string> } {
    const { options } = this;
    const url = typeof options.url === 'string' ? options.url : options.url(record);
    const data = options.body === undefined ? JSON.stringify(record.value) : options.body(record);
    const custom = typeof options.headers === 'function' ? options.headers(record) : (options.headers ?? {});
    const key = options.idempotencyKey?.(record) ?? defaultIdempotencyKey(record);
    return {
      url,
      data,
      headers: {
        ...(options.body === undefined ? { 'Content-Type': 'application/json' } : {}),
        ...custom,
        'Idempotency-Key': headerSafeKey(key),
        ...(options.auth === undefined ? {} : { Authorization: options.auth }),
      },
    };
  }

  /** Waits until the circuit may let a probe through (or closes, whichever is first). */
  private async waitForCircuit(signal: AbortSignal): Promise<void> {
    this.counters.waitingForCircuit += 1;
    let wake: (() => void) | undefined;
    try {
      const reset = new Promise<void>((resolve) => {
        wake = resolve;
        this.resetWaiters.add(resolve);
      });
      // Spread over half the interval so waiters do not all hit the half-open circuit at once.
      await Promise.race([sleep(this.halfOpenAfterMs * (0.5 + Math.random() * 0.5), signal), reset]);
    } finally {
      if (wake !== undefined) this.resetWaiters.delete(wake);
      this.counters.waitingForCircuit -= 1;
    }
  }

  private failure(error: unknown, signal: AbortSignal): ProductionError {
    const message = redactSecrets(`${this.name}: HTTP delivery failed: ${toError(error).message}`, this.secrets);
    return new ProductionError(message, { code: 'SINK_FAILED', retriable: false, context: { node: this.name }, ...(signal.aborted ? { cause: toError(signal.reason) } : {}) });
  }

  private count(status: string, startedAt: number): void {
    this.byStatus[status] = (this.byStatus[status] ?? 0) + 1;
    if (startedAt > 0) publishConnectorEvent({ type: 'http.request', sink: this.name, status, durationMs: performance.now() - startedAt });
  }
}

function newBackoff(options: HttpSinkOptions<unknown, unknown>['backoff']): ExponentialBackoff<unknown> {
  return new ExponentialBackoff({ initialDelay: options?.initialMs ?? 200, maxDelay: options?.maxMs ?? 30_000 });
}

/**
 * A key as it can travel in a header: HTTP header values are Latin-1 and axios trims them and drops
 * CR/LF, which would give distinct keys (`評価-1` and `評判-1`, ` r-7` and `r-7`) one value. A key of
 * visible ASCII other than `%` is sent as it is; any other is percent-encoded (UTF-8). An encoded
 * key always holds a `%` and a key sent as it is never does, so distinct keys stay distinct.
 */
export function headerSafeKey(key: string): string {
  return /^[\x21-\x24\x26-\x7e]+$/.test(key) ? key : encodeURIComponent(key);
}

function defaultIdempotencyKey(record: StreamRecord<unknown, unknown>): string {
  if (record.key === null || record.key === undefined) return `${record.source.topic}-${record.source.partition}-${record.source.offset}`;
  return typeof record.key === 'string' ? record.key : JSON.stringify(record.key);
}

function bodyExcerpt(data: unknown, secrets: readonly string[]): string {
  const raw = Buffer.isBuffer(data) ? data.toString('utf8') : data instanceof ArrayBuffer ? Buffer.from(data).toString('utf8') : String(data ?? '');
  const flat = redactSecrets(raw, secrets).replace(/\s+/g, ' ').trim();
  return flat.length > BODY_EXCERPT_CHARS ? `${flat.slice(0, BODY_EXCERPT_CHARS)}…` : flat;
}

function circuitName(state: CircuitState): HttpCircuitState {
  switch (state) {
    case CircuitState.Closed:
      return 'closed';
    case CircuitState.Open:
      return 'open';
    case CircuitState.HalfOpen:
      return 'half-open';
    case CircuitState.Isolated:
      return 'isolated';
  }
}

function positiveInteger(name: string, option: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(`toHttp(${name}): option ${option} must be a positive integer (got ${String(value)})`);
}

function abortedError(name: string, signal: AbortSignal): StreamsError {
  return new StreamsError(`${name}: call aborted: ${toError(signal.reason).message}`, { code: 'SHUTDOWN', cause: signal.reason });
}

function throwIfAborted(signal: AbortSignal, name: string): void {
  if (signal.aborted) throw abortedError(name, signal);
}
