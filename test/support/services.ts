/**
 * What integration tests use to reach the run's Kafka broker and PostgreSQL database, and to name
 * things so that tests never collide.
 */
import { inject } from 'vitest';
import { loudSkipBanner } from './infra-policy.ts';

const kafka = inject('kafka');
const postgres = inject('postgres');

/** False when the run has no broker (outside CI only); use with `describe.skipIf(!hasKafka)`. */
export const hasKafka = kafka.ok;
export const hasPostgres = postgres.ok;

if (!kafka.ok) process.stderr.write(loudSkipBanner(kafka.reason));
if (!postgres.ok) process.stderr.write(loudSkipBanner(postgres.reason));

export function kafkaBrokers(): string[] {
  if (!kafka.ok) throw new Error(kafka.reason);
  return kafka.value.brokers;
}

export function databaseUrl(): string {
  if (!postgres.ok) throw new Error(postgres.reason);
  return postgres.value.url;
}

export { uniqueName } from './names.ts';
