/**
 * The logging surface the runtime needs: a subset of pino's, so a pino logger (the default) or any
 * compatible one can be passed in.
 */
import { pino, type DestinationStream, type LevelWithSilent } from 'pino';
import { redactSecrets, safeError } from '../errors/redact.ts';
import { ConfigError } from '../errors/streams-error.ts';

export interface Logger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export interface DefaultLoggerOptions {
  /** Default `LOG_LEVEL` from the environment, else `info`. */
  readonly level?: string;
  /** Values scrubbed from everything logged (API keys, passwords), beside the patterns `redactSecrets` knows. */
  readonly secrets?: readonly string[];
  /** Where the JSON lines go; default stdout. */
  readonly destination?: DestinationStream;
}

const LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Fields censored wherever they appear at the top level or one level down (two for headers), as
 * in `{ headers: { authorization } }` or `{ config: { password } }`.
 */
export const REDACTED_FIELDS: readonly string[] = [
  ...['authorization', 'Authorization', 'password', 'passwd', 'apiKey', 'api_key', 'apikey', 'token', 'accessToken', 'secret', 'cookie', 'Cookie'].flatMap((key) => [key, `*.${key}`]),
  '*.headers.authorization',
  '*.headers.Authorization',
  '*.headers.cookie',
];

/**
 * JSON lines (pino) on stdout at `LOG_LEVEL` (default info). What is logged is scrubbed three
 * ways: fields named like secrets (authorization, password, apiKey, token, secret, cookie, ...) are
 * censored at any depth, and `REDACTED_FIELDS` by pino's own `redact`; every string (message and
 * fields) goes through `redactSecrets` with `secrets` (bearer tokens, passwords in URLs,
 * `key=value` secrets); errors anywhere are logged as `safeError` data (name, code, message, stack,
 * cause), never with the request config and headers HTTP client errors carry.
 */
export function defaultLogger(name: string, options: DefaultLoggerOptions = {}): Logger {
  const level = options.level ?? process.env['LOG_LEVEL'] ?? 'info';
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LEVELS.join(', ')} (got ${JSON.stringify(level)})`);
  }
  const secrets = options.secrets ?? [];
  const logOptions: pino.LoggerOptions = {
    name,
    level,
    redact: { paths: [...REDACTED_FIELDS], censor: '[REDACTED]' },
    serializers: { err: (value: unknown) => (value instanceof Error ? safeError(value, secrets) : value) },
    formatters: { log: (object) => scrub(object, secrets, 0) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        // pino's signature is (object?, message?, ...interpolation); only strings need scrubbing.
        method.apply(this, args.map((arg) => (typeof arg === 'string' ? redactSecrets(arg, secrets) : arg)) as Parameters<typeof method>);
      },
    },
  };
  return options.destination === undefined ? pino(logOptions) : pino(logOptions, options.destination);
}

/** How deep `scrub` looks into logged objects; deeper values are logged as they are. */
const SCRUB_DEPTH = 6;

/** Field names whose values `scrub` censors at any depth (arrays included), whatever they hold. */
const SECRET_KEY = /^(?:authorization|proxy-authorization|password|passwd|pwd|secret|token|cookie|set-cookie)$|api[-_]?key|access[-_]?token|refresh[-_]?token|client[-_]?secret/i;

function scrub(value: unknown, secrets: readonly string[], depth: number): unknown {
  if (typeof value === 'string') return redactSecrets(value, secrets);
  if (value instanceof Error) return safeError(value, secrets);
  if (depth >= SCRUB_DEPTH || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item: unknown) => scrub(item, secrets, depth + 1));
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = SECRET_KEY.test(key) && item !== undefined && item !== null ? '[REDACTED]' : scrub(item, secrets, depth + 1);
  return out;
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Wraps a logger so that what the runtime logs cannot carry `secrets`: an `err` field is logged as
 * scrubbed plain data (see `safeError`), never as the raw error object with whatever secrets hang
 * off it, and every other string, the message included, goes through `redactSecrets`.
 */
export function redactingLogger(logger: Logger, secrets: readonly string[]): Logger {
  const clean = (object: object): object => {
    const scrubbed = scrub(object, secrets, 0) as object;
    return 'err' in object ? { ...scrubbed, err: safeError((object as { err: unknown }).err, secrets) } : scrubbed;
  };
  const text = (message: string | undefined) => (message === undefined ? undefined : redactSecrets(message, secrets));
  return {
    debug: (object, message) => logger.debug(clean(object), text(message)),
    info: (object, message) => logger.info(clean(object), text(message)),
    warn: (object, message) => logger.warn(clean(object), text(message)),
    error: (object, message) => logger.error(clean(object), text(message)),
    child: (bindings) => redactingLogger(logger.child(bindings), secrets),
  };
}
