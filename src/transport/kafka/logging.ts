/**
 * kafkajs log entries as one JSON object per line. kafkajs attaches whatever it has at hand to an
 * entry (broker addresses, request payloads, errors with causes), so fields whose names look
 * secret are dropped and every string is scrubbed before it is written.
 */
import type { LogEntry, logCreator } from 'kafkajs';

export interface LogCreatorOptions {
  readonly write: (line: string) => void;
  readonly redact: (text: string) => string;
}

const SECRET_FIELD = /pass(word|wd|phrase)?$|secret|token|sasl|ssl|credential|authori[sz]ation|access[_-]?key|^key$|^cert$/i;
const MAX_DEPTH = 4;

/**
 * Builds the kafkajs `logCreator`; kafkajs filters by level before calling it.
 *
 * @example
 * new Kafka({ brokers, logCreator: createLogCreator({ write: console.error, redact: (s) => s }) })
 */
export function createLogCreator(options: LogCreatorOptions): logCreator {
  return () => (entry: LogEntry) => {
    const { timestamp, message, logger: _logger, ...extra } = entry.log;
    const line = {
      time: timestamp,
      level: entry.label,
      source: 'kafkajs',
      namespace: entry.namespace,
      message,
      ...(sanitize(extra, 0) as Record<string, unknown>),
    };
    let text: string;
    try {
      text = JSON.stringify(line);
    } catch {
      text = JSON.stringify({ time: timestamp, level: entry.label, source: 'kafkajs', message: String(message) });
    }
    try {
      options.write(options.redact(text));
    } catch {
      // A broken log sink must not take the consumer down with it.
    }
  };
}

/** A JSON-safe copy without secret-looking fields, raw bytes or cycles. */
function sanitize(value: unknown, depth: number, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') {
    return typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol' ? String(value) : value;
  }
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  if (seen.has(value)) return '<cycle>';
  if (depth >= MAX_DEPTH) return '<truncated>';
  seen.add(value);
  if (value instanceof Error) {
    const { name, message, stack } = value;
    const type = (value as { type?: unknown }).type;
    return {
      name,
      message,
      ...(typeof type === 'string' ? { type } : {}),
      ...(stack === undefined ? {} : { stack }),
      ...(value.cause === undefined ? {} : { cause: sanitize(value.cause, depth + 1, seen) }),
    };
  }
  if (Array.isArray(value)) return value.map((item) => sanitize(item, depth + 1, seen));
  // fromEntries, not assignment: a field named `__proto__` stays a plain field.
  return Object.fromEntries(
    Object.entries(value)
      .filter(([field]) => !SECRET_FIELD.test(field))
      .map(([field, item]) => [field, sanitize(item, depth + 1, seen)]),
  );
}
