/**
 * The exit codes of `rating-streams` and of the topology mains, which scripts and supervisors may
 * rely on (README "Command line").
 */
import { ConfigError, StreamsError, TopologyError } from '../errors/streams-error.ts';

export const EXIT = {
  /** Done, or stopped as asked (SIGTERM / SIGINT). */
  ok: 0,
  /** A runtime failure: Kafka unreachable, a process failed or was fenced, topics that differ from what the pipeline needs. */
  failure: 1,
  /** Bad usage or configuration: an unknown command or option, a bad or missing variable. */
  usage: 2,
  /** Credentials were refused: the OpenClaw API answered 401/403, PostgreSQL or Kafka refused the login. */
  unauthorized: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A command used wrongly (an unknown topology, a bad filter): exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** PostgreSQL SQLSTATEs of a refused login (invalid_authorization_specification, invalid_password). */
const PG_AUTH_CODES = new Set(['28000', '28P01']);

/** The exit code an error that ended a command stands for. */
export function exitCodeOf(error: unknown): ExitCode {
  for (let cause: unknown = error, depth = 0; cause instanceof Error && depth < 8; cause = cause.cause, depth++) {
    if (cause instanceof UsageError || cause instanceof ConfigError || cause instanceof TopologyError) return EXIT.usage;
    if (cause instanceof StreamsError && cause.code === 'SOURCE_UNAUTHORIZED') return EXIT.unauthorized;
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && PG_AUTH_CODES.has(code)) return EXIT.unauthorized;
    if (cause.name === 'KafkaJSSASLAuthenticationError') return EXIT.unauthorized;
  }
  return EXIT.failure;
}
