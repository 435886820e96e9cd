/**
 * The logging surface the runtime needs: a subset of pino's, so a pino logger (the default) or any
 * compatible one can be passed in.
 */
import { pino } from 'pino';

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
