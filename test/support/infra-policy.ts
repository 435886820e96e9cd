/**
 * What a test run does when a service it needs (Kafka, PostgreSQL) cannot be reached: under
 * `CI=true` the run fails; elsewhere the tests that need it skip, with a message saying how to
 * start the service.
 */
export type Availability<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env['CI'];
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

export class ServiceUnavailableError extends Error {
  override readonly name = 'ServiceUnavailableError';
}

/** Returns the availability to hand to tests, or throws when the run must fail instead of skipping. */
export function decideAvailability<T>(
  service: string,
  outcome: { value: T } | { error: unknown },
  howToStart: string,
  env: NodeJS.ProcessEnv = process.env,
): Availability<T> {
  if ('value' in outcome) return { ok: true, value: outcome.value };
  const cause = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
  const reason = `${service} is not reachable: ${cause}. ${howToStart}`;
  if (isCi(env)) {
    throw new ServiceUnavailableError(`CI=true and ${reason}`, { cause: outcome.error });
  }
  return { ok: false, reason };
}

export function loudSkipBanner(reason: string): string {
  const bar = '!'.repeat(78);
  return `\n${bar}\n!! SKIPPING integration tests: ${reason}\n${bar}\n`;
}
