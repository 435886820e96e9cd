/**
 * The logging surface the runtime needs: a subset of pino's, so a pino logger (the default) or any
 * compatible one can be passed in.
 */
import { pino } from 'pino';
import { safeError } from '../errors/redact.ts';

export interface Logger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** JSON lines on stdout at `LOG_LEVEL` (default info). */
export function defaultLogger(name: string): Logger {
  return pino({ name, level: process.env['LOG_LEVEL'] ?? 'info' });
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Wraps a logger so that an `err` field is logged as scrubbed plain data (see `safeError`), never
 * as the raw error object with whatever secrets hang off it.
 */
export function redactingLogger(logger: Logger, secrets: readonly string[]): Logger {
  const clean = (object: object): object => ('err' in object ? { ...object, err: safeError((object as { err: unknown }).err, secrets) } : object);
  return {
    debug: (object, message) => logger.debug(clean(object), message),
    info: (object, message) => logger.info(clean(object), message),
    warn: (object, message) => logger.warn(clean(object), message),
    error: (object, message) => logger.error(clean(object), message),
    child: (bindings) => redactingLogger(logger.child(bindings), secrets),
  };
}
